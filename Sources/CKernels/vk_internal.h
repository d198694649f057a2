// Private declarations shared by the CKernels translation units (not part of the public API).
#ifndef VK_INTERNAL_H
#define VK_INTERNAL_H

#include "vk_kernels.h"
#include <stdbool.h>
#include <string.h>

#define VK_QK 32 // values per GGML block

#if defined(__x86_64__) || defined(__i386__)
#define VK_X86 1
#define VK_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#else
#define VK_X86 0
#endif

#define VK_INLINE static inline __attribute__((always_inline))

// GGML block layouts (byte-exact with ggml: fp16 scale fields stored as raw uint16).
typedef struct { uint16_t d; int8_t qs[VK_QK]; } vk_block_q8_0;
typedef struct { uint16_t d; uint8_t qs[VK_QK / 2]; } vk_block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[VK_QK / 2]; } vk_block_q4_1;
_Static_assert(sizeof(vk_block_q8_0) == 34, "q8_0 block size");
_Static_assert(sizeof(vk_block_q4_0) == 18, "q4_0 block size");
_Static_assert(sizeof(vk_block_q4_1) == 20, "q4_1 block size");

// Activation block rounded to 16 bits for integer dot products against quantized weights:
// value = q * s with s = max|x| / 32767 (relative rounding error <= 1.5e-5 of the block maximum,
// against 4e-3 for llama.cpp's 8 bits); xs = s * sum(q) for Q4_1's min term.
typedef struct { float s, xs; int16_t q[VK_QK]; } vk_block_q16a;
// Rounds x[k] (k % 32 == 0) to blocks; x_rounded (or NULL) receives q * s as fp32.
void vk_quantize_act16(const float *x, int64_t k, vk_block_q16a *out, float *x_rounded);

// ---- thread pool -------------------------------------------------------------------------
// Runs fn(ctx, begin, end) over chunks of `grain` items covering [0, n), on the caller and up to
// nth - 1 pool workers. Which thread runs which chunk is not fixed: fn must only touch its chunk.
// Sections are serialised; one started from inside a section runs inline.
typedef void (*vk_range_fn)(void *ctx, int64_t begin, int64_t end);
void vk_parallel_for(int64_t n, int64_t grain, int nth, vk_range_fn fn, void *ctx);
// A grain giving each of nth threads ~`per_thread` chunks, rounded up to a multiple of `align`.
static inline int64_t vk_grain(int64_t n, int nth, int per_thread, int64_t align, int64_t min_grain) {
    int64_t g = n / ((int64_t)nth * per_thread);
    g = (g + align - 1) / align * align;
    return g < min_grain ? min_grain : g;
}
// Threads worth using for `work` units of roughly equal cost (~1 unit = 1 flop/byte touched).
int vk_threads_for_work(double work);
void vk_ensure_init(void);

// Per-OS-thread scratch, 64-byte aligned, grown rarely, never shrunk. Slot SHARED is filled by
// the calling thread before a parallel section and read by every task through the context.
enum { VK_SCRATCH_SHARED = 0, VK_SCRATCH_PRIVATE = 1, VK_SCRATCH_PRIVATE2 = 2, VK_SCRATCH_SLOTS = 3 };
void *vk_scratch(int slot, size_t bytes);

// One unit of paged attention: query rows [row0, row1) of one sequence, the query heads that
// share kv head `kv_head`. Row row0 sees cache positions [0, ctx0), each later row one more.
typedef struct vk_attn_job {
    float *out;
    const float *q;
    const void *k_cache, *v_cache;
    vk_dtype kv_dtype; // VK_F32 or VK_F16
    int64_t n_heads, n_kv_heads, head_dim;
    float scale;
    const int32_t *block_table;
    int64_t block_size;
    int64_t row0, row1, ctx0, kv_head;
    // A decode row with a long context is split over jobs by block range, like vLLM's paged
    // attention v2 (flash-decoding), so one sequence's heads spread over all threads: such a job
    // reads blocks [block0, block1) and leaves its unnormalised softmax state in `partial`
    // ([n_heads][head_dim + 2]: max, sum, then the accumulator) for vk_paged_attention to merge.
    // Other jobs read every block (block1 = INT64_MAX) and write `out` (partial = NULL).
    int64_t block0, block1;
    float *partial;
    float *scratch; // vk_attn_scratch_floats() floats
} vk_attn_job;

// scores [group][block_size], acc [group][head_dim], row max and sum [group], padding, then one
// block of K and one of V widened to fp32 ([block_size][head_dim] each, used for VK_F16 caches).
static inline size_t vk_attn_scratch_floats(int64_t group, int64_t block_size, int64_t head_dim) {
    return (size_t)(group * block_size + group * head_dim + 2 * group + 16 + 2 * block_size * head_dim);
}

// That scratch, split into its buffers.
typedef struct { float *scores, *acc, *row_max, *row_sum, *k_wide, *v_wide; } vk_attn_buffers;
static inline vk_attn_buffers vk_attn_split_scratch(const vk_attn_job *job) {
    const int64_t group = job->n_heads / job->n_kv_heads, bs = job->block_size, hd = job->head_dim;
    vk_attn_buffers b;
    b.scores = job->scratch;
    b.acc = b.scores + group * bs;
    b.row_max = b.acc + group * hd;
    b.row_sum = b.row_max + group;
    b.k_wide = b.row_sum + group + 16;
    b.v_wide = b.k_wide + bs * hd;
    return b;
}

