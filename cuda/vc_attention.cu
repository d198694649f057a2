// Causal paged attention for mixed prefill + decode batches (varlen rows, GQA, block tables).
//
// One thread block per (query row, head); its warps split the visible keys and each keeps an online
// softmax (running max, running sum, weighted V accumulator over its lanes' head dims), merged at the
// end. Correct for any mix of rows; prefill of long prompts re-reads K/V per row, so a tiled
// (flash-attention style) prefill kernel is the known next step for throughput (see docs/cuda.md).
#include <float.h>
#include "vc_internal.cuh"

namespace {

constexpr int kWarps = 4;
constexpr int kMaxHeadDim = 256;
constexpr int kMaxPerLane = kMaxHeadDim / 32;

__device__ int sequence_of_row(const int32_t *query_start, int64_t num_seqs, int64_t row) {
    int64_t lo = 0, hi = num_seqs - 1;  // last s with query_start[s] <= row
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (query_start[mid] <= row) lo = mid; else hi = mid - 1;
    }
    return (int)lo;
}

__global__ void paged_attention_kernel(uint16_t *out, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                                       const int32_t *query_start, const int32_t *seq_lens, const int32_t *block_tables,
                                       int64_t num_seqs, int64_t max_blocks, int64_t heads, int64_t kv_heads,
                                       int64_t head_dim, int64_t block_size, float scale) {
    const int64_t row = blockIdx.x, head = blockIdx.y;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int seq = sequence_of_row(query_start, num_seqs, row);
    const int64_t visible = (int64_t)seq_lens[seq] - ((int64_t)query_start[seq + 1] - row) + 1;
    const int64_t kv_head = head / (heads / kv_heads);
    const int32_t *table = block_tables + (int64_t)seq * max_blocks;

    float q_reg[kMaxPerLane], acc[kMaxPerLane];
    const float *q_row = q + (row * heads + head) * head_dim;
#pragma unroll
    for (int t = 0; t < kMaxPerLane; ++t) {
        int64_t d = lane + 32 * t;
        q_reg[t] = d < head_dim ? q_row[d] * scale : 0.0f;
        acc[t] = 0.0f;
    }
    float running_max = -FLT_MAX, running_sum = 0.0f;
    for (int64_t j = warp; j < visible; j += kWarps) {
        int64_t slot = (int64_t)table[j / block_size] * block_size + j % block_size;
        const uint16_t *k_row = k_cache + (slot * kv_heads + kv_head) * head_dim;
        const uint16_t *v_row = v_cache + (slot * kv_heads + kv_head) * head_dim;
        float dot = 0.0f;
#pragma unroll
        for (int t = 0; t < kMaxPerLane; ++t) {
            int64_t d = lane + 32 * t;
            if (d < head_dim) dot += q_reg[t] * vc_bf16_to_f32(k_row[d]);
        }
        dot = vc_warp_sum(dot);
        float new_max = fmaxf(running_max, dot);
        float correction = __expf(running_max - new_max);
        float weight = __expf(dot - new_max);
        running_sum = running_sum * correction + weight;
#pragma unroll
        for (int t = 0; t < kMaxPerLane; ++t) {
            int64_t d = lane + 32 * t;
            float v = d < head_dim ? vc_bf16_to_f32(v_row[d]) : 0.0f;
            acc[t] = acc[t] * correction + weight * v;
        }
        running_max = new_max;
    }

    __shared__ float warp_max[kWarps], warp_sum[kWarps];
    __shared__ float warp_acc[kWarps][kMaxHeadDim];
    if (lane == 0) {
        warp_max[warp] = running_max;
        warp_sum[warp] = running_sum;
    }
#pragma unroll
    for (int t = 0; t < kMaxPerLane; ++t) {
        int64_t d = lane + 32 * t;
        if (d < head_dim) warp_acc[warp][d] = acc[t];
    }
    __syncthreads();
    float global_max = -FLT_MAX;
    for (int w = 0; w < kWarps; ++w) global_max = fmaxf(global_max, warp_max[w]);
    float total = 0.0f;
    for (int w = 0; w < kWarps; ++w) total += warp_sum[w] * __expf(warp_max[w] - global_max);
    float inv_total = total > 0.0f ? 1.0f / total : 0.0f;
    uint16_t *out_row = out + (row * heads + head) * head_dim;
    for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float value = 0.0f;
        for (int w = 0; w < kWarps; ++w) value += warp_acc[w][d] * __expf(warp_max[w] - global_max);
        out_row[d] = vc_f32_to_bf16(value * inv_total);
    }
}

}  // namespace

extern "C" int vc_paged_attention(vc_context *ctx, uint16_t *d_out_bf16, const float *d_q, const uint16_t *d_k_cache,
                                  const uint16_t *d_v_cache, const int32_t *d_query_start, const int32_t *d_seq_lens,
                                  const int32_t *d_block_tables, int64_t num_seqs, int64_t rows,
                                  int64_t max_blocks_per_seq, int64_t heads, int64_t kv_heads, int64_t head_dim,
                                  int64_t block_size, float scale) {
    VC_REQUIRE(ctx && d_out_bf16 && d_q && d_k_cache && d_v_cache && d_query_start && d_seq_lens && d_block_tables,
               "vc_paged_attention: null argument");
    VC_REQUIRE(num_seqs > 0 && rows >= 0 && max_blocks_per_seq > 0 && block_size > 0,
               "vc_paged_attention: empty batch geometry");
    VC_REQUIRE(heads > 0 && kv_heads > 0 && heads % kv_heads == 0, "vc_paged_attention: heads % kv_heads != 0");
    VC_REQUIRE(head_dim > 0 && head_dim <= kMaxHeadDim, "vc_paged_attention: head_dim must be in 1...256");
    VC_REQUIRE(heads <= 65535, "vc_paged_attention: too many heads for grid.y");
    if (rows == 0) return VC_OK;
    dim3 grid((unsigned)rows, (unsigned)heads);
    paged_attention_kernel<<<grid, kWarps * 32, 0, ctx->stream>>>(
        d_out_bf16, d_q, d_k_cache, d_v_cache, d_query_start, d_seq_lens, d_block_tables, num_seqs,
        max_blocks_per_seq, heads, kv_heads, head_dim, block_size, scale);
    return vc_check_launch("paged_attention_kernel");
}
