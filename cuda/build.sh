#!/usr/bin/env bash
# Builds cuda/build/libvllm_cuda.so from cuda/*.cu for sm_80 (A100) and sm_90 (H100/H200), plus PTX for
# newer GPUs. Needs nvcc only (no GPU, no driver): the CUDA runtime is linked statically and cuBLAS is
# dlopened at run time, so the .so depends on nothing but libc, libstdc++ and (at run time) libcuda.so.1.
#
#   cuda/build.sh                 # finds nvcc on PATH, in $CUDA_HOME/bin, or in pip's nvidia-cuda-nvcc-cu12
#   NVCC=/path/to/nvcc cuda/build.sh
#   VLLM_CUDA_ARCHS="80 90" cuda/build.sh
#
# pip route (no toolkit; see docs/cuda.md): the nvidia-cuda-nvcc-cu12 wheels ship only ptxas, so use the
# CUDA 13 wheels: pip install nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88 \
#   "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-cccl==13.0.*" "nvidia-cublas==13.0.*"
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${VLLM_CUDA_BUILD_DIR:-$here/build}"
archs="${VLLM_CUDA_ARCHS:-80 90}"

# Prints the toolkit root of a pip-installed nvcc: nvidia/cu13 (CUDA 13 wheels, one merged tree) or
# nvidia/cuda_nvcc (CUDA 12 layout, one package per component).
find_pip_toolkit() {
    local python
    for python in "${PYTHON:-}" python3 /tmp/cuda13/bin/python3 /tmp/cudavenv/bin/python3; do
        [[ -n "$python" ]] && command -v "$python" >/dev/null 2>&1 || continue
        "$python" - <<'PY' 2>/dev/null && return 0
import os, importlib.util
spec = importlib.util.find_spec("nvidia")
for base in (list(spec.submodule_search_locations) if spec else []):
    for root in ("cu13", "cu12", "cuda_nvcc"):
        if os.path.exists(os.path.join(base, root, "bin", "nvcc")):
            print(os.path.join(base, root)); raise SystemExit(0)
raise SystemExit(1)
PY
    done
    return 1
}

nvcc="${NVCC:-}"
if [[ -z "$nvcc" ]]; then
    if command -v nvcc >/dev/null 2>&1; then
        nvcc="$(command -v nvcc)"
    elif [[ -n "${CUDA_HOME:-}" && -x "$CUDA_HOME/bin/nvcc" ]]; then
        nvcc="$CUDA_HOME/bin/nvcc"
    elif root="$(find_pip_toolkit)"; then
        nvcc="$root/bin/nvcc"
    else
        echo "build.sh: nvcc not found (set NVCC or CUDA_HOME, or pip install nvidia-cuda-nvcc nvidia-cuda-crt" \
             "nvidia-cuda-runtime nvidia-cuda-cccl nvidia-cublas nvidia-nvvm, same CUDA minor version)" >&2
        exit 1
    fi
fi
toolkit="$(cd "$(dirname "$nvcc")/.." && pwd)"
# pip's CUDA 12 wheels split the toolkit into sibling packages; point nvcc at each piece. Toolkits
# and CUDA 13 wheels have everything under one root, where these folders simply do not exist.
extra_flags=()
for dir in "$toolkit/lib" "$toolkit/lib64" "$toolkit/../cuda_runtime/lib"; do
    [[ -d "$dir" ]] && extra_flags+=("-L$dir")
done
for dir in "$toolkit/../cuda_runtime/include" "$toolkit/../cuda_cccl/include" "$toolkit/../cublas/include" \
           "$toolkit/include/cccl"; do
    [[ -d "$dir" ]] && extra_flags+=("-I$dir")
done

gencode=()
for arch in $archs; do gencode+=("-gencode=arch=compute_$arch,code=sm_$arch"); done
last_arch="${archs##* }"
gencode+=("-gencode=arch=compute_$last_arch,code=compute_$last_arch")

# No --use_fast_math: rope angles reach 1e5 radians and fast sincos loses all precision there.
# The pip runtime wheel names its static library libcudart_static.a but has no libcudart.so symlink;
# -cudart=static needs only the former.
mkdir -p "$out"
sources=("$here"/*.cu)
echo "build.sh: $nvcc ($("$nvcc" --version | tail -1)), archs: $archs, ${#sources[@]} sources"
"$nvcc" -std=c++17 -O3 -Xcompiler -fPIC -shared -cudart=static \
    "${gencode[@]}" -I"$here" "${extra_flags[@]}" \
    -Xlinker --exclude-libs,ALL -Xlinker -z,defs \
    -o "$out/libvllm_cuda.so" "${sources[@]}" -ldl -lpthread -lrt
echo "build.sh: wrote $out/libvllm_cuda.so"
