// CPU kernels for swift-vllm. All hot loops of the forward pass live here.
//
// Conventions
// - Activations are fp32, row-major. A "row" is one token.
// - Weight matrices are stored as HF Linear / GGUF store them: W[N][K] (N output features, each a
//   row of K inputs), in one of vk_dtype. Quantized rows are runs of GGML blocks (32 values each).
// - Every kernel that does O(rows * work) splits itself across the persistent thread pool; callers
//   never manage threads (vk_init is optional: the first kernel call starts one thread per core).
//   Work is handed out in chunks, so results do not depend on the thread count. Kernels may be
//   called from any thread; parallel sections from different threads run one after another.
// - Kernels never allocate on the heap once warm (scratch comes from per-thread arenas that grow
//   to the largest shape seen and are then reused).
// - Run-time CPU dispatch picks AVX2+FMA+F16C or a portable scalar path once; AVX-512 CPUs run
//   the AVX2 kernels for now (VK_ISA_AVX512 is reserved).
// - Shapes: for F32/F16/BF16 any k and n; quantized types need k % 32 == 0 (see vk_matmul).
#ifndef VK_KERNELS_H
#define VK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    VK_F32 = 0,
    VK_F16 = 1,
    VK_BF16 = 2,
    VK_Q8_0 = 3,  // GGML block: fp16 d, 32 x int8                    (34 bytes / 32 values)
    VK_Q4_0 = 4,  // GGML block: fp16 d, 16 bytes of nibbles, value = (q - 8) * d     (18 bytes)
    VK_Q4_1 = 5,  // GGML block: fp16 d, fp16 m, 16 bytes of nibbles, value = q * d + m (20 bytes)
    // Weights repacked by vk_pack_weights for vk_matmul only (not row formats: the row functions
    // below write zeros for them), in tiles of 16 output rows so that every batch size reads whole
    // cache lines of 16 outputs and keeps the outputs in vector lanes (no horizontal sums).
    // BF16 / F16: each tile [k][16] 16-bit values, so the GEMM's panels need no transpose.
    VK_BF16_PANELS = 6,
    VK_F16_PANELS = 7,
    // Q8_0 / Q4_0 / Q4_1: each tile block by block, as many bytes as the 16 rows' GGML blocks
    // (layout at vk_pack_weights), so one vector load widens to 8 outputs' column pairs.
    VK_Q8_0_TILES = 8,
    VK_Q4_0_TILES = 9,
    VK_Q4_1_TILES = 10,
} vk_dtype;

typedef enum { VK_ISA_SCALAR = 0, VK_ISA_AVX2 = 1, VK_ISA_AVX512 = 2 } vk_isa;

// Starts the persistent pool (num_threads <= 0: one per online core). Safe to call again: resizes.
void vk_init(int num_threads);
int vk_num_threads(void);
// Times a pool worker thread (not a caller) has grown one of its scratch arenas, the one heap
// allocation a kernel can make off the calling thread. Lets allocation counters that watch only the
// calling thread still see the work the pool does for it.
uint64_t vk_pool_worker_scratch_growths(void);
// The instruction set the dispatcher chose. vk_force_isa lowers it (tests compare paths); it
// returns the level actually in force (never higher than the CPU supports).
vk_isa vk_active_isa(void);
vk_isa vk_force_isa(vk_isa isa);
const char *vk_isa_name(vk_isa isa);

// Bytes in one row of `k` values of `dtype` (k must be a multiple of 32 for quantized types).
size_t vk_row_bytes(vk_dtype dtype, int64_t k);
// Dequantize / convert one row to fp32.
void vk_row_to_f32(const void *row, vk_dtype dtype, int64_t k, float *out);
// Quantize fp32 rows into a quantized dtype (used by tests and fixture makers).
void vk_quantize_row(const float *in, vk_dtype dtype, int64_t k, void *out);

