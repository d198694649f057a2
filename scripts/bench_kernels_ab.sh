#!/usr/bin/env bash
# A/B of the AVX2 kernel table: vk_kernels_avx2.c at a git revision (base, default HEAD) against the working
# tree's (new), both linked into one binary and called alternately, call by call, through the working tree's
# vk_matmul. This machine's speed drifts 10-40% within seconds, so separate runs (even alternating ones) cannot
# resolve a 5% change; alternating single calls and keeping each side's fastest call can (two identical tables
# measure within 1-2%).
# Usage: scripts/bench_kernels_ab.sh [REV]
#   AB_SHAPES="dtype:m:n:k ..." (default: Qwen2.5-0.5B and SmolLM2 shapes at 32 and 512 rows), AB_ROUNDS (60),
#   AB_COPIES (1): distinct weight matrices per call, each multiplied once, so that weights stream from DRAM as
#   in a real model (24 copies of the Qwen shapes are 40-200 MB) instead of staying in cache. Weights are packed as
#   the engine packs them (vk_packed_layout); AB_ROW_MAJOR=1 keeps them row-major.
# Only vk_kernels_avx2.c differs between the two sides: the driver (vk_matmul.c) and the headers are the working
# tree's, so REV must share them. Single thread, process CPU time. Prints numbers, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:-HEAD}"
src=Sources/CKernels
out="${TMPDIR:-/tmp}/vk_ab_$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

git show "$rev:$src/vk_kernels_avx2.c" > "$out/base_kernels.c"
# The driver picks its table through vk_kt(); here it reads a pointer the benchmark sets before each call.
grep -q 'vk_kt()' "$src/vk_matmul.c" || { echo "vk_matmul.c no longer calls vk_kt(); update this script" >&2; exit 1; }
{
    printf '#define _GNU_SOURCE\n#include "vk_internal.h"\nconst vk_kernel_table *vk_ab_table;\n'
    sed 's/vk_kt()/vk_ab_table/g' "$src/vk_matmul.c"
} > "$out/matmul_ab.c"

cat > "$out/ab.c" <<'CEOF'
#define _GNU_SOURCE
#include "vk_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const vk_kernel_table *vk_ab_table;
extern const vk_kernel_table vk_kernels_avx2_base;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int dtype_named(const char *s) {
    const char *names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"};
    for (int t = 0; t < 6; t++)
        if (strcmp(s, names[t]) == 0) return t;
    return -1;
}

int main(int argc, char **argv) {
    const int rounds = atoi(argv[1]), copies = atoi(argv[2]);
    vk_init(1);
    printf("%d weight matrices per call\n", copies);
    printf("%-5s %4s %5s %5s   base GFLOP/s   new GFLOP/s   new/base   outputs\n", "dtype", "m", "n", "k");
    for (int a = 3; a < argc; a++) {
        char name[16];
        long long m, n, k;
        if (sscanf(argv[a], "%15[^:]:%lld:%lld:%lld", name, &m, &n, &k) != 4 || dtype_named(name) < 0) {
            fprintf(stderr, "bad shape %s (want dtype:m:n:k)\n", argv[a]);
            return 1;
        }
        const vk_dtype t = (vk_dtype)dtype_named(name);
        const size_t rb = vk_row_bytes(t, k);
        uint8_t *w = aligned_alloc(64, (rb * n * copies + 63) / 64 * 64);
        float *row = malloc(k * sizeof(float)), *x = malloc(m * k * sizeof(float));
        float *y[2] = {malloc(m * n * sizeof(float)), malloc(m * n * sizeof(float))};
        for (long long r = 0; r < n * copies; r++) {
            for (long long i = 0; i < k; i++) row[i] = (float)((r * 31 + i * 17) % 97) / 97.0f - 0.5f;
            vk_quantize_row(row, t, k, w + r * rb);
        }
        for (long long i = 0; i < m * k; i++) x[i] = (float)((i * 13) % 89) / 89.0f - 0.5f;
        // Packed as the engine packs them (tiles or panels), unless AB_ROW_MAJOR is set.
        const vk_dtype kt = getenv("AB_ROW_MAJOR") ? t : vk_packed_layout(t);
        const size_t stride = kt == t ? rb * n : vk_packed_bytes(kt, n, k);
        if (kt != t) {
            uint8_t *packed = aligned_alloc(64, (stride * copies + 63) / 64 * 64);
            for (int c = 0; c < copies; c++) vk_pack_weights(w + (size_t)c * n * rb, kt, n, k, packed + (size_t)c * stride);
            free(w);
            w = packed;
        }
        const vk_kernel_table *tables[2] = {&vk_kernels_avx2_base, &vk_kernels_avx2};
        double best[2] = {1e30, 1e30};
        for (int r = 0; r < rounds; r++)
            for (int s = 0; s < 2; s++) {
                vk_ab_table = tables[s];
                const double start = cpu_now();
                for (int c = 0; c < copies; c++) vk_matmul(y[s], x, m, k, w + (size_t)c * stride, kt, n);
                const double took = cpu_now() - start;
                if (took < best[s]) best[s] = took;
            }
        const double flop = 2.0 * m * n * k * copies;
        printf("%-5s %4lld %5lld %5lld   %12.1f   %11.1f   %8.3f   %s\n", name, m, n, k, flop / best[0] * 1e-9,
               flop / best[1] * 1e-9, best[0] / best[1],
               memcmp(y[0], y[1], m * n * sizeof(float)) == 0 ? "identical" : "differ"); // the last copy's outputs
        free(w), free(row), free(x), free(y[0]), free(y[1]);
    }
    return 0;
}
CEOF

flags=(-std=c11 -O3 -fno-math-errno -ffp-contract=fast -I"$src/include" -I"$src")
clang "${flags[@]}" -Dvk_kernels_avx2=vk_kernels_avx2_base -c "$out/base_kernels.c" -o "$out/base_kernels.o"
others=()
for f in "$src"/*.c; do [ "$(basename "$f")" = vk_matmul.c ] || others+=("$f"); done
clang "${flags[@]}" "${others[@]}" "$out/matmul_ab.c" "$out/base_kernels.o" "$out/ab.c" -o "$out/ab" -lpthread -lm

default_shapes="bf16:32:896:896 bf16:32:4864:896 bf16:512:4864:896 q8_0:32:896:896 q8_0:32:4864:896 q8_0:512:4864:896
q4_1:32:576:576 q4_1:32:1536:576 q4_1:32:576:1536 q4_1:512:1536:576"
# shellcheck disable=SC2086
"$out/ab" "${AB_ROUNDS:-60}" "${AB_COPIES:-1}" ${AB_SHAPES:-$default_shapes}
