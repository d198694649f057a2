// cuBLAS resolved with dlopen at context creation, so libvllm_cuda.so has no link-time dependency on
// libcublas (the pip wheel nvidia-cublas-cu12 or a CUDA toolkit provides it on the GPU machine).
// Only the types come from cublas_v2.h; every function goes through the pointers below.
#include <dlfcn.h>
#include <stdlib.h>
#include <cublas_v2.h>
#include "vc_internal.cuh"

struct vc_cublas_api {
    void *library;
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int, const void *,
                              const void *, cudaDataType, int, const void *, cudaDataType, int, const void *, void *,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
};

static vc_cublas_api vc_blas;  // process-wide: the library is loaded once and never unloaded

static void *vc_open_cublas_library(void) {
    const char *override_path = getenv("VLLM_CUBLAS_LIB");
    if (override_path && *override_path) return dlopen(override_path, RTLD_NOW | RTLD_GLOBAL);
    // Prefer the cuBLAS major that matches the CUDA runtime linked in (CUDART_VERSION 13000 -> .so.13).
    const char *names[] = {CUDART_VERSION >= 13000 ? "libcublas.so.13" : "libcublas.so.12",
                           CUDART_VERSION >= 13000 ? "libcublas.so.12" : "libcublas.so.13", "libcublas.so"};
    for (const char *name : names) {
        if (void *handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL)) return handle;
    }
    return nullptr;
}

static int vc_load_cublas(void) {
    if (vc_blas.library) return VC_OK;
    void *library = vc_open_cublas_library();
    if (!library) {
        return vc_fail(VC_ERR_NO_CUBLAS, "cannot dlopen libcublas (set VLLM_CUBLAS_LIB or LD_LIBRARY_PATH): %s",
                       dlerror());
    }
    vc_cublas_api api = {};
    api.library = library;
#define VC_RESOLVE(field, symbol)                                                              \
    api.field = reinterpret_cast<decltype(api.field)>(dlsym(library, symbol));                 \
    if (!api.field) return vc_fail(VC_ERR_NO_CUBLAS, "libcublas lacks symbol %s", symbol);
    VC_RESOLVE(create, "cublasCreate_v2")
    VC_RESOLVE(destroy, "cublasDestroy_v2")
    VC_RESOLVE(set_stream, "cublasSetStream_v2")
    VC_RESOLVE(set_math_mode, "cublasSetMathMode")
    VC_RESOLVE(gemm_ex, "cublasGemmEx")
#undef VC_RESOLVE
    vc_blas = api;
    return VC_OK;
}

static int vc_check_cublas(cublasStatus_t status, const char *what) {
    if (status == CUBLAS_STATUS_SUCCESS) return VC_OK;
    return vc_fail(VC_ERR_CUBLAS, "%s failed with cublasStatus %d", what, (int)status);
}

int vc_cublas_open(vc_context *ctx) {
    int status = vc_load_cublas();
    if (status != VC_OK) return status;
    cublasHandle_t handle = nullptr;
    if ((status = vc_check_cublas(vc_blas.create(&handle), "cublasCreate")) != VC_OK) return status;
    ctx->cublas_handle = handle;
    ctx->blas = &vc_blas;
    if ((status = vc_check_cublas(vc_blas.set_stream(handle, ctx->stream), "cublasSetStream")) != VC_OK) return status;
    return vc_check_cublas(vc_blas.set_math_mode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
}

void vc_cublas_close(vc_context *ctx) {
    if (ctx->blas && ctx->cublas_handle) ctx->blas->destroy((cublasHandle_t)ctx->cublas_handle);
    ctx->cublas_handle = nullptr;
}

extern "C" int vc_matmul_bf16(vc_context *ctx, float *d_y, const uint16_t *d_x, const uint16_t *d_w, int64_t m,
                              int64_t k, int64_t n) {
    VC_REQUIRE(ctx && ctx->blas && d_y && d_x && d_w, "vc_matmul_bf16: null argument");
    VC_REQUIRE(m > 0 && k > 0 && n > 0 && m <= INT32_MAX && k <= INT32_MAX && n <= INT32_MAX,
               "vc_matmul_bf16: dimensions must be in 1...INT32_MAX");
    // Row-major y[m][n] = x[m][k] W[n][k]^T is column-major y^T[n][m] = W^T... cuBLAS sees W (row-major
    // [n][k]) as column-major [k][n], so op(A) = A^T with A = W, lda = k; B = x as column-major [k][m], ldb = k.
    const float alpha = 1.0f, beta = 0.0f;
    cublasStatus_t status = ctx->blas->gemm_ex(
        (cublasHandle_t)ctx->cublas_handle, CUBLAS_OP_T, CUBLAS_OP_N, (int)n, (int)m, (int)k, &alpha, d_w,
        CUDA_R_16BF, (int)k, d_x, CUDA_R_16BF, (int)k, &beta, d_y, CUDA_R_32F, (int)n, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT);
    return vc_check_cublas(status, "cublasGemmEx (bf16 x bf16 -> f32)");
}
