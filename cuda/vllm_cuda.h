/* vllm_cuda.h: the C ABI of libvllm_cuda.so, the CUDA runtime of swift-vllm.
 *
 * The Swift side (Sources/CUDABackend) dlopens the library and resolves every symbol below with dlsym,
 * so this header is the whole contract; keep VC_ABI_VERSION in step with CUDARuntime.swift.
 *
 * Conventions
 * - Every call returns 0 on success or a negative vc_status; the message of the last failure on this
 *   thread is in vc_last_error().
 * - Pointers named d_* are device pointers; h_* are host pointers.
 * - Kernel launches are asynchronous on the context's stream; vc_copy_to_host synchronises.
 * - The residual stream and attention math are fp32; matmul inputs and the KV cache are bf16.
 * - Weight matrices are row-major W[n][k] (out x in) in bf16, as in HF checkpoints.
 */
#ifndef VLLM_CUDA_H
#define VLLM_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VC_ABI_VERSION 1

typedef enum {
    VC_OK = 0,
    VC_ERR_NO_DRIVER = -1,  /* cudaErrorInsufficientDriver / no libcuda.so.1 */
    VC_ERR_NO_DEVICE = -2,  /* driver present, zero devices (or index out of range) */
    VC_ERR_NO_CUBLAS = -3,  /* libcublas.so.12 could not be dlopened / resolved */
    VC_ERR_CUDA = -4,       /* any other CUDA runtime error */
    VC_ERR_CUBLAS = -5,     /* a cuBLAS call failed */
    VC_ERR_ARGUMENT = -6,   /* bad argument (null pointer, unsupported dtype, size) */
    VC_ERR_OUT_OF_MEMORY = -7,
} vc_status;

/* Element types of tensors handed to the library. */
typedef enum { VC_F32 = 0, VC_F16 = 1, VC_BF16 = 2 } vc_dtype;

typedef struct vc_context vc_context;

/* ---- library and device ---------------------------------------------------------------- */
int vc_abi_version(void);
/* Message of the last failing call on this thread ("" when none). Valid until the next call. */
const char *vc_last_error(void);
/* Number of visible devices; VC_ERR_NO_DRIVER when the driver is missing or too old. */
int vc_device_count(int *count);
/* Creates a context on `device`: a stream and a cuBLAS handle (libcublas is dlopened here). */
int vc_context_create(int device, vc_context **out);
void vc_context_destroy(vc_context *ctx);
/* Device name (NUL-terminated, truncated to `capacity`), compute capability and memory. */
int vc_device_info(vc_context *ctx, char *h_name, size_t capacity, int *cc_major, int *cc_minor);
int vc_mem_info(vc_context *ctx, size_t *free_bytes, size_t *total_bytes);

/* ---- memory ------------------------------------------------------------------------------- */
int vc_malloc(vc_context *ctx, void **d_out, size_t bytes);
int vc_free(vc_context *ctx, void *d_ptr);
/* Stream-ordered; the host buffer must stay valid until the next synchronising call. */
int vc_copy_to_device(vc_context *ctx, void *d_dst, const void *h_src, size_t bytes);
/* Waits for all work queued before it, then copies. */
int vc_copy_to_host(vc_context *ctx, void *h_dst, const void *d_src, size_t bytes);
int vc_memset_zero(vc_context *ctx, void *d_ptr, size_t bytes);
int vc_synchronize(vc_context *ctx);

/* ---- kernels (all asynchronous on the context stream) ------------------------------------- */

/* out[i][:] = table[ids[i]][:] as fp32; table is [vocab][dim] in `table_dtype`. Ids outside
 * [0, vocab) give a zero row (the host validates ids; this only keeps the kernel in bounds). */
int vc_embedding(vc_context *ctx, float *d_out, const void *d_table, vc_dtype table_dtype,
                 int64_t vocab, int64_t dim, const int32_t *d_ids, int64_t n);

/* RMSNorm of `rows` rows of `dim` fp32 values: out = x / rms(x) * weight, written as `out_dtype`
 * (VC_F32 or VC_BF16). In place is allowed when out_dtype is VC_F32. */
