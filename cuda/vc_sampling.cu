// Greedy argmax and top-k log-softmax per logits row, on device, so only ids and a few floats
// travel back for greedy requests.
//
// Ranking: higher logit first, lower id on ties (NaN ranks last), the same order the CPU sampler
// uses. Top-k runs k selection passes; pass t keeps the best element ranked strictly after pick t-1,
// so it needs no scratch memory and is O(k * vocab) per row (fine for k <= 64).
#include <float.h>
#include "vc_internal.cuh"

namespace {

constexpr unsigned kThreads = 1024;

struct Candidate {
    float value;
    int32_t id;
};

__device__ __forceinline__ bool ranks_before(Candidate a, Candidate b) {
    return a.value > b.value || (a.value == b.value && a.id < b.id);
}

__device__ __forceinline__ float sanitized(float v) { return isnan(v) ? -FLT_MAX : v; }

__device__ Candidate block_best(Candidate mine) {
    __shared__ Candidate partial[32];
    for (int offset = 16; offset > 0; offset >>= 1) {
        Candidate other;
        other.value = __shfl_xor_sync(0xffffffffu, mine.value, offset);
        other.id = __shfl_xor_sync(0xffffffffu, mine.id, offset);
        if (ranks_before(other, mine)) mine = other;
    }
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) partial[warp] = mine;
    __syncthreads();
    Candidate best = partial[0];
    for (int w = 1; w < (int)(blockDim.x >> 5); ++w) {
        if (ranks_before(partial[w], best)) best = partial[w];
    }
    return best;
}

__global__ void greedy_topk_kernel(int32_t *argmax, int32_t *top_ids, float *top_logprobs, const float *logits,
                                   int64_t vocab, int64_t top_k) {
    const int64_t row = blockIdx.x;
    const float *x = logits + row * vocab;
    const Candidate none = {-FLT_MAX, INT32_MAX};

    Candidate mine = none;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
        Candidate c = {sanitized(x[i]), (int32_t)i};
        if (ranks_before(c, mine)) mine = c;
    }
    Candidate best = block_best(mine);
    if (threadIdx.x == 0) argmax[row] = best.id;
    if (top_k == 0) return;

    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) sum += __expf(sanitized(x[i]) - best.value);
    float log_normalizer = best.value + logf(vc_block_sum(sum));

    Candidate previous = best;
    for (int64_t t = 0; t < top_k; ++t) {
        Candidate pick = previous;
        if (t > 0) {
            Candidate local = none;
            for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
                Candidate c = {sanitized(x[i]), (int32_t)i};
                if (ranks_before(previous, c) && ranks_before(c, local)) local = c;
            }
            pick = block_best(local);
        }
        if (threadIdx.x == 0) {
            bool exists = pick.id != INT32_MAX;
            top_ids[row * top_k + t] = exists ? pick.id : -1;
            top_logprobs[row * top_k + t] = exists ? pick.value - log_normalizer : -INFINITY;
        }
        previous = pick;
    }
}

}  // namespace

extern "C" int vc_sample_greedy_topk(vc_context *ctx, int32_t *d_argmax, int32_t *d_top_ids, float *d_top_logprobs,
                                     const float *d_logits, int64_t rows, int64_t vocab, int64_t top_k) {
    VC_REQUIRE(ctx && d_argmax && d_logits && rows >= 0 && vocab > 0 && vocab <= INT32_MAX,
               "vc_sample_greedy_topk: bad argument");
    VC_REQUIRE(top_k >= 0 && top_k <= 64 && top_k <= vocab, "vc_sample_greedy_topk: top_k must be in 0...min(64, vocab)");
    VC_REQUIRE(top_k == 0 || (d_top_ids && d_top_logprobs), "vc_sample_greedy_topk: top-k outputs are null");
    if (rows == 0) return VC_OK;
    greedy_topk_kernel<<<(unsigned)rows, kThreads, 0, ctx->stream>>>(d_argmax, d_top_ids, d_top_logprobs, d_logits,
                                                                    vocab, top_k);
    return vc_check_launch("greedy_topk_kernel");
}
