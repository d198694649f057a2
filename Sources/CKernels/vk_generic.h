// Plain-C kernel bodies that the compiler vectorises. Each ISA file wraps them in functions
// compiled for its instruction set, so one source yields SSE2, AVX2 and AVX-512 code.
#ifndef VK_GENERIC_H
#define VK_GENERIC_H
#include "vk_internal.h"
#include <math.h>

VK_INLINE float vk_g_dot(const float *a, const float *b, int64_t n) {
#pragma clang fp reassociate(on)
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

VK_INLINE void vk_g_axpy(float *restrict y, float a, const float *restrict x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += a * x[i];
}

VK_INLINE void vk_g_scale(float *y, float a, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= a;
}

VK_INLINE float vk_g_exp_sum(float *x, float shift, int64_t n) {
#pragma clang fp reassociate(on)
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float e = vk_expf_fast(x[i] - shift);
        x[i] = e;
        s += e;
    }
    return s;
}

VK_INLINE void vk_g_silu_mul(float *out, const float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float g = gate[i];
        out[i] = g / (1.0f + vk_expf_fast(-g)) * up[i];
    }
}

VK_INLINE void vk_g_rmsnorm_row(float *out, const float *x, const float *weight, int64_t dim, float eps) {
#pragma clang fp reassociate(on)
    float ss = 0.0f;
    for (int64_t i = 0; i < dim; i++) ss += x[i] * x[i];
    float r = 1.0f / sqrtf(ss / (float)dim + eps);
    for (int64_t i = 0; i < dim; i++) out[i] = x[i] * r * weight[i];
}

// Packs W rows [n0, n0+nc) x columns [k0, k0+kc) into a column-interleaved fp32 panel.
VK_INLINE void vk_g_pack_panel(float *dst, const uint8_t *w, vk_dtype wt, size_t row_bytes, int64_t n0, int nc,
                               int64_t k0, int64_t kc, float *tmp) {
    if (vk_is_panels(wt)) { // rows n0.. are one tile, already [k][16]; rows past n are zero there
        const uint16_t *tile = (const uint16_t *)(w + (size_t)n0 * row_bytes) + k0 * 16;
        for (int64_t kk = 0; kk < kc; kk++)
            for (int c = 0; c < 16; c++) dst[kk * 16 + c] = vk_panel_value(wt, tile[kk * 16 + vk_panel_slot(wt, c)]);
        return;
    }
    size_t off;
    switch (wt) {
    case VK_F32: off = (size_t)k0 * 4; break;
    case VK_F16:
    case VK_BF16: off = (size_t)k0 * 2; break;
    default: off = vk_row_bytes(wt, k0); break;
    }
    for (int c = 0; c < 16; c++) {
        if (c < nc) {
            vk_row_to_f32(w + (size_t)(n0 + c) * row_bytes + off, wt, kc, tmp);
            for (int64_t kk = 0; kk < kc; kk++) dst[kk * 16 + c] = tmp[kk];
        } else {
            for (int64_t kk = 0; kk < kc; kk++) dst[kk * 16 + c] = 0.0f;
        }
    }
}

// Block b's positions of the job's kv head, as stored (cache dtype): head_dim values per position,
// contiguous (see vk_kv_store).
VK_INLINE const void *vk_g_kv_head_block(const vk_attn_job *job, const void *cache, int64_t b) {
    const int64_t elem = job->kv_dtype == VK_F16 ? 2 : 4;
    const int64_t first = ((int64_t)job->block_table[b] * job->n_kv_heads + job->kv_head) * job->block_size;
    return (const uint8_t *)cache + first * job->head_dim * elem;
}

// The np positions of kv head job->kv_head in block b of a cache, as fp32 rows `*stride` floats
// apart: in place for an fp32 cache; an fp16 cache is widened into dst ([np][head_dim]) by `widen`.
// A head's positions are contiguous within a block (see vk_kv_store).
VK_INLINE const float *vk_g_kv_rows(const vk_attn_job *job, const void *cache, int64_t b, int64_t np, float *dst,
                                    int64_t *stride, void (*widen)(float *, const uint16_t *, int64_t)) {
    const void *rows = vk_g_kv_head_block(job, cache, b);
    *stride = job->head_dim;
    if (job->kv_dtype != VK_F16) return (const float *)rows;
    widen(dst, (const uint16_t *)rows, np * job->head_dim);
    return dst;
}

VK_INLINE void vk_g_widen_f16(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = vk_f16_to_f32(src[i]);
}

