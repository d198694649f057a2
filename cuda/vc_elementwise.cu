// Row-wise and element-wise kernels: embedding, RMSNorm, rope, SiLU gate, residual/bias add,
// conversions, row gather and the paged KV store.
#include "vc_internal.cuh"

namespace {

constexpr unsigned kThreads = 256;

template <typename T> __device__ __forceinline__ float vc_load(const T *p, int64_t i);
template <> __device__ __forceinline__ float vc_load<float>(const float *p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float vc_load<__half>(const __half *p, int64_t i) { return __half2float(p[i]); }
template <> __device__ __forceinline__ float vc_load<uint16_t>(const uint16_t *p, int64_t i) {
    return vc_bf16_to_f32(p[i]);
}

template <typename T>
__global__ void embedding_kernel(float *out, const T *table, int64_t vocab, int64_t dim, const int32_t *ids) {
    int64_t row = blockIdx.x;
    int32_t id = ids[row];
    float *dst = out + row * dim;
    bool valid = id >= 0 && id < vocab;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) dst[i] = valid ? vc_load(table, (int64_t)id * dim + i) : 0.0f;
}

template <bool kBF16Out>
__global__ void rms_norm_kernel(void *out, const float *x, const float *weight, int64_t dim, float eps) {
    int64_t row = blockIdx.x;
    const float *src = x + row * dim;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += src[i] * src[i];
    float scale = rsqrtf(vc_block_sum(sum) / (float)dim + eps);
    for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
        float value = src[i] * scale * weight[i];
        if (kBF16Out) {
            ((uint16_t *)out)[row * dim + i] = vc_f32_to_bf16(value);
        } else {
            ((float *)out)[row * dim + i] = value;
        }
    }
}

__global__ void rope_kernel(float *x, const int32_t *positions, const float *inv_freq, int64_t heads,
                            int64_t head_dim, int64_t rotary_dim, int neox) {
    int64_t row = blockIdx.x;
    int64_t half = rotary_dim / 2;
    float position = (float)positions[row];
    for (int64_t idx = threadIdx.x; idx < heads * half; idx += blockDim.x) {
        int64_t head = idx / half, i = idx % half;
        float *base = x + (row * heads + head) * head_dim;
        float sine, cosine;
        sincosf(position * inv_freq[i], &sine, &cosine);
        int64_t a = neox ? i : 2 * i;
        int64_t b = neox ? i + half : 2 * i + 1;
        float x0 = base[a], x1 = base[b];
        base[a] = x0 * cosine - x1 * sine;
        base[b] = x1 * cosine + x0 * sine;
    }
}

__global__ void silu_mul_kernel(uint16_t *out, const float *gate, const float *up, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float g = gate[i];
    out[i] = vc_f32_to_bf16(g / (1.0f + __expf(-g)) * up[i]);
}

__global__ void add_kernel(float *x, const float *y, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

__global__ void add_bias_kernel(float *y, const float *bias, int64_t total, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < total) y[i] += bias[i % n];
}

__global__ void to_bf16_kernel(uint16_t *out, const float *x, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) out[i] = vc_f32_to_bf16(x[i]);
}

__global__ void gather_rows_kernel(float *out, const float *x, const int32_t *rows, int64_t dim) {
    int64_t i = blockIdx.x;
    const float *src = x + (int64_t)rows[i] * dim;
    for (int64_t j = threadIdx.x; j < dim; j += blockDim.x) out[i * dim + j] = src[j];
}

__global__ void kv_store_kernel(uint16_t *k_cache, uint16_t *v_cache, const float *k, const float *v,
                                const int32_t *slots, int64_t kv_dim) {
    int64_t row = blockIdx.x;
    int64_t slot = slots[row];
    if (slot < 0) return;
    for (int64_t i = threadIdx.x; i < kv_dim; i += blockDim.x) {
        k_cache[slot * kv_dim + i] = vc_f32_to_bf16(k[row * kv_dim + i]);
        v_cache[slot * kv_dim + i] = vc_f32_to_bf16(v[row * kv_dim + i]);
    }
}

}  // namespace

extern "C" int vc_embedding(vc_context *ctx, float *d_out, const void *d_table, vc_dtype table_dtype, int64_t vocab,
                            int64_t dim, const int32_t *d_ids, int64_t n) {
    VC_REQUIRE(ctx && d_out && d_table && d_ids && dim > 0 && n >= 0, "vc_embedding: bad argument");
    if (n == 0) return VC_OK;
    switch (table_dtype) {
    case VC_F32:
        embedding_kernel<<<(unsigned)n, kThreads, 0, ctx->stream>>>(d_out, (const float *)d_table, vocab, dim, d_ids);
        break;
    case VC_F16:
        embedding_kernel<<<(unsigned)n, kThreads, 0, ctx->stream>>>(d_out, (const __half *)d_table, vocab, dim, d_ids);
        break;
    case VC_BF16:
        embedding_kernel<<<(unsigned)n, kThreads, 0, ctx->stream>>>(d_out, (const uint16_t *)d_table, vocab, dim, d_ids);
        break;
    default:
        return vc_fail(VC_ERR_ARGUMENT, "vc_embedding: unsupported table dtype %d", (int)table_dtype);
    }
    return vc_check_launch("embedding_kernel");
}

