// Matrix multiply driver: picks the decode (few rows) or the prefill (packed panel) strategy and
// splits the work across the pool. The ISA-specific inner loops live in vk_kernels_*.c.
#define _GNU_SOURCE // posix_memalign, madvise under strict -std=c11
#include "vk_internal.h"
#include <stdlib.h>
#include <sys/mman.h>

#define VK_NR 16        // panel width (output columns per micro-kernel call)
#define VK_MR 6         // rows per micro-kernel call
#define VK_KC VK_PANEL_KC // k-block: one packed panel is VK_KC x VK_NR floats (16 KiB, stays in L1)
#define VK_GROUP 8       // panels packed together per k-block
#ifndef VK_MC           // overridable for kernel benchmarks
#define VK_MC 48        // rows of x per L2 block (a multiple of VK_MR): 48 KiB of x per k-block
#endif
// Below this many rows the gemv (register-blocked dot products on float weights as stored) beats
// packing fp32 panels for the blocked GEMM, measured with VK_BENCH_ROWS in scripts/bench_kernels.sh;
// within it a row's result does not depend on how many rows share the call. Quantized weights take
// the exact 16-bit integer gemv at every m: its batched kernel outruns the fp32 GEMM on dequantized
// panels even for prefill (2048 rows: +11% SmolLM2, +31% on the Qwen2.5-0.5B-shape Q8_0 model).
#ifndef VK_FLOAT_PANEL_MIN_M // overridable for kernel benchmarks (scripts/bench_kernels.sh)
#define VK_FLOAT_PANEL_MIN_M 64
#endif

typedef struct {
    float *y;
    const float *x;
    const vk_block_q16a *xa; // activations rounded to 16 bits (quantized weights)
    const uint8_t *w;
    int64_t m, k, n;
    vk_dtype wt;
    size_t row_bytes;
    const vk_kernel_table *kt;
    int64_t group, m_block, m_blocks; // panels per item, rows per item, row blocks
    const vk_matmul_part *parts;      // vk_matmul_shared_input: rows [0, n) span these parts in order
    int count;
} matmul_ctx;

static void gemv_rows(const matmul_ctx *c, float *y, int64_t ldy, const uint8_t *w, int64_t n0, int64_t n1) {
    if (c->xa) c->kt->gemv_quant16(y, ldy, c->xa, c->m, c->k, w, c->wt, c->row_bytes, n0, n1);
    else c->kt->gemv_float(y, ldy, c->x, c->m, c->k, w, c->wt, c->row_bytes, n0, n1);
}

// Rows [n0, n1) of the concatenated outputs: each part's share runs against that part's weights.
static void gemv_task(void *p, int64_t n0, int64_t n1) {
    const matmul_ctx *c = p;
    if (!c->parts) {
        gemv_rows(c, c->y, c->n, c->w, n0, n1);
        return;
    }
    int64_t base = 0;
    for (int i = 0; i < c->count && base < n1; base += c->parts[i].n, i++) {
        const int64_t lo = n0 > base ? n0 - base : 0, hi = n1 - base < c->parts[i].n ? n1 - base : c->parts[i].n;
        if (lo < hi) gemv_rows(c, c->parts[i].y, c->parts[i].n, c->parts[i].w, lo, hi);
    }
}

