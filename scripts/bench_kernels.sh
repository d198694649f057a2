#!/usr/bin/env bash
# Kernel micro-benchmark: matmul throughput at the Qwen2.5-0.5B / SmolLM2-135M shapes, plus a
# matmul-only estimate of a whole forward pass (distinct weights per layer, so decode reads DRAM).
# Usage: scripts/bench_kernels.sh [threads] [dtype ...]      (dtypes: f32 f16 bf16 q8_0 q4_0 q4_1)
# VK_BENCH_MICRO=1: per-call best/median timings of single matmuls (robust on a busy machine); VK_BENCH_MICRO_M
# sets the rows of the batched calls (default 64).
# VK_BENCH_ROWS=8,32: matmul-only batched decode at those row counts.
# VK_BENCH_LAYOUTS=1: row-major against packed weights, call by call, on the model's main shapes, weights
# streamed from DRAM (rows from VK_BENCH_ROWS, default 1,32). VK_BENCH_CFLAGS: extra compiler flags
# (e.g. -DVK_FLOAT_PANEL_MIN_M=32 to try another gemv/panel crossover).
# VK_BENCH_WALL=1: wall-clock time instead of CPU time / threads. VK_BENCH_ISA=0|1|2 forces an ISA.
# Weights are repacked into tiles of 16 outputs as the engine does (vk_packed_layout: VK_BF16_PANELS,
# VK_Q8_0_TILES, ...); VK_BENCH_ROW_MAJOR=1 measures the row-major kernels instead.
# Brief on purpose: the machine's cores are shared. Prints numbers, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${TMPDIR:-/tmp}/vk_bench_$$"
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT
cat > "$out/bench.c" <<'CEOF'
#define _GNU_SOURCE
#include "vk_kernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// With shared cores, wall time mostly measures the neighbours. By default time is process CPU
// time divided by the thread count, i.e. what dedicated cores would take (spin-waits included).
static int use_wall;
static int nthreads = 1;
static double now(void) {
    struct timespec t;
    clock_gettime(use_wall ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &t);
    return (t.tv_sec + t.tv_nsec * 1e-9) / (use_wall ? 1 : nthreads);
}

typedef struct { const char *name; int hidden, inter, heads, kv_heads, head_dim, layers, vocab; } model;
static const model models[] = {
    {"qwen2.5-0.5b", 896, 4864, 14, 2, 64, 24, 151936},
    {"smollm2-135m", 576, 1536, 9, 3, 64, 30, 49152},
};

static void *make_row_weights(vk_dtype t, int64_t n, int64_t k) {
    size_t rb = vk_row_bytes(t, k);
    uint8_t *w = aligned_alloc(64, (rb * n + 63) / 64 * 64);
    float *row = malloc(k * sizeof(float));
    for (int64_t r = 0; r < 64 && r < n; r++) {
        for (int64_t i = 0; i < k; i++) row[i] = (float)((r * 31 + i * 17) % 97) / 97.0f - 0.5f;
        vk_quantize_row(row, t, k, w + r * rb);
    }
    for (int64_t r = 64; r < n; r++) memcpy(w + r * rb, w + (r % 64) * rb, rb);
    free(row);
    return w;
}

// The engine repacks weights into tiles of 16 outputs at load; so does this benchmark, unless
// VK_BENCH_ROW_MAJOR is set (the row-major kernels, for comparison).
static vk_dtype kernel_dtype(vk_dtype t) { return getenv("VK_BENCH_ROW_MAJOR") ? t : vk_packed_layout(t); }

static void *make_weights(vk_dtype t, int64_t n, int64_t k) {
    void *rows = make_row_weights(t, n, k);
    if (kernel_dtype(t) == t) return rows;
    void *packed = aligned_alloc(64, (vk_packed_bytes(kernel_dtype(t), n, k) + 63) / 64 * 64);
    vk_pack_weights(rows, kernel_dtype(t), n, k, packed);
    free(rows);
    return packed;
}