// The packed layout vk_matmul runs fastest for weights stored as `stored` on the active instruction
// set: VK_BF16 -> VK_BF16_PANELS, VK_F16 -> VK_F16_PANELS, and with AVX2 VK_Q8_0 -> VK_Q8_0_TILES,
// VK_Q4_0 -> VK_Q4_0_TILES, VK_Q4_1 -> VK_Q4_1_TILES; `stored` itself when it has none (VK_F32, and
// quantized types on the portable path). Every packed layout works on every instruction set.
vk_dtype vk_packed_layout(vk_dtype stored);
// Repacks n rows of k values, row-major as stored (the base type of `packed`), into `packed`, in
// tiles of 16 rows; rows past n are zero. out holds vk_packed_bytes(packed, n, k) bytes (0 for a
// layout that is not packed, or k % 32 != 0 for quantized ones; then nothing is written). Runs on
// the pool.
// - VK_BF16_PANELS, VK_F16_PANELS: tile t holds rows 16t..16t+15, value (row 16t + c, column kk) at
//   16-bit index t * 16 * k + kk * 16 + s. For bf16 s = 2c for c < 8 and 2(c - 8) + 1 otherwise (one
//   32-bit lane widens to two fp32 values with a shift and a mask); for fp16 s = c.
// - VK_Q8_0_TILES, VK_Q4_0_TILES, VK_Q4_1_TILES: with nb = k / 32 blocks per row and B the base
//   type's block bytes, block b of tile t starts at byte (t * nb + b) * 16 * B and holds: the 16
//   rows' fp16 scales d (row order), for Q4_1 then their fp16 mins m, then 16 column pairs p (the
//   block's values 2p and 2p + 1). Q8_0: pair p is 32 bytes, byte 16h + 2o + e = value 2p + e of
//   row 8h + o. Q4: pair p is 16 bytes, byte 2o + e holds value 2p + e of row o in its low nibble and
//   of row 8 + o in its high nibble (the stored 4-bit codes).
size_t vk_packed_bytes(vk_dtype packed, int64_t n, int64_t k);
void vk_pack_weights(const void *w, vk_dtype packed, int64_t n, int64_t k, void *out);
// Memory for packed weights (NULL when out of memory; free with vk_packed_free). From 2 MiB on it
// is 2 MiB aligned and its whole huge pages are advised for transparent huge pages: first-touch
// page faults, not the packing, dominated loading on the development machine.
void *vk_packed_alloc(size_t bytes);
void vk_packed_free(void *p);

// y[m][n] = sum_k x[m][k] * W[n][k]   (fp32 accumulation; y is overwritten)
// x: [m][k] fp32, W: [n] rows of vk_row_bytes(wtype, k) bytes. y must not alias x.
// Float W: small m (below 64 rows) runs a gemv whose per-row arithmetic does not depend on m
// (decode batches give bit-identical rows); larger m packs fp32 weight panels for a blocked GEMM
// (same values within fp32 rounding).
// VK_BF16_PANELS, VK_F16_PANELS: every m runs the same per-output arithmetic (one fp32 FMA chain per block of 256
// columns, the blocks summed in order), so a row's result is bit-identical at any batch size,
// prefill included.
// Quantized W (row-major or tiles): x is first rounded to 16-bit blocks of 32 (q * s, s = max|x| /
// 32767; error at most 1.5e-5 of the block maximum), and the gemv dots exact integers at every m: a
// row's result is bit-identical whatever the batch size, and the same for a type and its tiles.
// k % 32 != 0 for a quantized type is a caller bug: y is zero-filled.
void vk_matmul(float *y, const float *x, int64_t m, int64_t k, const void *w, vk_dtype wtype, int64_t n);

// Several weights applied to the same x (q/k/v, gate/up): y_i = x * W_i^T for i < count, each part
// exactly as vk_matmul computes it. On the gemv path (small m, one dtype) x is rounded once and all
// parts' rows are split across the pool in one parallel region; otherwise the parts run one by one.
typedef struct {
    float *y;
    const void *w;
    int64_t n;
} vk_matmul_part;
void vk_matmul_shared_input(const float *x, int64_t m, int64_t k, vk_dtype wtype, const vk_matmul_part *parts,
                            int count);

