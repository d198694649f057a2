// Shared helpers of the libvllm_cuda.so sources: error recording, the context, launch checks.
#pragma once
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <stdint.h>
#include "vllm_cuda.h"

// Resolved lazily from libcublas.so.12 (see vc_cublas.cu) so the library links only against cudart.
struct vc_cublas_api;

struct vc_context {
    int device;
    cudaStream_t stream;
    void *cublas_handle;       // cublasHandle_t, opaque here
    const vc_cublas_api *blas;
};

// Records a message for vc_last_error() and returns `status`.
int vc_fail(int status, const char *fmt, ...);
// Maps a CUDA error to a vc_status with a message naming `what`; VC_OK for cudaSuccess.
int vc_check_cuda(cudaError_t err, const char *what);
// Checks the launch that just happened on the context stream.
int vc_check_launch(const char *kernel);

#define VC_REQUIRE(cond, msg)                                      \
    do {                                                           \
        if (!(cond)) return vc_fail(VC_ERR_ARGUMENT, "%s", msg);   \
    } while (0)

static inline unsigned vc_blocks_for(int64_t n, unsigned threads) {
    return (unsigned)((n + threads - 1) / threads);
}

__device__ __forceinline__ float vc_warp_sum(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

__device__ __forceinline__ float vc_warp_max(float v) {
    for (int offset = 16; offset > 0; offset >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    return v;
}

// Sum over a whole block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
__device__ __forceinline__ float vc_block_sum(float v) {
    __shared__ float partial[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = vc_warp_sum(v);
    __syncthreads();  // partial may still be read by a previous call
    if (lane == 0) partial[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = lane < warps ? partial[lane] : 0.0f;
    return vc_warp_sum(v);
}

__device__ __forceinline__ uint16_t vc_f32_to_bf16(float x) {
    __nv_bfloat16 b = __float2bfloat16_rn(x);
    return *reinterpret_cast<uint16_t *>(&b);
}

__device__ __forceinline__ float vc_bf16_to_f32(uint16_t x) {
    return __uint_as_float(((uint32_t)x) << 16);
}