// Items are (group of up to VK_GROUP panels) x (block of m_block rows). Per k-block the group's
// packed panels (VK_GROUP x 16 KiB) sit in L2 while each 6-row slice of x is reused from L1
// across all of them, so x streams from L3 once per group instead of once per panel.
static void gemm_task(void *p, int64_t item0, int64_t item1) {
    const matmul_ctx *c = p;
    float *panels = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)VK_GROUP * VK_KC * VK_NR * sizeof(float));
    for (int64_t item = item0; item < item1; item++) {
        int64_t j0 = item / c->m_blocks * (c->group * VK_NR), m0 = item % c->m_blocks * c->m_block;
        int64_t m1 = m0 + c->m_block < c->m ? m0 + c->m_block : c->m;
        int64_t j1 = j0 + c->group * VK_NR < c->n ? j0 + c->group * VK_NR : c->n;
        for (int64_t k0 = 0; k0 < c->k; k0 += VK_KC) {
            int64_t kc = c->k - k0 < VK_KC ? c->k - k0 : VK_KC;
            for (int64_t j = j0; j < j1; j += VK_NR) {
                int nc = (int)(j1 - j < VK_NR ? j1 - j : VK_NR);
                c->kt->pack_panel(panels + (j - j0) * VK_KC, c->w, c->wt, c->row_bytes, j, nc, k0, kc);
            }
            // Like BLIS: one packed panel (16 KiB) stays in L1 while the slices of a block of VK_MC
            // rows of x stream past it from L2.
            for (int64_t ib = m0; ib < m1; ib += VK_MC) {
                const int64_t ie = ib + VK_MC < m1 ? ib + VK_MC : m1;
                for (int64_t j = j0; j < j1; j += VK_NR) {
                    int nc = (int)(j1 - j < VK_NR ? j1 - j : VK_NR);
                    for (int64_t i = ib; i < ie; i += VK_MR) {
                        int mr = (int)(ie - i < VK_MR ? ie - i : VK_MR);
                        c->kt->micro_6x16(c->y + i * c->n + j, c->n, c->x + i * c->k + k0, c->k,
                                          panels + (j - j0) * VK_KC, kc, mr, nc, k0 > 0);
                    }
                }
            }
        }
    }
}

// Whether m rows against these weights take the gemv: quantized weights at every m, float weights
// below VK_FLOAT_PANEL_MIN_M rows (the packed-panel GEMM beyond).
static bool uses_gemv(vk_dtype wt, int64_t m) { return vk_is_quantized(wt) || m < VK_FLOAT_PANEL_MIN_M; }

// Prepares c for the gemv path: float weights meet c->x as it is; quantized weights meet it rounded
// to 16-bit blocks (c->xa).
static void prepare_gemv(matmul_ctx *c) {
    if (!vk_is_quantized(c->wt)) return;
    const int64_t m = c->m, k = c->k, nb = k / VK_QK;
    const float *x = c->x;
    // Quantized weights meet activations rounded to 16-bit blocks (error <= 1.5e-5 of each block's
    // maximum, far below the weights' own rounding): the gemv then dots exact integers, faster than
    // fp32 FMAs on widened weights, results match a dequantized fp32 reference (transformers)
    // closely, and rows are bit-identical across batch sizes.
    vk_block_q16a *xa = vk_scratch(VK_SCRATCH_SHARED, (size_t)(m * nb) * sizeof(vk_block_q16a));
    for (int64_t i = 0; i < m; i++) c->kt->quantize_act16(x + i * k, k, xa + i * nb, NULL);
    c->xa = xa;
}

// Output rows per gemv work item: whole 16-output tiles for the batched quantized kernel and for
// tiled weights; for one or two rows against tiles, whole groups of the few-row kernel's widest step
// (four tiles for one row, ~20% faster than two; two for two rows) where that still leaves every
// thread at least four items.
static int64_t gemv_grain(const matmul_ctx *c, int nth) {
    if (vk_is_quant_tiles(c->wt)) {
        int64_t align = c->m == 1 ? 64 : c->m == 2 ? 32 : 16;
        while (align > 16 && c->n < 4 * nth * align) align /= 2;
        return vk_grain(c->n, nth, 8, align, 16);
    }
    return vk_grain(c->n, nth, 8, c->xa && c->m > 1 ? 16 : 4, 16);
}

static void run_gemm(matmul_ctx *c, int nth) {
    const int64_t m = c->m, n = c->n;
    // At least ~4 items per thread for balance. Prefer narrower column groups over splitting rows:
    // every row block re-packs its panels, while a narrower group only re-reads x from L3.
    const int64_t want = 4 * (int64_t)nth, panels = (n + VK_NR - 1) / VK_NR;
    c->group = nth == 1 || panels >= VK_GROUP * want ? VK_GROUP : panels / want;
    if (c->group < 1) c->group = 1;
    int64_t groups = (panels + c->group - 1) / c->group;
    c->m_blocks = nth == 1 || groups >= want ? 1 : (want + groups - 1) / groups;
    c->m_block = (m + c->m_blocks - 1) / c->m_blocks;
    c->m_block = (c->m_block + VK_MR - 1) / VK_MR * VK_MR;
    c->m_blocks = (m + c->m_block - 1) / c->m_block;
    vk_parallel_for(groups * c->m_blocks, 1, nth, gemm_task, c);
}

