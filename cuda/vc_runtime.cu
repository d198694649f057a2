// Library, device, context and memory entry points of libvllm_cuda.so.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "vc_internal.cuh"

static thread_local char vc_error_message[512] = "";

int vc_fail(int status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(vc_error_message, sizeof vc_error_message, fmt, args);
    va_end(args);
    return status;
}

int vc_check_cuda(cudaError_t err, const char *what) {
    if (err == cudaSuccess) return VC_OK;
    cudaGetLastError();  // clear a sticky-free error so later calls are not blamed
    int status = VC_ERR_CUDA;
    if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice) {
        status = err == cudaErrorNoDevice ? VC_ERR_NO_DEVICE : VC_ERR_NO_DRIVER;
    } else if (err == cudaErrorMemoryAllocation) {
        status = VC_ERR_OUT_OF_MEMORY;
    }
    return vc_fail(status, "%s: %s (%s)", what, cudaGetErrorString(err), cudaGetErrorName(err));
}

int vc_check_launch(const char *kernel) { return vc_check_cuda(cudaGetLastError(), kernel); }

extern "C" int vc_abi_version(void) { return VC_ABI_VERSION; }

extern "C" const char *vc_last_error(void) { return vc_error_message; }

extern "C" int vc_device_count(int *count) {
    VC_REQUIRE(count, "vc_device_count: count is null");
    *count = 0;
    return vc_check_cuda(cudaGetDeviceCount(count), "cudaGetDeviceCount");
}

// Defined in vc_cublas.cu.
int vc_cublas_open(vc_context *ctx);
void vc_cublas_close(vc_context *ctx);

extern "C" int vc_context_create(int device, vc_context **out) {
    VC_REQUIRE(out, "vc_context_create: out is null");
    *out = nullptr;
    int count = 0;
    int status = vc_device_count(&count);
    if (status != VC_OK) return status;
    if (device < 0 || device >= count) {
        return vc_fail(VC_ERR_NO_DEVICE, "device %d requested, %d visible", device, count);
    }
    if ((status = vc_check_cuda(cudaSetDevice(device), "cudaSetDevice")) != VC_OK) return status;
    vc_context *ctx = (vc_context *)calloc(1, sizeof(vc_context));
    if (!ctx) return vc_fail(VC_ERR_OUT_OF_MEMORY, "vc_context_create: host allocation failed");
    ctx->device = device;
    status = vc_check_cuda(cudaStreamCreateWithFlags(&ctx->stream, cudaStreamNonBlocking), "cudaStreamCreate");
    if (status == VC_OK) status = vc_cublas_open(ctx);
    if (status != VC_OK) {
        vc_context_destroy(ctx);
        return status;
    }
    *out = ctx;
    return VC_OK;
}

extern "C" void vc_context_destroy(vc_context *ctx) {
    if (!ctx) return;
    vc_cublas_close(ctx);
    if (ctx->stream) cudaStreamDestroy(ctx->stream);
    free(ctx);
}

extern "C" int vc_device_info(vc_context *ctx, char *h_name, size_t capacity, int *cc_major, int *cc_minor) {
    VC_REQUIRE(ctx && h_name && capacity > 0 && cc_major && cc_minor, "vc_device_info: null argument");
    cudaDeviceProp prop;
    int status = vc_check_cuda(cudaGetDeviceProperties(&prop, ctx->device), "cudaGetDeviceProperties");
    if (status != VC_OK) return status;
    snprintf(h_name, capacity, "%s", prop.name);
    *cc_major = prop.major;
    *cc_minor = prop.minor;
    return VC_OK;
}

extern "C" int vc_mem_info(vc_context *ctx, size_t *free_bytes, size_t *total_bytes) {
    VC_REQUIRE(ctx && free_bytes && total_bytes, "vc_mem_info: null argument");
    cudaSetDevice(ctx->device);
    return vc_check_cuda(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

extern "C" int vc_malloc(vc_context *ctx, void **d_out, size_t bytes) {
    VC_REQUIRE(ctx && d_out, "vc_malloc: null argument");
    *d_out = nullptr;
    if (bytes == 0) return VC_OK;
    cudaError_t err = cudaMalloc(d_out, bytes);
    if (err != cudaSuccess) {
        vc_check_cuda(err, "cudaMalloc");
        return vc_fail(err == cudaErrorMemoryAllocation ? VC_ERR_OUT_OF_MEMORY : VC_ERR_CUDA,
                       "cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(err));
    }
    return VC_OK;
}

extern "C" int vc_free(vc_context *ctx, void *d_ptr) {
    VC_REQUIRE(ctx, "vc_free: null context");
    if (!d_ptr) return VC_OK;
    return vc_check_cuda(cudaFree(d_ptr), "cudaFree");
}

extern "C" int vc_copy_to_device(vc_context *ctx, void *d_dst, const void *h_src, size_t bytes) {
    VC_REQUIRE(ctx && (bytes == 0 || (d_dst && h_src)), "vc_copy_to_device: null argument");
    if (bytes == 0) return VC_OK;
    return vc_check_cuda(cudaMemcpyAsync(d_dst, h_src, bytes, cudaMemcpyHostToDevice, ctx->stream),
                         "cudaMemcpyAsync host->device");
}

extern "C" int vc_copy_to_host(vc_context *ctx, void *h_dst, const void *d_src, size_t bytes) {
    VC_REQUIRE(ctx && (bytes == 0 || (d_src && h_dst)), "vc_copy_to_host: null argument");
    int status = VC_OK;
    if (bytes > 0) {
        status = vc_check_cuda(cudaMemcpyAsync(h_dst, d_src, bytes, cudaMemcpyDeviceToHost, ctx->stream),
                               "cudaMemcpyAsync device->host");
    }
    if (status != VC_OK) return status;
    return vc_check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
}

extern "C" int vc_memset_zero(vc_context *ctx, void *d_ptr, size_t bytes) {
    VC_REQUIRE(ctx && (bytes == 0 || d_ptr), "vc_memset_zero: null argument");
    if (bytes == 0) return VC_OK;
    return vc_check_cuda(cudaMemsetAsync(d_ptr, 0, bytes, ctx->stream), "cudaMemsetAsync");
}

extern "C" int vc_synchronize(vc_context *ctx) {
    VC_REQUIRE(ctx, "vc_synchronize: null context");
    return vc_check_cuda(cudaStreamSynchronize(ctx->stream), "cudaStreamSynchronize");
}