extern "C" int vc_rms_norm(vc_context *ctx, void *d_out, vc_dtype out_dtype, const float *d_x, const float *d_weight,
                           int64_t rows, int64_t dim, float eps) {
    VC_REQUIRE(ctx && d_out && d_x && d_weight && dim > 0 && rows >= 0, "vc_rms_norm: bad argument");
    VC_REQUIRE(out_dtype == VC_F32 || out_dtype == VC_BF16, "vc_rms_norm: out dtype must be F32 or BF16");
    if (rows == 0) return VC_OK;
    unsigned threads = dim >= 1024 ? 1024 : (unsigned)((dim + 31) / 32 * 32);
    if (out_dtype == VC_BF16) {
        rms_norm_kernel<true><<<(unsigned)rows, threads, 0, ctx->stream>>>(d_out, d_x, d_weight, dim, eps);
    } else {
        rms_norm_kernel<false><<<(unsigned)rows, threads, 0, ctx->stream>>>(d_out, d_x, d_weight, dim, eps);
    }
    return vc_check_launch("rms_norm_kernel");
}

extern "C" int vc_rope(vc_context *ctx, float *d_x, const int32_t *d_positions, const float *d_inv_freq, int64_t rows,
                       int64_t heads, int64_t head_dim, int64_t rotary_dim, int neox) {
    VC_REQUIRE(ctx && d_x && d_positions && d_inv_freq, "vc_rope: null argument");
    VC_REQUIRE(rotary_dim > 0 && rotary_dim % 2 == 0 && rotary_dim <= head_dim && heads > 0,
               "vc_rope: rotary_dim must be even and within head_dim");
    if (rows == 0) return VC_OK;
    rope_kernel<<<(unsigned)rows, kThreads, 0, ctx->stream>>>(d_x, d_positions, d_inv_freq, heads, head_dim,
                                                              rotary_dim, neox);
    return vc_check_launch("rope_kernel");
}

extern "C" int vc_silu_mul(vc_context *ctx, uint16_t *d_out_bf16, const float *d_gate, const float *d_up, int64_t rows,
                           int64_t dim) {
    VC_REQUIRE(ctx && d_out_bf16 && d_gate && d_up && rows >= 0 && dim > 0, "vc_silu_mul: bad argument");
    int64_t n = rows * dim;
    if (n == 0) return VC_OK;
    silu_mul_kernel<<<vc_blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(d_out_bf16, d_gate, d_up, n);
    return vc_check_launch("silu_mul_kernel");
}

extern "C" int vc_add(vc_context *ctx, float *d_x, const float *d_y, int64_t n) {
    VC_REQUIRE(ctx && d_x && d_y && n >= 0, "vc_add: bad argument");
    if (n == 0) return VC_OK;
    add_kernel<<<vc_blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(d_x, d_y, n);
    return vc_check_launch("add_kernel");
}

extern "C" int vc_add_bias(vc_context *ctx, float *d_y, const float *d_bias, int64_t rows, int64_t n) {
    VC_REQUIRE(ctx && d_y && d_bias && rows >= 0 && n > 0, "vc_add_bias: bad argument");
    int64_t total = rows * n;
    if (total == 0) return VC_OK;
    add_bias_kernel<<<vc_blocks_for(total, kThreads), kThreads, 0, ctx->stream>>>(d_y, d_bias, total, n);
    return vc_check_launch("add_bias_kernel");
}

extern "C" int vc_to_bf16(vc_context *ctx, uint16_t *d_out, const float *d_x, int64_t n) {
    VC_REQUIRE(ctx && d_out && d_x && n >= 0, "vc_to_bf16: bad argument");
    if (n == 0) return VC_OK;
    to_bf16_kernel<<<vc_blocks_for(n, kThreads), kThreads, 0, ctx->stream>>>(d_out, d_x, n);
    return vc_check_launch("to_bf16_kernel");
}

extern "C" int vc_gather_rows(vc_context *ctx, float *d_out, const float *d_x, const int32_t *d_rows, int64_t n,
                              int64_t dim) {
    VC_REQUIRE(ctx && d_out && d_x && d_rows && n >= 0 && dim > 0, "vc_gather_rows: bad argument");
    if (n == 0) return VC_OK;
    gather_rows_kernel<<<(unsigned)n, kThreads, 0, ctx->stream>>>(d_out, d_x, d_rows, dim);
    return vc_check_launch("gather_rows_kernel");
}

extern "C" int vc_kv_store(vc_context *ctx, uint16_t *d_k_cache, uint16_t *d_v_cache, const float *d_k, const float *d_v,
                           const int32_t *d_slot_mapping, int64_t rows, int64_t kv_dim) {
    VC_REQUIRE(ctx && d_k_cache && d_v_cache && d_k && d_v && d_slot_mapping && rows >= 0 && kv_dim > 0,
               "vc_kv_store: bad argument");
    if (rows == 0) return VC_OK;
    kv_store_kernel<<<(unsigned)rows, kThreads, 0, ctx->stream>>>(d_k_cache, d_v_cache, d_k, d_v, d_slot_mapping,
                                                                  kv_dim);
    return vc_check_launch("kv_store_kernel");
}
