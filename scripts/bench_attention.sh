#!/usr/bin/env bash
# Decode paged-attention micro-benchmark (vk_paged_attention alone) at the SmolLM2-135M and Qwen2.5-0.5B
# head shapes: 32 rows at 128 positions and 1 row at 2048, fp16 cache in blocks of 16 scattered through
# the pool, one cache per layer (so K and V stream from DRAM as in a model), and one "hot" layer run
# again and again (the cache stays in L2/L3: the arithmetic alone). Wall time per step, all layers.
# Usage: scripts/bench_attention.sh [threads]      Prints numbers, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/vk_attn_bench_$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
cat > "$out/bench.c" <<'CEOF'
#define _GNU_SOURCE
#include "vk_kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double wall(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void run(const char *name, int seqs, int ctx, int heads, int kv_heads, int hd, int layers) {
    const int bs = 16, max_blocks = (ctx + bs - 1) / bs, blocks = seqs * max_blocks;
    const size_t elems = (size_t)blocks * bs * kv_heads * hd;
    uint16_t **k = malloc(layers * sizeof(void *)), **v = malloc(layers * sizeof(void *));
    for (int l = 0; l < layers; l++) {
        k[l] = aligned_alloc(64, elems * 2);
        v[l] = aligned_alloc(64, elems * 2);
        for (size_t i = 0; i < elems; i++) {
            k[l][i] = vk_f32_to_f16((float)((i * 7919) % 1000) * 0.002f - 1);
            v[l][i] = vk_f32_to_f16((float)((i * 104729) % 1000) * 0.002f - 1);
        }
    }
    int32_t *starts = malloc((seqs + 1) * 4), *lens = malloc(seqs * 4), *table = malloc(blocks * 4);
    for (int s = 0; s <= seqs; s++) starts[s] = s;
    for (int s = 0; s < seqs; s++) lens[s] = ctx;
    // Scattered physical blocks: 37 is coprime with every block count used here.
    for (int i = 0; i < blocks; i++) table[i] = (int32_t)(((int64_t)i * 37) % blocks);
    float *q = malloc((size_t)seqs * heads * hd * 4), *o = malloc((size_t)seqs * heads * hd * 4);
    for (int i = 0; i < seqs * heads * hd; i++) q[i] = (float)(i % 17) * 0.05f - 0.4f;
    vk_attn_meta meta = {.num_seqs = seqs, .query_start = starts, .seq_lens = lens, .block_tables = table,
                         .max_blocks_per_seq = max_blocks, .block_size = bs};
    double best = 1e9, total = 0;
    int reps = 0;
    for (double t0 = wall(); reps < 5 || wall() - t0 < 1.5; reps++) {
        double a = wall();
        for (int l = 0; l < layers; l++) vk_paged_attention(o, q, k[l], v[l], VK_F16, heads, kv_heads, hd, 0.125f, &meta);
        double dt = wall() - a;
        total += dt;
        best = dt < best ? dt : best;
    }
    printf("%-32s best %7.3f ms, mean %7.3f ms per step (%d layers)\n", name, best * 1e3, total / reps * 1e3, layers);
    for (int l = 0; l < layers; l++) { free(k[l]); free(v[l]); }
    free(k); free(v); free(starts); free(lens); free(table); free(q); free(o);
}

int main(int argc, char **argv) {
    vk_init(argc > 1 ? atoi(argv[1]) : 2);
    run("smollm2 32 rows x 128 positions", 32, 128, 9, 3, 64, 30);
    run("smollm2 same, one hot layer", 32, 128, 9, 3, 64, 1);
    run("smollm2 1 row x 2048 positions", 1, 2048, 9, 3, 64, 30);
    run("qwen2.5 32 rows x 128 positions", 32, 128, 14, 2, 64, 24);
    run("qwen2.5 1 row x 2048 positions", 1, 2048, 14, 2, 64, 24);
    return 0;
}
CEOF
clang -std=c11 -O3 -fno-math-errno -ffp-contract=fast -ISources/CKernels/include -ISources/CKernels \
    Sources/CKernels/*.c "$out/bench.c" -o "$out/bench" -lpthread -lm
"$out/bench" "${1:-2}"