// The linear layers of one decoder layer: q, k, v, o, gate, up, down as (n, k).
static void layer_shapes(const model *m, int64_t s[7][2]) {
    int64_t q = (int64_t)m->heads * m->head_dim, kv = (int64_t)m->kv_heads * m->head_dim;
    int64_t v[7][2] = {{q, m->hidden}, {kv, m->hidden}, {kv, m->hidden}, {m->hidden, q},
                       {m->inter, m->hidden}, {m->inter, m->hidden}, {m->hidden, m->inter}};
    memcpy(s, v, sizeof(v));
}

static void run_model(const model *md, vk_dtype t, const char *tname) {
    int64_t shapes[7][2];
    layer_shapes(md, shapes);
    void *w[64][7];
    double bytes_per_token = 0, flops_per_token = 0;
    for (int l = 0; l < md->layers; l++)
        for (int j = 0; j < 7; j++) {
            w[l][j] = make_weights(t, shapes[j][0], shapes[j][1]);
            bytes_per_token += (double)vk_row_bytes(t, shapes[j][1]) * shapes[j][0];
            flops_per_token += 2.0 * shapes[j][0] * shapes[j][1];
        }
    void *head = make_weights(t, md->vocab, md->hidden);
    double head_bytes = (double)vk_row_bytes(t, md->hidden) * md->vocab;
    const int64_t M = 512;
    float *x = aligned_alloc(64, M * md->inter * 4), *y = aligned_alloc(64, (size_t)md->vocab * 4 * 64 + M * md->inter * 4);
    for (int64_t i = 0; i < M * md->inter; i++) x[i] = (float)(i % 13) * 0.1f - 0.6f;

    // Decode: one token through every layer, then the LM head.
    for (int it = 0; it < 2; it++)
        for (int j = 0; j < 7; j++) vk_matmul(y, x, 1, shapes[j][1], w[0][j], kernel_dtype(t), shapes[j][0]);
    int reps = 0;
    double t0 = now(), layers_time = 0, head_time = 0;
    while (reps < 3 || now() - t0 < 0.5) {
        double a = now();
        for (int l = 0; l < md->layers; l++)
            for (int j = 0; j < 7; j++) vk_matmul(y, x, 1, shapes[j][1], w[l][j], kernel_dtype(t), shapes[j][0]);
        double b = now();
        vk_matmul(y, x, 1, md->hidden, head, kernel_dtype(t), md->vocab);
        head_time += now() - b;
        layers_time += b - a;
        reps++;
    }
    layers_time /= reps;
    head_time /= reps;
    printf("%-13s %-5s decode m=1 : layers %.2f GB/s, lm_head %.2f GB/s, matmul-only %.1f tok/s\n", md->name, tname,
           bytes_per_token / layers_time * 1e-9, head_bytes / head_time * 1e-9, 1.0 / (layers_time + head_time));

    // Batched decode: m rows through every layer and the LM head (VK_BENCH_ROWS=8,16,32).
    for (const char *r = getenv("VK_BENCH_ROWS"); r && *r;) {
        const int64_t rows = strtoll(r, (char **)&r, 10);
        if (*r == ',') r++;
        if (rows <= 0 || rows > 64) break;
        double b = now();
        for (int l = 0; l < md->layers; l++)
            for (int j = 0; j < 7; j++) vk_matmul(y, x, rows, shapes[j][1], w[l][j], kernel_dtype(t), shapes[j][0]);
        vk_matmul(y, x, rows, md->hidden, head, kernel_dtype(t), md->vocab);
        double bt = now() - b;
        printf("%-13s %-5s batch m=%lld: %.1f GFLOP/s, matmul-only %.1f tok/s\n", md->name, tname, (long long)rows,
               (flops_per_token + 2.0 * md->vocab * md->hidden) * rows / bt * 1e-9, rows / bt);
    }

    // Prefill: M tokens through every layer (LM head for the last row only).
    double a = now();
    for (int l = 0; l < md->layers; l++)
        for (int j = 0; j < 7; j++) vk_matmul(y, x, M, shapes[j][1], w[l][j], kernel_dtype(t), shapes[j][0]);
    vk_matmul(y, x, 1, md->hidden, head, kernel_dtype(t), md->vocab);
    double pt = now() - a;
    printf("%-13s %-5s prefill m=%lld: %.1f GFLOP/s, matmul-only %.1f tok/s\n", md->name, tname, (long long)M,
           flops_per_token * M / pt * 1e-9, M / pt);
    for (int j = 0; j < 7; j++) {
        double b = now();
        int r = 0;
        for (; r < 3; r++) vk_matmul(y, x, M, shapes[j][1], w[0][j], kernel_dtype(t), shapes[j][0]);
        double dt = (now() - b) / r;
        if (j == 0 || j == 4 || j == 6)
            printf("    m=%lld n=%lld k=%lld: %.1f GFLOP/s\n", (long long)M, (long long)shapes[j][0],
                   (long long)shapes[j][1], 2.0 * M * shapes[j][0] * shapes[j][1] / dt * 1e-9);
    }
    for (int l = 0; l < md->layers; l++)
        for (int j = 0; j < 7; j++) free(w[l][j]);
    free(head);
    free(x);
    free(y);
}

