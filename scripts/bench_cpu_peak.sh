#!/usr/bin/env bash
# Arithmetic ceilings of one core, for reading the kernel figures in docs/benchmarks.md: fp32 FMA
# (what the float GEMM and gemv are built on), 16-bit integer dots (vpmaddwd + vpaddd: the default
# path for quantized weights) and 8-bit integer dots (vpmaddubsw + vpmaddwd + vpaddd: llama.cpp's
# path, our opt-in one). Register-only loops with independent accumulators; thread CPU time. The integer
# loops are rough estimates: a tuned kernel can beat them (the batched Q8_0 gemv does).
# Usage: scripts/bench_cpu_peak.sh      (needs an x86-64 CPU with AVX2 and FMA; prints, asserts nothing)
set -euo pipefail
out="${TMPDIR:-/tmp}/vk_peak_$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
cat > "$out/peak.c" <<'CEOF'
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
int main(void) {
    const long n = 100000000;
#define DA(i) __m256 a##i = _mm256_set1_ps(i * 0.001f);
    R12(DA)
    __m256 b = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.0001f);
    double t = now();
#define FM(i) a##i = _mm256_fmadd_ps(a##i, b, c);
    for (long r = 0; r < n; r++) { R12(FM) }
    double dt = now() - t;
    __m256 s = _mm256_setzero_ps();
#define SA(i) s = _mm256_add_ps(s, a##i);
    R12(SA)
    printf("fp32 FMA:                    %6.1f GMAC/s per core (%.1f GFLOP/s)  [%g]\n", n * 12 * 8 / dt / 1e9,
           n * 12 * 16 / dt / 1e9, _mm256_cvtss_f32(s));
#define DX(i) __m256i x##i = _mm256_set1_epi16(i), c##i = _mm256_setzero_si256();
    R8(DX)
    __m256i w = _mm256_set1_epi16(3), ones = _mm256_set1_epi16(1), ub = _mm256_set1_epi8(3);
    t = now();
#define MD(i) c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(x##i, w));
    // The empty asm keeps the compiler from hoisting the loop-invariant products.
    for (long r = 0; r < n; r++) { R8(MD) __asm__ volatile("" : "+x"(w), "+x"(ub)); }
    dt = now() - t;
    __m256i si = _mm256_setzero_si256();
#define SI(i) si = _mm256_add_epi32(si, c##i);
    R8(SI)
    printf("int16 vpmaddwd + vpaddd:     %6.1f GMAC/s per core  [%d]\n", n * 8 * 16 / dt / 1e9, _mm256_cvtsi256_si32(si));
    t = now();
#define MU(i) c##i = _mm256_add_epi32(c##i, _mm256_madd_epi16(_mm256_maddubs_epi16(ub, x##i), ones));
    for (long r = 0; r < n; r++) { R8(MU) __asm__ volatile("" : "+x"(w), "+x"(ub)); }
    dt = now() - t;
    R8(SI)
    printf("int8 vpmaddubsw chain:       %6.1f GMAC/s per core  [%d]\n", n * 8 * 32 / dt / 1e9, _mm256_cvtsi256_si32(si));
    return 0;
}
CEOF
cc -O2 -mavx2 -mfma "$out/peak.c" -o "$out/peak"
"$out/peak"