// Block b of the job's kv head for a query that sees ctx positions: returns how many it sees in
// this block (np) and points kb / vb at their K and V rows (see vk_g_kv_rows).
VK_INLINE int64_t vk_g_kv_block(const vk_attn_job *job, int64_t b, int64_t ctx, float *k_wide, float *v_wide,
                                void (*widen)(float *, const uint16_t *, int64_t), const float **kb, int64_t *ks,
                                const float **vb, int64_t *vs) {
    const int64_t bs = job->block_size, np = ctx - b * bs < bs ? ctx - b * bs : bs;
    *kb = vk_g_kv_rows(job, job->k_cache, b, np, k_wide, ks, widen);
    *vb = vk_g_kv_rows(job, job->v_cache, b, np, v_wide, vs, widen);
    return np;
}

// Online softmax over KV blocks, per query: running maximum and sum, and an output accumulator.
VK_INLINE void vk_g_softmax_begin(float *row_max, float *row_sum, float *acc, int64_t queries, int64_t hd) {
    for (int64_t i = 0; i < queries; i++) {
        row_max[i] = -INFINITY;
        row_sum[i] = 0.0f;
    }
    memset(acc, 0, (size_t)(queries * hd) * sizeof(float));
}

// Raises a query's running maximum to cover a block whose largest score is bmax. Returns the
// factor its earlier sum and accumulator must be scaled by.
VK_INLINE float vk_g_softmax_raise(float *row_max, float bmax) {
    const float new_max = bmax > *row_max ? bmax : *row_max;
    const float corr = *row_max == -INFINITY ? 0.0f : vk_expf_fast(*row_max - new_max);
    *row_max = new_max;
    return corr;
}

// Folds one block's scores s[0..np) (largest bmax) into a query's running maximum and sum; s
// becomes exp(s - new maximum). Returns the factor the query's accumulator must be scaled by.
VK_INLINE float vk_g_softmax_fold(float *row_max, float *row_sum, float bmax, float *s, int64_t np) {
    const float corr = vk_g_softmax_raise(row_max, bmax);
    *row_sum = *row_sum * corr + vk_g_exp_sum(s, *row_max, np);
    return corr;
}

// out = acc / sum; a query that saw no position gets zeros.
VK_INLINE void vk_g_softmax_end(float *out, const float *acc, float row_sum, int64_t hd) {
    const float inv = row_sum > 0.0f ? 1.0f / row_sum : 0.0f;
    for (int64_t d = 0; d < hd; d++) out[d] = acc[d] * inv;
}

// Ends query head h (of the job's kv group) of a row: the normalised output, or for a split job
// the state that vk_paged_attention merges across the row's jobs.
VK_INLINE void vk_g_attend_finish(const vk_attn_job *job, int64_t row, int64_t h, const float *acc, float row_max,
                                  float row_sum) {
    const int64_t head = job->kv_head * (job->n_heads / job->n_kv_heads) + h, hd = job->head_dim;
    if (!job->partial) {
        vk_g_softmax_end(job->out + (row * job->n_heads + head) * hd, acc, row_sum, hd);
        return;
    }
    float *state = job->partial + head * (hd + 2);
    state[0] = row_max;
    state[1] = row_sum;
    memcpy(state + 2, acc, (size_t)hd * sizeof(float));
}

// Online-softmax attention over paged KV blocks (one block of scores at a time), see vk_attn_job.
VK_INLINE void vk_g_attend(const vk_attn_job *job) {
    const int64_t hd = job->head_dim, bs = job->block_size, g = job->kv_head;
    const int64_t group = job->n_heads / job->n_kv_heads;
    const vk_attn_buffers buf = vk_attn_split_scratch(job);
    float *scores = buf.scores, *acc = buf.acc, *row_max = buf.row_max, *row_sum = buf.row_sum;
    for (int64_t row = job->row0; row < job->row1; row++) {
        const int64_t ctx = job->ctx0 + (row - job->row0);
        vk_g_softmax_begin(row_max, row_sum, acc, group, hd);
        for (int64_t b = job->block0; b < job->block1 && b * bs < ctx; b++) {
            const float *kb, *vb;
            int64_t ks, vs;
            const int64_t np = vk_g_kv_block(job, b, ctx, buf.k_wide, buf.v_wide, vk_g_widen_f16, &kb, &ks, &vb, &vs);
            for (int64_t h = 0; h < group; h++) {
                const float *qh = job->q + (row * job->n_heads + g * group + h) * hd;
                float *sc = scores + h * bs, *ah = acc + h * hd;
                float bmax = -INFINITY;
                for (int64_t p = 0; p < np; p++) {
                    sc[p] = vk_g_dot(qh, kb + p * ks, hd) * job->scale;
                    bmax = sc[p] > bmax ? sc[p] : bmax;
                }
                vk_g_scale(ah, vk_g_softmax_fold(&row_max[h], &row_sum[h], bmax, sc, np), hd);
                for (int64_t p = 0; p < np; p++) vk_g_axpy(ah, sc[p], vb + p * vs, hd);
            }
        }
        for (int64_t h = 0; h < group; h++) vk_g_attend_finish(job, row, h, acc + h * hd, row_max[h], row_sum[h]);
    }
}

#endif