// ---- packed weights: VK_BF16_PANELS, VK_F16_PANELS (the quantized tiles run the gemv above) ----
// Tiles of 16 outputs stored [k][16] let one loaded vector feed FMAs for 8 outputs: below
// VK_PANEL_GEMM_MIN_M rows gemv_panels widens them in registers (no fp32 panel), from there the
// blocked GEMM packs its fp32 panels by widening alone (no transpose). Both do the same arithmetic,
// so a row's result never depends on the batch. Against row-major BF16 on the Qwen2.5-0.5B shapes
// with weights streamed from DRAM, one thread: 1 row 1.2-1.4x, 2 rows 1.1-1.2x, 3-5 rows 0.85-1.2x,
// 6-64 rows 1.2-1.8x (scripts/bench_kernels.sh with and without VK_BENCH_ROW_MAJOR compares them
// over whole models; docs/benchmarks.md).
#ifndef VK_PANEL_GEMM_MIN_M // overridable for kernel benchmarks
#define VK_PANEL_GEMM_MIN_M 128 // equal speed at 128 rows, the GEMM 1.2x faster at 512
#endif

vk_dtype vk_packed_layout(vk_dtype stored) {
    // The portable kernels read quantized tiles back into GGML blocks (a third of their row-major
    // speed for one row), so without the AVX2 table quantized weights stay as stored.
    if (vk_is_quantized(stored) && vk_active_isa() < VK_ISA_AVX2) return stored;
    switch (stored) {
    case VK_BF16: return VK_BF16_PANELS;
    case VK_F16: return VK_F16_PANELS;
    case VK_Q8_0: return VK_Q8_0_TILES;
    case VK_Q4_0: return VK_Q4_0_TILES;
    case VK_Q4_1: return VK_Q4_1_TILES;
    default: return stored;
    }
}

size_t vk_packed_bytes(vk_dtype packed, int64_t n, int64_t k) {
    const bool ok = vk_is_panels(packed) || (vk_is_quant_tiles(packed) && k % VK_QK == 0);
    return !ok || n <= 0 || k <= 0 ? 0 : (size_t)((n + VK_NR - 1) / VK_NR) * VK_NR * vk_row_bytes(packed, k);
}

typedef struct {
    const uint8_t *w;
    uint8_t *out;
    vk_dtype packed;
    int64_t n, k;
} pack_ctx;

// BF16 / F16: the tile's [k][16] values, each row's in its slot.
static void pack_panel_tile(const pack_ctx *c, int64_t t, uint8_t *tile) {
    const uint16_t *w = (const uint16_t *)c->w;
    uint16_t *out = (uint16_t *)tile;
    for (int col = 0; col < VK_NR; col++) {
        const int64_t row = t * VK_NR + col;
        const int slot = vk_panel_slot(c->packed, col);
        for (int64_t kk = 0; kk < c->k; kk++) out[kk * VK_NR + slot] = row < c->n ? w[row * c->k + kk] : 0;
    }
}

// Q8_0 / Q4_0 / Q4_1: the tile's blocks, each from its rows' GGML blocks.
static void pack_quant_tile(const pack_ctx *c, int64_t t, uint8_t *tile) {
    const vk_dtype base = vk_tiles_base(c->packed);
    const int64_t nb = c->k / VK_QK;
    const size_t rb = vk_row_bytes(base, c->k), bb = rb / (size_t)nb;
    const int rows = c->n - t * VK_NR < VK_NR ? (int)(c->n - t * VK_NR) : VK_NR;
    for (int64_t b = 0; b < nb; b++) {
        const void *blocks[VK_NR];
        for (int col = 0; col < rows; col++) blocks[col] = c->w + (size_t)(t * VK_NR + col) * rb + b * bb;
        vk_tile_pack_block(tile + (size_t)b * VK_NR * bb, base, blocks, rows);
    }
}

