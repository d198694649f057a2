// Row-wise and element-wise kernels: norms, rotary embedding, activations, embedding lookup.
#include "vk_internal.h"
#include <math.h>

typedef struct {
    float *out;
    const float *x, *weight;
    int64_t rows, dim;
    float eps;
    const vk_kernel_table *kt;
} rmsnorm_ctx;

static void rmsnorm_task(void *p, int64_t r0, int64_t r1) {
    const rmsnorm_ctx *c = p;
    for (int64_t r = r0; r < r1; r++) c->kt->rmsnorm_row(c->out + r * c->dim, c->x + r * c->dim, c->weight, c->dim, c->eps);
}

void vk_rmsnorm(float *out, const float *x, const float *weight, int64_t rows, int64_t dim, float eps) {
    if (rows <= 0 || dim <= 0) return;
    rmsnorm_ctx c = {out, x, weight, rows, dim, eps, vk_kt()};
    int nth = vk_threads_for_work(3.0 * (double)rows * (double)dim);
    vk_parallel_for(rows, vk_grain(rows, nth, 4, 1, 1), nth, rmsnorm_task, &c);
}

typedef struct {
    float *x;
    int64_t rows, n_heads, head_dim, rotary_dim;
    const int32_t *positions;
    const float *inv_freq;
    int neox;
} rope_ctx;

static void rope_task(void *p, int64_t r0, int64_t r1) {
    const rope_ctx *c = p;
    const int64_t half = c->rotary_dim / 2;
    float *cs = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)(2 * half) * sizeof(float));
    float *sn = cs + half;
    for (int64_t r = r0; r < r1; r++) {
        // Angle in fp32 like HF (position * inv_freq), so long positions round the same way.
        const float pos = (float)c->positions[r];
        for (int64_t i = 0; i < half; i++) {
            float angle = pos * c->inv_freq[i];
            cs[i] = cosf(angle);
            sn[i] = sinf(angle);
        }
        for (int64_t h = 0; h < c->n_heads; h++) {
            float *v = c->x + (r * c->n_heads + h) * c->head_dim;
            if (c->neox) {
                for (int64_t i = 0; i < half; i++) {
                    float a = v[i], b = v[i + half];
                    v[i] = a * cs[i] - b * sn[i];
                    v[i + half] = b * cs[i] + a * sn[i];
                }
            } else {
                for (int64_t i = 0; i < half; i++) {
                    float a = v[2 * i], b = v[2 * i + 1];
                    v[2 * i] = a * cs[i] - b * sn[i];
                    v[2 * i + 1] = b * cs[i] + a * sn[i];
                }
            }
        }
    }
}

void vk_rope(float *x, int64_t rows, int64_t n_heads, int64_t head_dim, int64_t rotary_dim, const int32_t *positions,
             const float *inv_freq, int neox_style) {
    if (rows <= 0 || n_heads <= 0 || rotary_dim < 2) return;
    if (rotary_dim > head_dim) rotary_dim = head_dim;
    rope_ctx c = {x, rows, n_heads, head_dim, rotary_dim, positions, inv_freq, neox_style};
    int nth = vk_threads_for_work(8.0 * (double)rows * (double)(n_heads * rotary_dim));
    vk_parallel_for(rows, vk_grain(rows, nth, 4, 1, 1), nth, rope_task, &c);
}

typedef struct {
    float *out;
    const float *gate, *up;
    int64_t n;
    const vk_kernel_table *kt;
} silu_ctx;

static void silu_task(void *p, int64_t b, int64_t e) {
    const silu_ctx *c = p;
    c->kt->silu_mul(c->out + b, c->gate + b, c->up + b, e - b);
}

void vk_silu_mul(float *out, const float *gate, const float *up, int64_t n) {
    if (n <= 0) return;
    silu_ctx c = {out, gate, up, n, vk_kt()};
    int nth = vk_threads_for_work(8.0 * (double)n);
    vk_parallel_for(n, vk_grain(n, nth, 4, 64, 4096), nth, silu_task, &c);
}

void vk_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void vk_add_bias(float *y, const float *bias, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        float *yr = y + r * n;
        for (int64_t i = 0; i < n; i++) yr[i] += bias[i];
    }
}

void vk_softmax(float *x, int64_t n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int64_t i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = vk_kt()->exp_sum(x, mx, n);
    float inv = 1.0f / sum;
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void vk_embed(float *out, const void *table, vk_dtype dtype, int64_t dim, const int32_t *ids, int64_t n) {
    size_t row_bytes = vk_row_bytes(dtype, dim);
    for (int64_t r = 0; r < n; r++) {
        if (ids[r] < 0) { // never index before the table; the caller validates the upper bound
            memset(out + r * dim, 0, (size_t)dim * sizeof(float));
            continue;
        }
        vk_row_to_f32((const uint8_t *)table + (size_t)ids[r] * row_bytes, dtype, dim, out + r * dim);
    }
}