// Panels: within a tile's [k][16] values, output c of the tile sits in 16-bit slot
// vk_panel_slot(dtype, c). BF16: 32-bit lane l holds outputs l (low half) and 8 + l (high half).
#define VK_PANEL_KC 256 // k-block of the panel GEMM (vk_matmul.c), which gemv_panels follows
VK_INLINE bool vk_is_panels(vk_dtype t) { return t == VK_BF16_PANELS || t == VK_F16_PANELS; }
VK_INLINE int vk_panel_slot(vk_dtype t, int c) { return t == VK_F16_PANELS ? c : c < 8 ? 2 * c : 2 * (c - 8) + 1; }

VK_INLINE bool vk_is_quant_tiles(vk_dtype t) { return t == VK_Q8_0_TILES || t == VK_Q4_0_TILES || t == VK_Q4_1_TILES; }
// The GGML type whose blocks a tiled layout holds (t itself for any other type).
VK_INLINE vk_dtype vk_tiles_base(vk_dtype t) {
    return t == VK_Q8_0_TILES ? VK_Q8_0 : t == VK_Q4_0_TILES ? VK_Q4_0 : t == VK_Q4_1_TILES ? VK_Q4_1 : t;
}
// GGML rows or their tiles.
VK_INLINE bool vk_is_quantized(vk_dtype t) {
    const vk_dtype b = vk_tiles_base(t);
    return b == VK_Q8_0 || b == VK_Q4_0 || b == VK_Q4_1;
}
// Where a tile block's column pairs start, after 16 fp16 scales and, for Q4_1, 16 fp16 mins.
VK_INLINE int vk_tile_values_offset(vk_dtype base) { return base == VK_Q4_1 ? 64 : 32; }
// Quantized tiles (layout at vk_pack_weights). A tile block `tb` (16 GGML blocks' bytes of type
// `base`) written from its rows' blocks (rows from `rows` on are zero), and row c < 16 read back.
void vk_tile_pack_block(uint8_t *tb, vk_dtype base, const void *const blocks[16], int rows);
void vk_tile_get_block(const uint8_t *tb, vk_dtype base, int c, void *block);

// ---- ISA-specific kernel table --------------------------------------------------------------
typedef struct {
    // y[i*ldy + j] = dot(x row i, W row j) for i < m, j in [n0, n1), fp32/f16/bf16 weights.
    void (*gemv_float)(float *y, int64_t ldy, const float *x, int64_t m, int64_t k,
                       const uint8_t *w, vk_dtype wt, size_t row_bytes, int64_t n0, int64_t n1);
    // vk_quantize_act16, bit-identical (same rounding: round-half-even of x / s).
    void (*quantize_act16)(const float *x, int64_t k, vk_block_q16a *out, float *x_rounded);
    // Quantized weights (GGML rows, or tiles with n0 on a tile bound) against activations rounded to
    // 16-bit blocks (vk_block_q16a rows, nb = k/32 blocks per row), at every m: a row's result does
    // not depend on m, nor on rows against tiles.
    void (*gemv_quant16)(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k, const uint8_t *w,
                         vk_dtype wt, size_t row_bytes, int64_t n0, int64_t n1);
    // Packed panel: dst[kk*16 + c] = W[n0 + c][k0 + kk] as fp32 for kk < kc, c < 16 (zero past nc).
    void (*pack_panel)(float *dst, const uint8_t *w, vk_dtype wt, size_t row_bytes,
                       int64_t n0, int nc, int64_t k0, int64_t kc);
    // y[i][0..nc) (+)= sum_kk x[i][kk] * panel[kk][0..nc) for i < mr (mr <= 6).
    void (*micro_6x16)(float *y, int64_t ldy, const float *x, int64_t ldx, const float *panel,
                       int64_t kc, int mr, int nc, bool accumulate);
    // m rows of x against panel outputs [n0, n1) (n0 a multiple of 16), with exactly the arithmetic
    // of pack_panel + micro_6x16 in blocks of VK_PANEL_KC columns, without the fp32 panel: rows are
    // bit-identical whichever path a batch takes.
    void (*gemv_panels)(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w, vk_dtype wt,
                        int64_t n0, int64_t n1);
    void (*silu_mul)(float *out, const float *gate, const float *up, int64_t n);
    void (*rmsnorm_row)(float *out, const float *x, const float *weight, int64_t dim, float eps);
    void (*attend)(const struct vk_attn_job *job);
    float (*exp_sum)(float *x, float shift, int64_t n);       // x = exp(x - shift); returns the sum
    // out[i] = fp16 of x[i], rounded to nearest even (bit-identical to vk_f32_to_f16).
    void (*f32_to_f16_row)(uint16_t *out, const float *x, int64_t n);
} vk_kernel_table;

extern const vk_kernel_table vk_kernels_scalar;
#if VK_X86
extern const vk_kernel_table vk_kernels_avx2;
#endif
const vk_kernel_table *vk_kt(void);

// ---- shared scalar helpers -----------------------------------------------------------------
VK_INLINE uint32_t vk_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
VK_INLINE float vk_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
// A panel's 16-bit value as fp32.
VK_INLINE float vk_panel_value(vk_dtype t, uint16_t h) { return t == VK_F16_PANELS ? vk_f16_to_f32(h) : vk_bits_f32((uint32_t)h << 16); }

// exp(x) for x in any range, ~2 ulp; plain arithmetic so that loops over it auto-vectorise.
VK_INLINE float vk_expf_fast(float x) {
    const float log2e = 1.44269504088896341f, ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187e-06f;
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    const float magic = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
    float n = (x * log2e + magic) - magic;
    float r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    int32_t e = (int32_t)n + 127;
    return p * vk_bits_f32((uint32_t)e << 23);
}

#endif