static void pack_tiles_task(void *p, int64_t t0, int64_t t1) {
    const pack_ctx *c = p;
    const size_t tile_bytes = VK_NR * vk_row_bytes(c->packed, c->k);
    for (int64_t t = t0; t < t1; t++) {
        if (vk_is_panels(c->packed)) pack_panel_tile(c, t, c->out + (size_t)t * tile_bytes);
        else pack_quant_tile(c, t, c->out + (size_t)t * tile_bytes);
    }
}

void *vk_packed_alloc(size_t bytes) {
    // Only whole huge pages get the advice: a huge page backing a small tensor's tail would waste
    // up to 2 MiB per tensor (small models have hundreds of sub-megabyte matrices).
    const size_t huge = (size_t)2 << 20, whole = bytes / huge * huge;
    void *p = NULL;
    if (bytes == 0 || posix_memalign(&p, whole > 0 ? huge : 64, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (whole > 0) madvise(p, whole, MADV_HUGEPAGE); // advice only: without huge pages the memory still works
#endif
    return p;
}

void vk_packed_free(void *p) { free(p); }

void vk_pack_weights(const void *w, vk_dtype packed, int64_t n, int64_t k, void *out) {
    if (vk_packed_bytes(packed, n, k) == 0) return;
    pack_ctx c = {.w = w, .out = out, .packed = packed, .n = n, .k = k};
    const int64_t tiles = (n + VK_NR - 1) / VK_NR;
    vk_parallel_for(tiles, 1, vk_num_threads(), pack_tiles_task, &c);
}

static void gemv_panels_task(void *p, int64_t t0, int64_t t1) {
    const matmul_ctx *c = p;
    const int64_t n1 = t1 * VK_NR < c->n ? t1 * VK_NR : c->n;
    c->kt->gemv_panels(c->y, c->n, c->x, c->m, c->k, c->w, c->wt, t0 * VK_NR, n1);
}

void vk_matmul(float *y, const float *x, int64_t m, int64_t k, const void *w, vk_dtype wtype, int64_t n) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || (vk_is_quantized(wtype) && k % VK_QK != 0)) {
        memset(y, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    matmul_ctx c = {
        .y = y, .x = x, .w = w, .m = m, .k = k, .n = n, .wt = wtype,
        .row_bytes = vk_row_bytes(wtype, k), .kt = vk_kt(),
    };
    int nth = vk_threads_for_work(2.0 * (double)m * (double)n * (double)k);
    if (vk_is_panels(wtype)) {
        if (m < VK_PANEL_GEMM_MIN_M) vk_parallel_for((n + VK_NR - 1) / VK_NR, 4, nth, gemv_panels_task, &c);
        else run_gemm(&c, nth);
        return;
    }
    if (uses_gemv(wtype, m)) {
        prepare_gemv(&c);
        vk_parallel_for(n, gemv_grain(&c, nth), nth, gemv_task, &c);
    } else {
        run_gemm(&c, nth);
    }
}

void vk_matmul_shared_input(const float *x, int64_t m, int64_t k, vk_dtype wtype, const vk_matmul_part *parts,
                            int count) {
    int64_t n = 0;
    for (int i = 0; i < count; i++) n += parts[i].n > 0 ? parts[i].n : 0;
    bool plain = m <= 0 || k <= 0 || n <= 0 || count <= 1 || vk_is_panels(wtype) || !uses_gemv(wtype, m) ||
                 (vk_is_quantized(wtype) && k % VK_QK != 0);
    // Tiles split the concatenated rows in whole tiles, which fall on tile bounds of every part
    // only when the parts are whole tiles.
    for (int i = 0; i < count && !plain; i++) plain = parts[i].n <= 0 || (vk_is_quant_tiles(wtype) && parts[i].n % VK_NR);
    if (plain) {
        for (int i = 0; i < count; i++) vk_matmul(parts[i].y, x, m, k, parts[i].w, wtype, parts[i].n);
        return;
    }
    matmul_ctx c = {
        .x = x, .m = m, .k = k, .n = n, .wt = wtype, .row_bytes = vk_row_bytes(wtype, k), .kt = vk_kt(),
        .parts = parts, .count = count,
    };
    int nth = vk_threads_for_work(2.0 * (double)m * (double)n * (double)k);
    prepare_gemv(&c);
    vk_parallel_for(n, gemv_grain(&c, nth), nth, gemv_task, &c);
}
