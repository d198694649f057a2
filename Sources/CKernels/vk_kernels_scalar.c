// Portable kernel table: plain C, vectorised only as far as the baseline target allows.
#include "vk_generic.h"

static float dot_row_float(const float *x, const uint8_t *row, vk_dtype wt, int64_t k) {
#pragma clang fp reassociate(on)
    float s = 0.0f;
    if (wt == VK_F32) {
        const float *w = (const float *)row;
        for (int64_t i = 0; i < k; i++) s += x[i] * w[i];
    } else if (wt == VK_BF16) {
        const uint16_t *w = (const uint16_t *)row;
        for (int64_t i = 0; i < k; i++) s += x[i] * vk_bits_f32((uint32_t)w[i] << 16);
    } else {
        const uint16_t *w = (const uint16_t *)row;
        for (int64_t i = 0; i < k; i++) s += x[i] * vk_f16_to_f32(w[i]);
    }
    return s;
}

static void gemv_float(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w, vk_dtype wt,
                       size_t row_bytes, int64_t n0, int64_t n1) {
    for (int64_t j = n0; j < n1; j++) {
        const uint8_t *row = w + (size_t)j * row_bytes;
        for (int64_t i = 0; i < m; i++) y[i * ldy + j] = dot_row_float(x + i * k, row, wt, k);
    }
}

// Quantized weights against 16-bit activation blocks, for CPUs without the AVX2 table (decode on
// other architectures would otherwise pack fp32 panels for every token). Per block an exact
// integer dot, then acc = fma(dot, d * s, acc) (and fma(m, xs, acc) for Q4_1): the same rounding
// steps as the AVX2 gemv, so the two agree to the last bit.
static float dot_block_q16(float acc, const vk_block_q16a *a, const void *block, vk_dtype wt) {
    int32_t isum = 0;
    float d, mn = 0.0f;
    if (wt == VK_Q8_0) {
        const vk_block_q8_0 *blk = block;
        d = vk_f16_to_f32(blk->d);
        for (int j = 0; j < VK_QK; j++) isum += (int32_t)blk->qs[j] * a->q[j];
    } else {
        const uint8_t *qs = wt == VK_Q4_0 ? ((const vk_block_q4_0 *)block)->qs : ((const vk_block_q4_1 *)block)->qs;
        const int32_t offset = wt == VK_Q4_0 ? 8 : 0;
        d = vk_f16_to_f32(wt == VK_Q4_0 ? ((const vk_block_q4_0 *)block)->d : ((const vk_block_q4_1 *)block)->d);
        if (wt == VK_Q4_1) mn = vk_f16_to_f32(((const vk_block_q4_1 *)block)->m);
        for (int j = 0; j < VK_QK / 2; j++)
            isum += ((int32_t)(qs[j] & 0xf) - offset) * a->q[j] + ((int32_t)(qs[j] >> 4) - offset) * a->q[j + VK_QK / 2];
    }
    acc = fmaf((float)isum, d * a->s, acc);
    if (wt == VK_Q4_1) acc = fmaf(mn, a->xs, acc);
    return acc;
}

// Row-major weights, or tiles (rows [n0, n1) start at tile bounds); a tile's block is read back into
// a GGML block once per output and block, for all m rows (their sums wait in scratch), so both
// layouts give the same bits.
static void gemv_quant16(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k, const uint8_t *w,
                         vk_dtype wt, size_t row_bytes, int64_t n0, int64_t n1) {
    const int64_t nb = k / VK_QK;
    const vk_dtype base = vk_tiles_base(wt);
    const size_t bb = row_bytes / (size_t)nb;
    float *acc = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)m * sizeof(float));
    vk_block_q4_1 scratch[sizeof(vk_block_q8_0) / sizeof(vk_block_q4_1) + 1]; // fits any GGML block
    for (int64_t j = n0; j < n1; j++) {
        for (int64_t i = 0; i < m; i++) acc[i] = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            const void *block = w + (size_t)j * row_bytes + b * bb;
            if (base != wt) {
                const uint8_t *tile = w + (size_t)(j / 16 * 16) * row_bytes;
                vk_tile_get_block(tile + (size_t)b * 16 * bb, base, (int)(j % 16), scratch);
                block = scratch;
            }
            for (int64_t i = 0; i < m; i++) acc[i] = dot_block_q16(acc[i], xa + i * nb + b, block, base);
        }
        for (int64_t i = 0; i < m; i++) y[i * ldy + j] = acc[i];
    }
}

static void pack_panel(float *dst, const uint8_t *w, vk_dtype wt, size_t row_bytes, int64_t n0, int nc, int64_t k0,
                       int64_t kc) {
    float *tmp = vk_scratch(VK_SCRATCH_PRIVATE2, (size_t)kc * sizeof(float));
    vk_g_pack_panel(dst, w, wt, row_bytes, n0, nc, k0, kc, tmp);
}

static void micro_6x16(float *y, int64_t ldy, const float *x, int64_t ldx, const float *panel, int64_t kc, int mr,
                       int nc, bool accumulate) {
    float acc[6][16] = {{0}};
    for (int64_t kk = 0; kk < kc; kk++) {
        const float *p = panel + kk * 16;
        for (int i = 0; i < mr; i++) {
            float xv = x[i * ldx + kk];
            for (int c = 0; c < 16; c++) acc[i][c] += xv * p[c];
        }
    }
    for (int i = 0; i < mr; i++) {
        float *yr = y + i * ldy;
        for (int c = 0; c < nc; c++) yr[c] = accumulate ? yr[c] + acc[i][c] : acc[i][c];
    }
}

// Literally the GEMM path (pack_panel + micro_6x16), one tile and one k-block at a time.
static void gemv_panels(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w, vk_dtype wt,
                        int64_t n0, int64_t n1) {
    float *panel = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)VK_PANEL_KC * 16 * sizeof(float));
    for (int64_t j = n0; j < n1; j += 16) {
        const int nc = n1 - j < 16 ? (int)(n1 - j) : 16;
        for (int64_t k0 = 0; k0 < k; k0 += VK_PANEL_KC) {
            const int64_t kc = k - k0 < VK_PANEL_KC ? k - k0 : VK_PANEL_KC;
            pack_panel(panel, w, wt, vk_row_bytes(wt, k), j, nc, k0, kc);
            for (int64_t i = 0; i < m; i += 6)
                micro_6x16(y + i * ldy + j, ldy, x + i * k + k0, k, panel, kc, m - i < 6 ? (int)(m - i) : 6, nc, k0 > 0);
        }
    }
}

static void silu_mul(float *out, const float *gate, const float *up, int64_t n) { vk_g_silu_mul(out, gate, up, n); }
static void rmsnorm_row(float *out, const float *x, const float *weight, int64_t dim, float eps) {
    vk_g_rmsnorm_row(out, x, weight, dim, eps);
}
static float exp_sum(float *x, float shift, int64_t n) { return vk_g_exp_sum(x, shift, n); }

static void attend(const vk_attn_job *job) { vk_g_attend(job); }

static void f32_to_f16_row(uint16_t *out, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = vk_f32_to_f16(x[i]);
}

const vk_kernel_table vk_kernels_scalar = {
    .gemv_float = gemv_float,
    .quantize_act16 = vk_quantize_act16,
    .gemv_quant16 = gemv_quant16,
    .pack_panel = pack_panel,
    .micro_6x16 = micro_6x16,
    .gemv_panels = gemv_panels,
    .silu_mul = silu_mul,
    .rmsnorm_row = rmsnorm_row,
    .attend = attend,
    .exp_sum = exp_sum,
    .f32_to_f16_row = f32_to_f16_row,
};