// out[r][:] = x[r][:] / rms(x[r][:]) * weight[:]     (out may alias x)
void vk_rmsnorm(float *out, const float *x, const float *weight, int64_t rows, int64_t dim, float eps);

// Rotary embedding in place on x[rows][n_heads][head_dim], row r at position positions[r].
// inv_freq has rotary_dim/2 entries (scaling such as llama3 or linear is folded in by the caller).
// neox_style != 0: rotate halves (HF Llama "rotate_half"); 0: rotate interleaved pairs (GPT-J).
void vk_rope(float *x, int64_t rows, int64_t n_heads, int64_t head_dim, int64_t rotary_dim,
             const int32_t *positions, const float *inv_freq, int neox_style);

// out[i] = silu(gate[i]) * up[i]   (out may alias gate)
void vk_silu_mul(float *out, const float *gate, const float *up, int64_t n);
// y[i] += x[i]
void vk_add(float *y, const float *x, int64_t n);
// y[r][:] += bias[:]
void vk_add_bias(float *y, const float *bias, int64_t rows, int64_t n);
// In-place numerically stable softmax of one row.
void vk_softmax(float *x, int64_t n);
// out[r][:] = row ids[r] of an embedding table with rows of `dim` values of `dtype`.
void vk_embed(float *out, const void *table, vk_dtype dtype, int64_t dim, const int32_t *ids, int64_t n);

// Paged KV cache of one layer: k_cache and v_cache are [num_blocks][n_kv_heads][block_size][head_dim]
// of cache_dtype, VK_F32 or VK_F16 (half the memory and bandwidth; values rounded to nearest even).
// Heads outermost within a block, so attention reads one head's block as one contiguous run.
// A token's slot is block_id * block_size + offset_in_block.
// Writes k[t], v[t] (each n_kv_heads*head_dim floats) into slot slot_mapping[t]; slot < 0 skips.
// Any other cache_dtype writes nothing.
void vk_kv_store(void *k_cache, void *v_cache, vk_dtype cache_dtype, const float *k, const float *v,
                 const int32_t *slot_mapping, int64_t num_tokens, int64_t n_kv_heads, int64_t head_dim,
                 int64_t block_size);

typedef struct {
    int32_t num_seqs;
    const int32_t *query_start;  // [num_seqs + 1]: rows of q/out that belong to each sequence
    const int32_t *seq_lens;     // [num_seqs]: tokens in the cache for the sequence after this step
    const int32_t *block_tables; // [num_seqs][max_blocks_per_seq] physical block ids
    int32_t max_blocks_per_seq;
    int32_t block_size;
} vk_attn_meta;

// PagedAttention over a flat batch mixing prefill chunks and decodes. The q rows of sequence s are
// its last (query_start[s+1]-query_start[s]) tokens; query row i attends causally to cache
// positions 0 ... seq_len - q_len + i. GQA: query head h reads kv head h / (n_heads / n_kv_heads).
// q, out: [T][n_heads][head_dim] (must not alias).  scale: usually 1/sqrt(head_dim). Any head_dim.
// Online softmax over one KV block at a time; a row that sees no position gets zeros. Does
// nothing when n_heads is not a multiple of n_kv_heads or cache_dtype is neither VK_F32 nor VK_F16.
void vk_paged_attention(float *out, const float *q, const void *k_cache, const void *v_cache, vk_dtype cache_dtype,
                        int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                        const vk_attn_meta *meta);

// Half-precision helpers (round-to-nearest-even).
float vk_f16_to_f32(uint16_t h);
uint16_t vk_f32_to_f16(float f);
float vk_bf16_to_f32(uint16_t h);
uint16_t vk_f32_to_bf16(float f);

#ifdef __cplusplus
}
#endif
#endif
