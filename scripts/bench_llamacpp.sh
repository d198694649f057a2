#!/usr/bin/env bash
# Builds llama.cpp's llama-server OUTSIDE the repository, for side-by-side benchmarks (scripts/bench_compare.sh).
# Source: the llama.cpp copy vendored in the llama-cpp-python sdist from PyPI (the only reachable source);
# --no-binary only for that package, so that its build tools come as wheels rather than being compiled.
# Usage: scripts/bench_llamacpp.sh [BUILD_DIR]     (default $LLAMACPP_BUILD_DIR or /work/llamacpp-build)
# Prints the path of the llama-server binary on its last line. Does nothing when the binary exists already.
# JOBS=N sets build parallelism (default 2).
set -euo pipefail
build_root="${1:-${LLAMACPP_BUILD_DIR:-/work/llamacpp-build}}"
jobs="${JOBS:-2}"
binary="$build_root/build/bin/llama-server"
if [ -x "$binary" ]; then
    echo "$binary"
    exit 0
fi
mkdir -p "$build_root/sdist"
cd "$build_root"

if ! command -v cmake >/dev/null; then
    echo "cmake is missing: installing it with apt-get" >&2
    apt-get install -y cmake >&2 || { apt-get update >&2 && apt-get install -y cmake >&2; }
fi

sdist=$(ls sdist/llama_cpp_python-*.tar.gz 2>/dev/null | head -n1 || true)
if [ -z "$sdist" ]; then
    pip download --no-deps --no-binary llama-cpp-python llama-cpp-python -d sdist >&2
    sdist=$(ls sdist/llama_cpp_python-*.tar.gz | head -n1)
fi
source_dir="$build_root/src"
if [ ! -f "$source_dir/CMakeLists.txt" ]; then
    mkdir -p unpacked
    tar -xzf "$sdist" -C unpacked
    vendored=$(ls -d unpacked/llama_cpp_python-*/vendor/llama.cpp | head -n1)
    rm -rf "$source_dir"
    mv "$vendored" "$source_dir"
fi
echo "llama.cpp from $(basename "$sdist")" >&2

# Native CPU code (AVX2/FMA/F16C here), no curl (no network), only the server.
cmake -S "$source_dir" -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DBUILD_SHARED_LIBS=OFF >&2
cmake --build build -j"$jobs" --target llama-server >&2
echo "$binary"