int vc_rms_norm(vc_context *ctx, void *d_out, vc_dtype out_dtype, const float *d_x, const float *d_weight,
                int64_t rows, int64_t dim, float eps);

/* Rotary embedding in place on x[rows][heads][head_dim] (fp32), rotating the first rotary_dim
 * dims of each head with angle positions[row] * inv_freq[i] (inv_freq has rotary_dim/2 entries).
 * neox != 0: rotate_half pairs (i, i + rotary_dim/2); neox == 0: interleaved pairs (2i, 2i+1). */
int vc_rope(vc_context *ctx, float *d_x, const int32_t *d_positions, const float *d_inv_freq, int64_t rows,
            int64_t heads, int64_t head_dim, int64_t rotary_dim, int neox);

/* out[r][i] = silu(gate[r][i]) * up[r][i], written as bf16 (input of the down projection). */
int vc_silu_mul(vc_context *ctx, uint16_t *d_out_bf16, const float *d_gate, const float *d_up, int64_t rows,
                int64_t dim);

/* x[i] += y[i] for n fp32 values (residual add). */
int vc_add(vc_context *ctx, float *d_x, const float *d_y, int64_t n);

/* y[r][j] += bias[j] for rows x n. */
int vc_add_bias(vc_context *ctx, float *d_y, const float *d_bias, int64_t rows, int64_t n);

/* fp32 -> bf16 conversion of n values (round to nearest even). */
int vc_to_bf16(vc_context *ctx, uint16_t *d_out, const float *d_x, int64_t n);

/* out[i][:] = x[rows[i]][:] for i < n (gathers the rows whose logits are wanted). */
int vc_gather_rows(vc_context *ctx, float *d_out, const float *d_x, const int32_t *d_rows, int64_t n,
                   int64_t dim);

/* y[m][n] = x[m][k] * W[n][k]^T: bf16 inputs, fp32 accumulate and output (cublasGemmEx). */
int vc_matmul_bf16(vc_context *ctx, float *d_y, const uint16_t *d_x, const uint16_t *d_w, int64_t m,
                   int64_t k, int64_t n);

/* Paged KV cache of one layer: k_cache and v_cache are [num_blocks][block_size][kv_heads][head_dim] bf16.
 * Writes k[row], v[row] (fp32 [rows][kv_heads*head_dim]) into slot slot_mapping[row]
 * (= block * block_size + offset). Negative slots are skipped (padding rows). */
int vc_kv_store(vc_context *ctx, uint16_t *d_k_cache, uint16_t *d_v_cache, const float *d_k, const float *d_v,
                const int32_t *d_slot_mapping, int64_t rows, int64_t kv_dim);

/* Causal paged attention over a mixed prefill + decode batch (varlen, GQA).
 * q: [rows][heads][head_dim] fp32. Sequence s owns rows query_start[s] ..< query_start[s+1]; after this
 * step's KV store it has seq_lens[s] cached tokens, so its last row sees all of them and row r sees
 * seq_lens[s] - (query_start[s+1] - r) + 1 keys. block_tables is [num_seqs][max_blocks_per_seq].
 * out: [rows][heads*head_dim] bf16 (input of the output projection). head_dim <= 256, multiple of 32
 * is not required. */
int vc_paged_attention(vc_context *ctx, uint16_t *d_out_bf16, const float *d_q, const uint16_t *d_k_cache,
                       const uint16_t *d_v_cache, const int32_t *d_query_start, const int32_t *d_seq_lens,
                       const int32_t *d_block_tables, int64_t num_seqs, int64_t rows, int64_t max_blocks_per_seq,
                       int64_t heads, int64_t kv_heads, int64_t head_dim, int64_t block_size, float scale);

/* Per logits row (rows x vocab fp32): argmax id, and the top_k (<= 64) ids by logit with their
 * log-softmax values, best first. d_top_ids / d_top_logprobs are [rows][top_k]; top_k may be 0. */
int vc_sample_greedy_topk(vc_context *ctx, int32_t *d_argmax, int32_t *d_top_ids, float *d_top_logprobs,
                          const float *d_logits, int64_t rows, int64_t vocab, int64_t top_k);

#ifdef __cplusplus
}
#endif

#endif /* VLLM_CUDA_H */
