// Matrix multiply driver: picks the decode (few rows) or the prefill (packed panel) strategy and
// splits the work across the pool. The ISA-specific inner loops live in vk_kernels_*.c.
#include "vk_internal.h"

#define VK_NR 16        // panel width (output columns per micro-kernel call)
#define VK_MR 6         // rows per micro-kernel call
#define VK_KC 256       // k-block: one packed panel is VK_KC x VK_NR floats (16 KiB, stays in L1)
#define VK_GEMM_MIN_M 8 // below this, re-reading each weight row per x row beats packing panels

typedef struct {
    float *y;
    const float *x;
    const vk_block_q8a *xq;
    const uint8_t *w;
    int64_t m, k, n;
    vk_dtype wt;
    size_t row_bytes;
    const vk_kernel_table *kt;
    bool split_m;
} matmul_ctx;

static bool is_quantized(vk_dtype t) { return t == VK_Q8_0 || t == VK_Q4_0 || t == VK_Q4_1; }

static void gemv_task(void *p, int ith, int nth) {
    const matmul_ctx *c = p;
    int64_t n0, n1;
    vk_split_range(c->n, 4, ith, nth, &n0, &n1);
    if (n0 >= n1) return;
    if (c->xq) c->kt->gemv_quant(c->y, c->n, c->xq, c->m, c->k, c->w, c->wt, c->row_bytes, n0, n1);
    else c->kt->gemv_float(c->y, c->n, c->x, c->m, c->k, c->w, c->wt, c->row_bytes, n0, n1);
}

static void gemm_task(void *p, int ith, int nth) {
    const matmul_ctx *c = p;
    int64_t n0 = 0, n1 = c->n, m0 = 0, m1 = c->m;
    if (c->split_m) vk_split_range(c->m, VK_MR, ith, nth, &m0, &m1);
    else vk_split_range(c->n, VK_NR, ith, nth, &n0, &n1);
    if (n0 >= n1 || m0 >= m1) return;
    float *panel = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)VK_KC * VK_NR * sizeof(float));
    for (int64_t k0 = 0; k0 < c->k; k0 += VK_KC) {
        int64_t kc = c->k - k0 < VK_KC ? c->k - k0 : VK_KC;
        for (int64_t j = n0; j < n1; j += VK_NR) {
            int nc = (int)(n1 - j < VK_NR ? n1 - j : VK_NR);
            c->kt->pack_panel(panel, c->w, c->wt, c->row_bytes, j, nc, k0, kc);
            for (int64_t i = m0; i < m1; i += VK_MR) {
                int mr = (int)(m1 - i < VK_MR ? m1 - i : VK_MR);
                c->kt->micro_6x16(c->y + i * c->n + j, c->n, c->x + i * c->k + k0, c->k, panel, kc, mr, nc, k0 > 0);
            }
        }
    }
}

void vk_matmul(float *y, const float *x, int64_t m, int64_t k, const void *w, vk_dtype wtype, int64_t n) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        memset(y, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    matmul_ctx c = {
        .y = y, .x = x, .w = w, .m = m, .k = k, .n = n, .wt = wtype,
        .row_bytes = vk_row_bytes(wtype, k), .kt = vk_kt(),
    };
    int nth = vk_threads_for_work(2.0 * (double)m * (double)n * (double)k);
    if (m < VK_GEMM_MIN_M) {
        if (is_quantized(wtype)) {
            int64_t nb = k / VK_QK;
            vk_block_q8a *xq = vk_scratch(VK_SCRATCH_SHARED, (size_t)(m * nb) * sizeof(vk_block_q8a));
            for (int64_t i = 0; i < m; i++) c.kt->quantize_act(x + i * k, k, xq + i * nb);
            c.xq = xq;
        }
        vk_parallel_run(gemv_task, &c, nth);
        return;
    }
    int64_t panels = (n + VK_NR - 1) / VK_NR;
    c.split_m = panels < 4 * (int64_t)nth; // too few panels to share evenly: share rows instead
    vk_parallel_run(gemm_task, &c, nth);
}