static double wall(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmp_double(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }

// Short timed calls, best and median of many: robust when neighbours steal the cores.
static void run_micro(vk_dtype t, const char *tname) {
    enum { MATS = 8, CALLS = 160 };
    const int64_t n = 4864, k = 896;
    // 64 rows by default (VK_BENCH_MICRO_M overrides): short enough to dodge preemption.
    const int64_t mm = getenv("VK_BENCH_MICRO_M") ? atoll(getenv("VK_BENCH_MICRO_M")) : 64, M = mm > 512 ? mm : 512;
    void *w[MATS];
    for (int i = 0; i < MATS; i++) w[i] = make_weights(t, n, k);
    float *x = aligned_alloc(64, M * n * 4), *y = aligned_alloc(64, M * n * 4);
    for (int64_t i = 0; i < M * n; i++) x[i] = (float)(i % 13) * 0.1f - 0.6f;
    double times[CALLS];
    for (int r = 0; r < CALLS; r++) {
        double a = wall();
        vk_matmul(y, x, 1, k, w[r % MATS], kernel_dtype(t), n);
        times[r] = wall() - a;
    }
    qsort(times, CALLS, sizeof(double), cmp_double);
    double bytes = (double)vk_row_bytes(t, k) * n;
    printf("%-5s decode  m=1   n=%lld k=%lld: best %.1f GB/s, median %.1f GB/s\n", tname, (long long)n, (long long)k,
           bytes / times[0] * 1e-9, bytes / times[CALLS / 2] * 1e-9);
    int64_t shapes[3][2] = {{896, 896}, {4864, 896}, {896, 4864}};
    for (int s = 0; s < 3; s++) {
        int64_t sn = shapes[s][0], sk = shapes[s][1];
        double best = 1e9;
        for (int r = 0; r < 21; r++) {
            double a = wall();
            vk_matmul(y, x, mm, sk, w[r % MATS], kernel_dtype(t), sn);
            double dt = wall() - a;
            best = dt < best ? dt : best;
        }
        printf("%-5s m=%lld n=%lld k=%lld: best %.1f GFLOP/s\n", tname, (long long)mm, (long long)sn, (long long)sk,
               2.0 * mm * sn * sk / best * 1e-9);
    }
    for (int i = 0; i < MATS; i++) free(w[i]);
    free(x);
    free(y);
}

// Row-major against packed weights (tiles or panels), alternating call by call (each side's best of many), on
// a model's three main shapes. Each call multiplies every one of enough distinct copies of the matrix that the
// weights stream from DRAM (~64 MB), as in decode. Rows from VK_BENCH_ROWS (default 1,32). Wall time: CPU time
// would leave out the pool's waits for memory.
static void run_layouts(const model *md, vk_dtype t, const char *tname) {
    int64_t shapes[7][2];
    layer_shapes(md, shapes);
    const int pick[3] = {0, 4, 6}; // q (hidden x hidden-ish), gate/up, down
    const vk_dtype packed = vk_packed_layout(t);
    if (packed == t) { printf("%s has no packed layout\n", tname); return; }
    for (int s = 0; s < 3; s++) {
        const int64_t n = shapes[pick[s]][0], k = shapes[pick[s]][1];
        const size_t rb = vk_row_bytes(t, k) * n;
        const int copies = (int)(((size_t)64 << 20) / rb) + 1;
        void **row = malloc(copies * sizeof(void *)), **pk = malloc(copies * sizeof(void *));
        for (int c = 0; c < copies; c++) {
            row[c] = make_row_weights(t, n, k);
            pk[c] = aligned_alloc(64, (vk_packed_bytes(packed, n, k) + 63) / 64 * 64);
            vk_pack_weights(row[c], packed, n, k, pk[c]);
        }
        float *x = aligned_alloc(64, 64 * k * 4), *y = aligned_alloc(64, 64 * n * 4);
        for (int64_t i = 0; i < 64 * k; i++) x[i] = (float)(i % 13) * 0.1f - 0.6f;
        const char *list = getenv("VK_BENCH_ROWS") ? getenv("VK_BENCH_ROWS") : "1,32";
        for (const char *r = list; r && *r;) {
            const int64_t m = strtoll(r, (char **)&r, 10);
            if (*r == ',') r++;
            if (m <= 0 || m > 64) break;
            double best[2] = {1e9, 1e9};
            for (int call = 0; call < 24; call++)
                for (int side = 0; side < 2; side++) {
                    double a = wall();
                    for (int c = 0; c < copies; c++) vk_matmul(y, x, m, k, side ? pk[c] : row[c], side ? packed : t, n);
                    const double dt = (wall() - a) / copies;
                    best[side] = dt < best[side] ? dt : best[side];
                }
            printf("%-13s %-5s m=%-2lld n=%-5lld k=%-5lld x%-3d row-major %6.1f GFLOP/s %5.1f GB/s | packed %6.1f GFLOP/s "
                   "%5.1f GB/s | %.2fx\n", md->name, tname, (long long)m, (long long)n, (long long)k, copies,
                   2.0 * m * n * k / best[0] * 1e-9, rb / best[0] * 1e-9, 2.0 * m * n * k / best[1] * 1e-9,
                   rb / best[1] * 1e-9, best[0] / best[1]);
        }
        for (int c = 0; c < copies; c++) { free(row[c]); free(pk[c]); }
        free(row); free(pk); free(x); free(y);
    }
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    vk_init(threads);
    nthreads = vk_num_threads();
    use_wall = getenv("VK_BENCH_WALL") != NULL;
    if (getenv("VK_BENCH_ISA")) vk_force_isa((vk_isa)atoi(getenv("VK_BENCH_ISA")));
    printf("threads %d, isa %s, %s time\n", nthreads, vk_isa_name(vk_active_isa()),
           use_wall || getenv("VK_BENCH_LAYOUTS") ? "wall" : "cpu/threads");
    const char *names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"};
    for (int a = 2; a < argc; a++) {
        const char *which = argv[a];
        for (int t = 0; t < 6; t++) {
            if (strcmp(which, names[t]) != 0) continue;
            const model *md = &models[strcmp(names[t], "q4_1") == 0 ? 1 : 0];
            if (getenv("VK_BENCH_MICRO")) run_micro((vk_dtype)t, names[t]);
            else if (getenv("VK_BENCH_LAYOUTS")) run_layouts(md, (vk_dtype)t, names[t]);
            else run_model(md, (vk_dtype)t, names[t]);
        }
    }
    return 0;
}
CEOF
clang -std=c11 -O3 ${VK_BENCH_CFLAGS:-} -fno-math-errno -ffp-contract=fast -ISources/CKernels/include -ISources/CKernels \
    Sources/CKernels/*.c "$out/bench.c" -o "$out/bench" -lpthread -lm
threads="${1:-2}"
shift || true
if [ "$#" -eq 0 ]; then set -- bf16 q8_0 q4_1; fi
if [ -n "${VK_BENCH_KEEP:-}" ]; then cp "$out/bench" "$VK_BENCH_KEEP"; fi
"$out/bench" "$threads" "$@"
