// AVX2 + FMA + F16C kernel table. Compiled with target attributes so the binary stays portable;
// the dispatcher only selects it on CPUs that report these features.
#include "vk_avx2.h"
#if VK_X86

// ---- fp32 / f16 / bf16 weights -------------------------------------------------------------
AVX2_INLINE __m256 load8w(const uint8_t *row, int64_t i, const int wt) {
    if (wt == VK_F32) return _mm256_loadu_ps((const float *)row + i);
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + i));
    if (wt == VK_BF16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    return _mm256_cvtph_ps(h);
}

AVX2_INLINE float load1w(const uint8_t *row, int64_t i, const int wt) {
    if (wt == VK_F32) return ((const float *)row)[i];
    uint16_t h = ((const uint16_t *)row)[i];
    if (wt == VK_BF16) return vk_bits_f32((uint32_t)h << 16);
    return f16_scalar(h);
}

// Decode streams every weight once and is bound by memory, but rows are short (1-10 KB) and read
// four at a time, so the hardware prefetcher never gets ahead of them. Each loop therefore also
// prefetches the rows it will read a little later (prefetch_rows ahead): about 32 KB in flight.
// Past the end of a work chunk this warms the next chunk; past the end of W it only wastes a few
// lines (prefetches never fault).
AVX2_INLINE int64_t prefetch_rows(size_t rb) {
    int64_t rows = (int64_t)((32768 + rb - 1) / rb);
    rows = (rows + 3) & ~(int64_t)3;
    return rows < 4 ? 4 : rows > 64 ? 64 : rows;
}


// Prefetches [p, p + bytes) one line at a time (bytes is small and a compile-time constant).
AVX2_INLINE void prefetch_span(const uint8_t *p, const int bytes) {
    for (int off = 0; off < bytes; off += 64) _mm_prefetch((const char *)p + off, _MM_HINT_T0);
}

// res[r] = dot(x, W row r) for R consecutive rows; several rows in flight hide load latency.
// pf (or NULL) points at rows to prefetch, walked at the same pace as these R rows. One
// accumulator per row, like float_multi_rows: a row's result is the same whatever m.
AVX2_INLINE void dot_rows(float *res, const float *x, const uint8_t *w, size_t rb, int64_t k, const int wt,
                          const int R, const uint8_t *pf) {
    const int es = wt == VK_F32 ? 4 : 2;
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= k; i += 8) {
        if (pf) prefetch_span(pf + i * R * es, 8 * R * es);
        __m256 x0 = _mm256_loadu_ps(x + i);
        for (int r = 0; r < R; r++) acc[r] = _mm256_fmadd_ps(load8w(w + r * rb, i, wt), x0, acc[r]);
    }
    for (int r = 0; r < R; r++) {
        float s = hsum_ps(acc[r]);
        for (int64_t t = i; t < k; t++) s += x[t] * load1w(w + r * rb, t, wt);
        res[r] = s;
    }
}

AVX2_INLINE void gemv_float_t(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                              size_t rb, int64_t n0, int64_t n1, const int wt) {
    float res[4];
    const int64_t ahead = prefetch_rows(rb);
    int64_t j = n0;
    for (; j + 4 <= n1; j += 4) {
        const uint8_t *pf = w + (size_t)(j + ahead) * rb;
        for (int64_t i = 0; i < m; i++) {
            dot_rows(res, x + i * k, w + (size_t)j * rb, rb, k, wt, 4, i == 0 ? pf : NULL);
            for (int r = 0; r < 4; r++) y[i * ldy + j + r] = res[r];
        }
    }
    for (; j < n1; j++)
        for (int64_t i = 0; i < m; i++) {
            dot_rows(res, x + i * k, w + (size_t)j * rb, rb, k, wt, 1, NULL);
            y[i * ldy + j] = res[0];
        }
}

// Several x rows (a small decode batch): each weight vector is loaded and widened once for all MX
// rows, R weight rows at a time (MX * R accumulators must fit the 16 registers).
AVX2_INLINE void float_multi_rows(float *y, int64_t ldy, const float *x, int64_t k, const uint8_t *w, size_t rb,
                                  int64_t j, const int wt, const int MX, const int R, const uint8_t *pf) {
    const int es = wt == VK_F32 ? 4 : 2;
    __m256 acc[8][2];
    for (int i = 0; i < MX; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    int64_t t = 0;
    for (; t + 8 <= k; t += 8) {
        if (pf) prefetch_span(pf + t * R * es, 8 * R * es);
        __m256 wv[2];
        for (int r = 0; r < R; r++) wv[r] = load8w(w + (size_t)(j + r) * rb, t, wt);
        for (int i = 0; i < MX; i++) {
            __m256 xv = _mm256_loadu_ps(x + i * k + t);
            for (int r = 0; r < R; r++) acc[i][r] = _mm256_fmadd_ps(wv[r], xv, acc[i][r]);
        }
    }
    for (int i = 0; i < MX; i++)
        for (int r = 0; r < R; r++) {
            float sum = hsum_ps(acc[i][r]);
            for (int64_t u = t; u < k; u++) sum += x[i * k + u] * load1w(w + (size_t)(j + r) * rb, u, wt);
            y[i * ldy + j + r] = sum;
        }
}

AVX2_INLINE void gemv_float_multi_t(float *y, int64_t ldy, const float *x, int64_t k, const uint8_t *w, size_t rb,
                                    int64_t n0, int64_t n1, const int wt, const int MX, const int R) {
    const int64_t ahead = prefetch_rows(rb);
    int64_t j = n0;
    for (; j + R <= n1; j += R)
        float_multi_rows(y, ldy, x, k, w, rb, j, wt, MX, R, w + (size_t)(j + ahead) * rb);
    for (; j < n1; j++) float_multi_rows(y, ldy, x, k, w, rb, j, wt, MX, 1, NULL);
}

#define VK_MULTI_SWITCH(FN, M, ...)                                                                                    \
    switch (M) {                                                                                                       \
    case 2: FN(__VA_ARGS__, 2, 2); break;                                                                              \
    case 3: FN(__VA_ARGS__, 3, 2); break;                                                                              \
    case 4: FN(__VA_ARGS__, 4, 2); break;                                                                              \
    case 5: FN(__VA_ARGS__, 5, 2); break;                                                                              \
    case 6: FN(__VA_ARGS__, 6, 1); break;                                                                              \
    default: FN(__VA_ARGS__, 7, 1); break;                                                                             \
    }

// Eight or more rows (up to the driver's gemv limit): dot products held in registers, 6 activation
// rows x 2 weight rows at a time (12 accumulators; per 8 columns 8 loads feed 12 FMAs, where a
// group of 8 rows against one weight row needs 9 loads for 8 FMAs and is bound by loads). k runs
// in chunks so a tile of weight rows stays in L1 across all row groups and each group's activation
// rows stay in L1 across the tile. Between chunks the vector accumulators are parked in memory:
// every (row, weight row) pair still sums in dot_rows' order, so rows are bit-identical to m = 1.
#ifndef VK_FB_TILE // overridable for kernel benchmarks
#define VK_FB_TILE 16 // weight rows per tile (8 KB of bf16 per chunk)
#endif
#ifndef VK_FB_KC
#define VK_FB_KC 256 // columns per chunk (a multiple of 8)
#endif

AVX2_INLINE void float_block(__m256 *acc, const float *x, int64_t k, const uint8_t *w, size_t rb, int64_t t0,
                             int64_t t1, bool fresh, const int wt, const int MX, const int R) {
    __m256 c[6][2];
    for (int i = 0; i < MX; i++)
        for (int r = 0; r < R; r++) c[i][r] = fresh ? _mm256_setzero_ps() : acc[i * 2 + r];
    for (int64_t t = t0; t < t1; t += 8) {
        __m256 wv[2];
        for (int r = 0; r < R; r++) wv[r] = load8w(w + r * rb, t, wt);
        for (int i = 0; i < MX; i++) {
            const __m256 xv = _mm256_loadu_ps(x + i * k + t);
            for (int r = 0; r < R; r++) c[i][r] = _mm256_fmadd_ps(wv[r], xv, c[i][r]);
        }
    }
    for (int i = 0; i < MX; i++)
        for (int r = 0; r < R; r++) acc[i * 2 + r] = c[i][r];
}

AVX2_INLINE void float_block_rows(__m256 *acc, const float *x, int64_t k, const uint8_t *w, size_t rb, int64_t t0,
                                  int64_t t1, bool fresh, const int wt, const int MX, const int R) {
    switch (MX) {
    case 1: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 1, R); break;
    case 2: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 2, R); break;
    case 3: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 3, R); break;
    case 4: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 4, R); break;
    case 5: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 5, R); break;
    default: float_block(acc, x, k, w, rb, t0, t1, fresh, wt, 6, R); break;
    }
}

AVX2_INLINE void gemv_float_blocked(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                                    size_t rb, int64_t n0, int64_t n1, const int wt) {
    const int es = wt == VK_F32 ? 4 : 2;
    const int64_t groups = (m + 5) / 6, kv = k & ~(int64_t)7;
    // Parked accumulators: [group][weight row pair][6 rows x 2 weight rows].
    __m256 *parked = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)(groups * (VK_FB_TILE / 2) * 12) * sizeof(__m256));
    for (int64_t j0 = n0; j0 < n1; j0 += VK_FB_TILE) {
        const int64_t j1 = j0 + VK_FB_TILE < n1 ? j0 + VK_FB_TILE : n1;
        for (int64_t t0 = 0; t0 < kv || t0 == 0; t0 += VK_FB_KC) {
            const int64_t t1 = t0 + VK_FB_KC < kv ? t0 + VK_FB_KC : kv;
            // Warm the next chunk of this tile (or the next tile's first chunk) while this one runs.
            const bool last = t1 >= kv;
            const int64_t pj0 = last ? j1 : j0, pt = last ? 0 : t1;
            const int64_t pj1 = pj0 + VK_FB_TILE < n1 ? pj0 + VK_FB_TILE : n1;
            const int64_t plen = (kv - pt < VK_FB_KC ? kv - pt : VK_FB_KC) * es;
            for (int64_t j = pj0; j < pj1; j++)
                for (int64_t off = 0; off < plen; off += 64) _mm_prefetch((const char *)(w + (size_t)j * rb + pt * es + off), _MM_HINT_T0);
            for (int64_t g = 0; g < groups; g++) {
                const int64_t i0 = g * 6;
                const int mx = (int)(m - i0 < 6 ? m - i0 : 6);
                for (int64_t j = j0; j < j1; j += 2) {
                    __m256 *acc = parked + (g * (VK_FB_TILE / 2) + (j - j0) / 2) * 12;
                    const uint8_t *wj = w + (size_t)j * rb;
                    const int nr = j + 2 <= j1 ? 2 : 1;
                    if (nr == 2) float_block_rows(acc, x + i0 * k, k, wj, rb, t0, t1, t0 == 0, wt, mx, 2);
                    else float_block_rows(acc, x + i0 * k, k, wj, rb, t0, t1, t0 == 0, wt, mx, 1);
                    if (!last) continue;
                    for (int i = 0; i < mx; i++)
                        for (int r = 0; r < nr; r++) {
                            const float *xi = x + (i0 + i) * k;
                            float sum = hsum_ps(acc[i * 2 + r]);
                            for (int64_t u = kv; u < k; u++) sum += xi[u] * load1w(wj + r * rb, u, wt);
                            y[(i0 + i) * ldy + j + r] = sum;
                        }
                }
            }
            if (last) break;
        }
    }
}

AVX2_INLINE void gemv_float_any(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                                size_t rb, int64_t n0, int64_t n1, const int wt) {
    if (m == 1) {
        gemv_float_t(y, ldy, x, m, k, w, rb, n0, n1, wt);
        return;
    }
    if (m > 7) {
        gemv_float_blocked(y, ldy, x, m, k, w, rb, n0, n1, wt);
        return;
    }
    VK_MULTI_SWITCH(gemv_float_multi_t, m, y, ldy, x, k, w, rb, n0, n1, wt)
}

VK_TARGET_AVX2 static void gemv_float(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                                      vk_dtype wt, size_t rb, int64_t n0, int64_t n1) {
    switch (wt) {
    case VK_F32: gemv_float_any(y, ldy, x, m, k, w, rb, n0, n1, VK_F32); break;
    case VK_BF16: gemv_float_any(y, ldy, x, m, k, w, rb, n0, n1, VK_BF16); break;
    default: gemv_float_any(y, ldy, x, m, k, w, rb, n0, n1, VK_F16); break;
    }
}

// ---- quantized weights x 16-bit activations (the default path) --------------------------------
// Each weight block is widened to 16 integers and dotted exactly with the activation block in
// int32 (vpmaddwd), then scaled once: about half the instructions of widening to fp32.
// Q4_0 folds its -8 into the integers; Q4_1's min m multiplies the block's activation sum.
AVX2_INLINE void widen_block16(const uint8_t *row, int64_t b, const int wt, __m256i *lo, __m256i *hi) {
    if (wt == VK_Q8_0) {
        const int8_t *qs = ((const vk_block_q8_0 *)row + b)->qs;
        *lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)qs));
        *hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(qs + 16)));
        return;
    }
    const uint8_t *qs = wt == VK_Q4_0 ? ((const vk_block_q4_0 *)row + b)->qs : ((const vk_block_q4_1 *)row + b)->qs;
    // Byte i holds values i (low nibble) and i + 16 (high nibble); widened to a 16-bit lane with a
    // zero upper byte, the high nibble is just the lane shifted right by 4. The empty asm keeps
    // clang from splitting the nibbles first and widening twice (6 instructions instead of 4; that
    // made the Q4 batch-1 gemv 1.3-1.4x slower, measured in isolation).
    __m256i both = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
    __asm__("" : "+x"(both));
    *lo = _mm256_and_si256(both, _mm256_set1_epi16(0x0F));
    *hi = _mm256_srli_epi16(both, 4);
    if (wt == VK_Q4_0) {
        *lo = _mm256_sub_epi16(*lo, _mm256_set1_epi16(8));
        *hi = _mm256_sub_epi16(*hi, _mm256_set1_epi16(8));
    }
}

// Four rows' 8 int32 partial sums -> their four totals, with unpacks (vphaddd is slower on Zen 3:
// the m = 1 gemv ran ~6% faster this way in isolation).
AVX2_INLINE __m128i reduce4_epi32(__m256i p0, __m256i p1, __m256i p2, __m256i p3) {
    const __m256i s01 = _mm256_add_epi32(_mm256_unpacklo_epi32(p0, p1), _mm256_unpackhi_epi32(p0, p1));
    const __m256i s23 = _mm256_add_epi32(_mm256_unpacklo_epi32(p2, p3), _mm256_unpackhi_epi32(p2, p3));
    const __m256i s = _mm256_add_epi32(_mm256_unpacklo_epi64(s01, s23), _mm256_unpackhi_epi64(s01, s23));
    return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}

AVX2_INLINE int block_bytes(const int wt) {
    return wt == VK_Q8_0 ? (int)sizeof(vk_block_q8_0) : wt == VK_Q4_0 ? (int)sizeof(vk_block_q4_0) : (int)sizeof(vk_block_q4_1);
}

AVX2_INLINE float block_scale(const uint8_t *row, int64_t b, const int wt) {
    if (wt == VK_Q8_0) return f16_scalar(((const vk_block_q8_0 *)row + b)->d);
    if (wt == VK_Q4_0) return f16_scalar(((const vk_block_q4_0 *)row + b)->d);
    return f16_scalar(((const vk_block_q4_1 *)row + b)->d);
}

// Every (activation row, weight row) pair, whatever the path, accumulates per block
//   acc = fma(float(exact integer dot), d * s, acc), then for Q4_1 acc = fma(m, xs, acc)
// with the pairs laid out in vector lanes: one fixed rounding order, so a row's result is
// bit-identical whatever batch it runs in. One row (decode) reduces four pairs' integer dots into
// lanes per block (q16_rows4); batches keep the pairs in lanes from the start (q16p_t).

// One activation row against four weight rows (lanes 0-3).
AVX2_INLINE void q16_rows4(float *y, const vk_block_q16a *xa, int64_t nb, const uint8_t *w, size_t rb,
                           const uint8_t *pf, const int wt) {
    __m128 acc = _mm_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (pf) prefetch_span(pf + b * 4 * block_bytes(wt), 4 * block_bytes(wt));
        // Exact integer dots (|sum| <= 32 * 128 * 32767 < 2^31), 8 partial sums per row.
        const __m256i xlo = _mm256_loadu_si256((const __m256i *)xa[b].q);
        const __m256i xhi = _mm256_loadu_si256((const __m256i *)(xa[b].q + 16));
        __m256i p[4];
        for (int r = 0; r < 4; r++) {
            __m256i lo, hi;
            widen_block16(w + r * rb, b, wt, &lo, &hi);
            p[r] = _mm256_add_epi32(_mm256_madd_epi16(lo, xlo), _mm256_madd_epi16(hi, xhi));
        }
        const __m128i sum = reduce4_epi32(p[0], p[1], p[2], p[3]);
        __m128 d, mn = _mm_setzero_ps();
        if (wt == VK_Q4_1) {
            // The four rows' (d, m) half pairs, widened at once and split into d and m lanes.
            int32_t h[4];
            for (int r = 0; r < 4; r++) memcpy(&h[r], (const vk_block_q4_1 *)(w + r * rb) + b, sizeof(int32_t));
            const __m256 dm = _mm256_permutevar8x32_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)h)),
                                                       _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
            d = _mm256_castps256_ps128(dm);
            mn = _mm256_extractf128_ps(dm, 1);
        } else {
            d = _mm_setr_ps(block_scale(w, b, wt), block_scale(w + rb, b, wt), block_scale(w + 2 * rb, b, wt),
                            block_scale(w + 3 * rb, b, wt));
        }
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(sum), _mm_mul_ps(d, _mm_set1_ps(xa[b].s)), acc);
        if (wt == VK_Q4_1) acc = _mm_fmadd_ps(mn, _mm_set1_ps(xa[b].xs), acc);
    }
    _mm_storeu_ps(y, acc);
}

// Batched quantized gemv, 16 outputs at a time: per chunk of blocks, 16 weight rows are widened
// once into int16 pairs, 8 outputs per vector, so one vpmaddwd multiplies 8 outputs by one
// broadcast activation pair and the block sums stay in lanes (the kernel it replaced put one output's
// 32 weights in a vector and reduced 8 vectors horizontally per block). Zen 3 issues two vpmaddwd per
// cycle, twice its fp32 FMA rate: at 32 rows in isolation 1.3-1.45x the old kernel, and 10-25% more
// once the float accumulators stayed in registers.
// Block dots are exact integers and each block's float steps are q16_rows4's, so every row is
// bit-identical to m = 1.
#define VK_Q16P_CB 8 // most blocks per chunk: 16 outputs x 8 blocks of packed pairs = 8 KB, in L1
#ifndef VK_Q16P_MB // overridable for kernel benchmarks
#define VK_Q16P_MB 126 // rows per row block, a multiple of 3 (prefill; ~128 beat 256 and unblocked by 5-20% at 2048 rows)
#endif

// out[p] = (r0[p], ..., r7[p]) for 8 rows of 8 int32 lanes.
AVX2_INLINE void transpose8_epi32(const __m256i r[8], __m256i *out) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int h = 0; h < 2; h++) {
        u[4 * h + 0] = _mm256_unpacklo_epi64(t[4 * h], t[4 * h + 2]);
        u[4 * h + 1] = _mm256_unpackhi_epi64(t[4 * h], t[4 * h + 2]);
        u[4 * h + 2] = _mm256_unpacklo_epi64(t[4 * h + 1], t[4 * h + 3]);
        u[4 * h + 3] = _mm256_unpackhi_epi64(t[4 * h + 1], t[4 * h + 3]);
    }
    for (int p = 0; p < 4; p++) {
        out[p] = _mm256_permute2x128_si256(u[p], u[4 + p], 0x20);
        out[p + 4] = _mm256_permute2x128_si256(u[p], u[4 + p], 0x31);
    }
}

// Blocks [b0, b1) of 16 weight rows as int16 pairs: pk[(b - b0) * 32 + c * 16 + p] holds values 2p
// and 2p + 1 of outputs 8c..8c+7; dm[(b - b0) * 32 + 8c + o] their scales d, and + 16 their mins.
// Outputs from `rows` on (a tail tile) are zero.
AVX2_INLINE void q16p_repack(__m256i *pk, float *dm, const uint8_t *w, size_t rb, int rows, int64_t b0, int64_t b1,
                             const int wt) {
    for (int64_t b = b0; b < b1; b++, pk += 32, dm += 32) {
        for (int c = 0; c < 2; c++) {
            __m256i lo[8], hi[8];
            uint16_t dh[8] = {0}, mh[8] = {0};
            for (int o = 0; o < 8; o++) {
                lo[o] = hi[o] = _mm256_setzero_si256();
                if (8 * c + o >= rows) continue;
                const uint8_t *row = w + (size_t)(8 * c + o) * rb;
                widen_block16(row, b, wt, &lo[o], &hi[o]);
                memcpy(&dh[o], row + (size_t)b * block_bytes(wt), sizeof(uint16_t));
                if (wt == VK_Q4_1) mh[o] = ((const vk_block_q4_1 *)row + b)->m;
            }
            transpose8_epi32(lo, pk + 16 * c);
            transpose8_epi32(hi, pk + 16 * c + 8);
            _mm256_storeu_ps(dm + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh)));
            if (wt == VK_Q4_1) _mm256_storeu_ps(dm + 16 + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)mh)));
        }
    }
}

// ---- quantized tiles (VK_Q8_0_TILES, VK_Q4_0_TILES, VK_Q4_1_TILES; layout at vk_pack_weights) ----
AVX2_INLINE int tile_block_bytes(const int wt) { return 16 * block_bytes(wt); }

// Column pair p of a tile block as int16 pairs: lo for rows 0-7, hi for rows 8-15 (one 32-bit lane
// per row, the pair's two values).
AVX2_INLINE void widen_tile_pair(const uint8_t *tb, int p, const int wt, __m256i *lo, __m256i *hi) {
    const uint8_t *q = tb + vk_tile_values_offset((vk_dtype)wt);
    if (wt == VK_Q8_0) {
        *lo = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + 32 * p)));
        *hi = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + 32 * p + 16)));
        return;
    }
    __m256i both = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(q + 16 * p)));
    __asm__("" : "+x"(both)); // as in widen_block16: widen once, then split the nibbles
    *lo = _mm256_and_si256(both, _mm256_set1_epi16(0x0F));
    *hi = _mm256_srli_epi16(both, 4);
    if (wt == VK_Q4_0) {
        *lo = _mm256_sub_epi16(*lo, _mm256_set1_epi16(8));
        *hi = _mm256_sub_epi16(*hi, _mm256_set1_epi16(8));
    }
}

// q16p_repack for tiles: the pairs are already in lanes, so widening is all that is left.
AVX2_INLINE void q16p_repack_tiles(__m256i *pk, float *dm, const uint8_t *tile, int64_t b0, int64_t b1, const int wt) {
    for (int64_t b = b0; b < b1; b++, pk += 32, dm += 32) {
        const uint8_t *tb = tile + (size_t)b * tile_block_bytes(wt);
        for (int p = 0; p < 16; p++) widen_tile_pair(tb, p, wt, pk + p, pk + 16 + p);
        for (int c = 0; c < 2; c++) {
            _mm256_storeu_ps(dm + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(tb + 16 * c))));
            if (wt == VK_Q4_1) _mm256_storeu_ps(dm + 16 + 8 * c, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(tb + 32 + 16 * c))));
        }
    }
}

// R activation rows against T whole tiles (R x T <= 4), straight from the tiles: per block and 16
// outputs the steps of q16p_rows (same integer dot, same float order), so these few rows give the
// bits of any batch. The tiles share each broadcast activation pair and the rows each widened tile:
// for one row, two tiles ran 1.1-1.3x one when streaming from DRAM (2.2x the row-major q16_rows4
// with the weights in L2), four 1.2-1.25x two (scripts/bench_kernels_ab.sh, one thread, weights from
// DRAM). Rows are ldy apart in y, nb blocks apart in xa.
AVX2_INLINE void q16_tiles_rows(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t nb, const uint8_t *tile,
                                size_t tile_stride, const int wt, const int R, const int T) {
    __m256 f[4][2];
    for (int i = 0; i < R * T; i++) f[i][0] = f[i][1] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *tb[4];
        __m256i ia[4][2];
        for (int t = 0; t < T; t++) tb[t] = tile + t * tile_stride + (size_t)b * tile_block_bytes(wt);
        for (int i = 0; i < R * T; i++) ia[i][0] = ia[i][1] = _mm256_setzero_si256();
        for (int p = 0; p < 16; p++) {
            __m256i xb[3];
            for (int r = 0; r < R; r++) {
                int32_t pair;
                memcpy(&pair, xa[r * nb + b].q + 2 * p, sizeof(pair));
                xb[r] = _mm256_set1_epi32(pair);
            }
            for (int t = 0; t < T; t++) {
                __m256i lo, hi;
                widen_tile_pair(tb[t], p, wt, &lo, &hi);
                for (int r = 0; r < R; r++) {
                    ia[r * T + t][0] = _mm256_add_epi32(ia[r * T + t][0], _mm256_madd_epi16(lo, xb[r]));
                    ia[r * T + t][1] = _mm256_add_epi32(ia[r * T + t][1], _mm256_madd_epi16(hi, xb[r]));
                }
            }
        }
        for (int r = 0; r < R; r++) {
            const __m256 s = _mm256_set1_ps(xa[r * nb + b].s);
            for (int t = 0; t < T; t++)
                for (int c = 0; c < 2; c++) {
                    __m256 *fc = &f[r * T + t][c];
                    const __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(tb[t] + 16 * c))), s);
                    *fc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r * T + t][c]), scale, *fc);
                    if (wt == VK_Q4_1)
                        *fc = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(tb[t] + 32 + 16 * c))),
                                              _mm256_set1_ps(xa[r * nb + b].xs), *fc);
                }
        }
    }
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++)
            for (int c = 0; c < 2; c++) _mm256_storeu_ps(y + r * ldy + 16 * t + 8 * c, f[r * T + t][c]);
}

// R (<= 3) activation rows against 16 packed outputs over blocks [b0, b1), continuing from acc (R
// rows of 16 floats) in the order of q16_rows4: per block, acc = fma(dot, d * s, acc), then
// fma(min, xs, acc). 6 integer and 6 float accumulators stay in registers across the chunk (4 rows
// with the float ones in memory ran 10-25% slower). The last chunk (y != NULL) writes its first
// `cols` outputs to y instead.
AVX2_INLINE void q16p_rows(float *acc, float *y, int64_t ldy, int cols, const vk_block_q16a *xa, int64_t nb,
                           const __m256i *pk, const float *dm, int64_t b0, int64_t b1, const int wt, const int R) {
    __m256 f[3][2];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < 2; c++) f[r][c] = b0 == 0 ? _mm256_setzero_ps() : _mm256_loadu_ps(acc + r * 16 + 8 * c);
    for (int64_t b = b0; b < b1; b++, pk += 32, dm += 32) {
        __m256i ia[3][2];
        for (int r = 0; r < R; r++) ia[r][0] = ia[r][1] = _mm256_setzero_si256();
        for (int p = 0; p < 16; p++) {
            const __m256i w0 = _mm256_loadu_si256(pk + p), w1 = _mm256_loadu_si256(pk + 16 + p);
            for (int r = 0; r < R; r++) {
                int32_t pair;
                memcpy(&pair, xa[r * nb + b].q + 2 * p, sizeof(pair));
                const __m256i xb = _mm256_set1_epi32(pair);
                ia[r][0] = _mm256_add_epi32(ia[r][0], _mm256_madd_epi16(w0, xb));
                ia[r][1] = _mm256_add_epi32(ia[r][1], _mm256_madd_epi16(w1, xb));
            }
        }
        for (int r = 0; r < R; r++) {
            const __m256 s = _mm256_set1_ps(xa[r * nb + b].s);
            for (int c = 0; c < 2; c++) {
                const __m256 scale = _mm256_mul_ps(_mm256_loadu_ps(dm + 8 * c), s);
                f[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(ia[r][c]), scale, f[r][c]);
                if (wt == VK_Q4_1)
                    f[r][c] = _mm256_fmadd_ps(_mm256_loadu_ps(dm + 16 + 8 * c), _mm256_set1_ps(xa[r * nb + b].xs), f[r][c]);
            }
        }
    }
    for (int r = 0; r < R; r++) {
        float *out = y && cols == 16 ? y + r * ldy : acc + r * 16;
        for (int c = 0; c < 2; c++) _mm256_storeu_ps(out + 8 * c, f[r][c]);
        if (y && cols < 16) memcpy(y + r * ldy, out, (size_t)cols * sizeof(float));
    }
}

// Prefetches blocks [b0, b1) of `rows` weight rows: the next chunk, read while this one computes.
AVX2_INLINE void prefetch_tile(const uint8_t *w, size_t rb, int rows, int64_t b0, int64_t b1, const int wt) {
    const int64_t bytes = (b1 - b0) * block_bytes(wt);
    for (int o = 0; o < rows; o++) {
        const uint8_t *p = w + (size_t)o * rb + (size_t)b0 * block_bytes(wt);
        for (int64_t off = 0; off < bytes; off += 64) _mm_prefetch((const char *)p + off, _MM_HINT_T0);
    }
}

// Outputs [n0, n1) for m rows, 16 at a time, in blocks of VK_Q16P_MB rows so that a row block's
// activations for one chunk (~75 KB) stay in L2 while the tiles pass over them.
// Tiled weights (tiled != 0) skip the transposing repack and read each tile as one run.
AVX2_INLINE void q16p_t(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k, const uint8_t *w,
                        size_t rb, int64_t n0, int64_t n1, const int wt, const int tiled) {
    const int64_t nb = k / VK_QK, chunks = (nb + VK_Q16P_CB - 1) / VK_Q16P_CB, cb = (nb + chunks - 1) / chunks;
    const int64_t mb = m < VK_Q16P_MB ? m : VK_Q16P_MB;
    __m256i *pk = vk_scratch(VK_SCRATCH_PRIVATE, (size_t)cb * 32 * (sizeof(__m256i) + sizeof(float)) +
                                                     (size_t)mb * 16 * sizeof(float));
    float *dm = (float *)(pk + cb * 32), *acc = dm + cb * 32;
    for (int64_t i0 = 0; i0 < m; i0 += mb) {
        const int64_t i1 = i0 + mb < m ? i0 + mb : m;
        for (int64_t j = n0; j < n1; j += 16) {
            const int cols = n1 - j < 16 ? (int)(n1 - j) : 16;
            for (int64_t b0 = 0; b0 < nb; b0 += cb) {
                const int64_t b1 = b0 + cb < nb ? b0 + cb : nb;
                if (tiled) {
                    q16p_repack_tiles(pk, dm, w + (size_t)j * rb, b0, b1, wt);
                } else {
                    q16p_repack(pk, dm, w + (size_t)j * rb, rb, cols, b0, b1, wt);
                    if (b1 < nb) prefetch_tile(w + (size_t)j * rb, rb, cols, b1, b1 + cb < nb ? b1 + cb : nb, wt);
                    else if (j + 16 < n1) prefetch_tile(w + (size_t)(j + 16) * rb, rb, n1 - j - 16 < 16 ? (int)(n1 - j - 16) : 16, 0, cb, wt);
                }
                for (int64_t i = i0; i < i1; i += 3) {
                    float *out = b1 == nb ? y + i * ldy + j : NULL, *ai = acc + (i - i0) * 16;
                    const vk_block_q16a *xi = xa + i * nb;
                    switch (i1 - i < 3 ? i1 - i : 3) {
                    case 1: q16p_rows(ai, out, ldy, cols, xi, nb, pk, dm, b0, b1, wt, 1); break;
                    case 2: q16p_rows(ai, out, ldy, cols, xi, nb, pk, dm, b0, b1, wt, 2); break;
                    default: q16p_rows(ai, out, ldy, cols, xi, nb, pk, dm, b0, b1, wt, 3); break;
                    }
                }
            }
        }
    }
}

AVX2_INLINE void gemv_q16_t(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k, const uint8_t *w,
                            size_t rb, int64_t n0, int64_t n1, const int wt) {
    const int64_t nb = k / VK_QK, ahead = prefetch_rows(rb);
    int64_t j = n0;
    if (m == 1) {
        for (; j + 4 <= n1; j += 4)
            q16_rows4(y + j, xa, nb, w + (size_t)j * rb, rb, w + (size_t)(j + ahead) * rb, wt);
    }
    if (j < n1) q16p_t(y, ldy, xa, m, k, w, rb, j, n1, wt, 0);
}

// R (<= 3) rows against tiles [n0, n1), widest steps first; a partial last tile goes through a
// 16-wide buffer.
AVX2_INLINE void q16_tiles_few(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t nb, const uint8_t *w, size_t rb,
                               int64_t n0, int64_t n1, const int wt, const int R) {
    const size_t tile_stride = 16 * rb;
    const int widest = 4 / R; // four accumulator tiles in all: 4 x 1 row, 2 x 2 rows, 1 x 3 rows
    int64_t j = n0;
    if (widest >= 4)
        for (; j + 64 <= n1; j += 64) q16_tiles_rows(y + j, ldy, xa, nb, w + (size_t)j * rb, tile_stride, wt, R, 4);
    if (widest >= 2)
        for (; j + 32 <= n1; j += 32) q16_tiles_rows(y + j, ldy, xa, nb, w + (size_t)j * rb, tile_stride, wt, R, 2);
    for (; j + 16 <= n1; j += 16) q16_tiles_rows(y + j, ldy, xa, nb, w + (size_t)j * rb, tile_stride, wt, R, 1);
    if (j < n1) { // the last, partial tile: its zero rows computed and dropped
        float tail[3 * 16];
        q16_tiles_rows(tail, 16, xa, nb, w + (size_t)j * rb, tile_stride, wt, R, 1);
        for (int r = 0; r < R; r++) memcpy(y + r * ldy + j, tail + 16 * r, (size_t)(n1 - j) * sizeof(float));
    }
}

// Tiled weights, outputs [n0, n1) with n0 on a tile bound. Up to VK_Q16_TILES_DIRECT_M rows read the
// tiles directly, in passes of up to 3 rows (one thread, weights from DRAM: 2 rows 1.75-2.07x the
// buffer kernel, 3 rows 1.34-1.66x, 4-16 rows 1.04-1.19x, 32 rows 0.97-1.10x); more rows widen each
// chunk once into q16p_t's buffer and reuse it.
#ifndef VK_Q16_TILES_DIRECT_M // overridable for kernel benchmarks
#define VK_Q16_TILES_DIRECT_M 16
#endif
AVX2_INLINE void gemv_q16_tiles_t(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k,
                                  const uint8_t *w, size_t rb, int64_t n0, int64_t n1, const int wt) {
    const int64_t nb = k / VK_QK;
    if (m > VK_Q16_TILES_DIRECT_M) {
        q16p_t(y, ldy, xa, m, k, w, rb, n0, n1, wt, 1);
        return;
    }
    for (int64_t i = 0; i < m; i += 3) { // passes of 3 rows, then the rest
        switch (m - i < 3 ? m - i : 3) {
        case 1: q16_tiles_few(y + i * ldy, ldy, xa + i * nb, nb, w, rb, n0, n1, wt, 1); break;
        case 2: q16_tiles_few(y + i * ldy, ldy, xa + i * nb, nb, w, rb, n0, n1, wt, 2); break;
        default: q16_tiles_few(y + i * ldy, ldy, xa + i * nb, nb, w, rb, n0, n1, wt, 3); break;
        }
    }
}

VK_TARGET_AVX2 static void gemv_quant16(float *y, int64_t ldy, const vk_block_q16a *xa, int64_t m, int64_t k,
                                        const uint8_t *w, vk_dtype wt, size_t rb, int64_t n0, int64_t n1) {
    switch (wt) {
    case VK_Q8_0: gemv_q16_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q8_0); break;
    case VK_Q4_0: gemv_q16_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q4_0); break;
    case VK_Q8_0_TILES: gemv_q16_tiles_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q8_0); break;
    case VK_Q4_0_TILES: gemv_q16_tiles_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q4_0); break;
    case VK_Q4_1_TILES: gemv_q16_tiles_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q4_1); break;
    default: gemv_q16_t(y, ldy, xa, m, k, w, rb, n0, n1, VK_Q4_1); break;
    }
}

// Largest |value| of a 32-value activation block held in four vectors.
AVX2_INLINE float absmax4(__m256 v0, __m256 v1, __m256 v2, __m256 v3) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(sign, v0), _mm256_andnot_ps(sign, v1)),
                              _mm256_max_ps(_mm256_andnot_ps(sign, v2), _mm256_andnot_ps(sign, v3)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    return _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
}

AVX2_INLINE int32_t hsum_epi32(__m256i v) {
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
    return _mm_cvtsi128_si32(_mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1)));
}

// Same results as vk_quantize_act16: cvtps rounds half to even like rintf under the default MXCSR.
VK_TARGET_AVX2 static void quantize_act16(const float *x, int64_t k, vk_block_q16a *out, float *x_rounded) {
    for (int64_t b = 0; b < k / VK_QK; b++, x += VK_QK, out++) {
        __m256 v[4];
        for (int t = 0; t < 4; t++) v[t] = _mm256_loadu_ps(x + 8 * t);
        const float s = absmax4(v[0], v[1], v[2], v[3]) / 32767.0f, inv = s != 0.0f ? 1.0f / s : 0.0f;
        const __m256 vinv = _mm256_set1_ps(inv), vs = _mm256_set1_ps(s);
        __m256i q[4];
        for (int t = 0; t < 4; t++) q[t] = _mm256_cvtps_epi32(_mm256_mul_ps(v[t], vinv));
        const int32_t sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
        // packs works per 128-bit lane: [q0 lo, q1 lo, q0 hi, q1 hi] -> restore order with 0xD8.
        _mm256_storeu_si256((__m256i *)out->q, _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xD8));
        _mm256_storeu_si256((__m256i *)(out->q + 16), _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xD8));
        out->s = s;
        out->xs = s * (float)sum;
        if (x_rounded) {
            for (int t = 0; t < 4; t++) _mm256_storeu_ps(x_rounded + 8 * t, _mm256_mul_ps(_mm256_cvtepi32_ps(q[t]), vs));
            x_rounded += VK_QK;
        }
    }
}

// ---- prefill micro-kernel ---------------------------------------------------------------------
AVX2_INLINE void micro_t(float *y, int64_t ldy, const float *x, int64_t ldx, const float *panel, int64_t kc, int nc,
                         bool accumulate, const int MR) {
    __m256 c[6][2];
    for (int i = 0; i < MR; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (int64_t kk = 0; kk < kc; kk++) {
        __m256 b0 = _mm256_load_ps(panel + kk * 16), b1 = _mm256_load_ps(panel + kk * 16 + 8);
        for (int i = 0; i < MR; i++) {
            __m256 a = _mm256_broadcast_ss(x + i * ldx + kk);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
    }
    for (int i = 0; i < MR; i++) {
        float *yr = y + i * ldy;
        if (nc == 16) {
            if (accumulate) {
                c[i][0] = _mm256_add_ps(c[i][0], _mm256_loadu_ps(yr));
                c[i][1] = _mm256_add_ps(c[i][1], _mm256_loadu_ps(yr + 8));
            }
            _mm256_storeu_ps(yr, c[i][0]);
            _mm256_storeu_ps(yr + 8, c[i][1]);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, c[i][0]);
            _mm256_storeu_ps(tmp + 8, c[i][1]);
            for (int t = 0; t < nc; t++) yr[t] = accumulate ? yr[t] + tmp[t] : tmp[t];
        }
    }
}

VK_TARGET_AVX2 static void micro_6x16(float *y, int64_t ldy, const float *x, int64_t ldx, const float *panel,
                                      int64_t kc, int mr, int nc, bool accumulate) {
    switch (mr) {
    case 6: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 6); break;
    case 5: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 5); break;
    case 4: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 4); break;
    case 3: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 3); break;
    case 2: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 2); break;
    default: micro_t(y, ldy, x, ldx, panel, kc, nc, accumulate, 1); break;
    }
}

// One column of a tile (16 outputs) widened to fp32, outputs 0-7 in lo and 8-15 in hi. BF16: one
// 32-bit lane widens to outputs l (shift) and 8 + l (mask); F16: F16C converts 8 in a row.
AVX2_INLINE void widen_panel16(const uint16_t *p, __m256 *lo, __m256 *hi, const int F16) {
    if (F16) {
        *lo = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
        *hi = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 8)));
        return;
    }
    const __m256i v = _mm256_loadu_si256((const __m256i *)p);
    *lo = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    *hi = _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32((int)0xFFFF0000u)));
}

// MR rows of x against T panel tiles over columns [k0, k0 + kc), widened in registers
// (2 * MR * T <= 12 accumulators: up to 4 tiles for one row keep 8 FMA chains in flight). The sums
// start at zero and FMA in column order, then are added to y: micro_t's arithmetic on pack_panel's
// output, so the results are the GEMM's bit for bit.
AVX2_INLINE void panel_block(float *y, int64_t ldy, const float *x, int64_t ldx, const uint16_t *tile, int64_t ts,
                             int64_t k0, int64_t kc, int cols_last, const int F16, const int MR, const int T) {
    __m256 c[6][4][2];
    for (int i = 0; i < MR; i++)
        for (int t = 0; t < T; t++) c[i][t][0] = c[i][t][1] = _mm256_setzero_ps();
    for (int64_t kk = k0; kk < k0 + kc; kk++) {
        // Tile by tile, so that 12 accumulators, one widened tile and a broadcast fit 16 registers.
        for (int t = 0; t < T; t++) {
            __m256 lo, hi;
            widen_panel16(tile + t * ts + kk * 16, &lo, &hi, F16);
            for (int i = 0; i < MR; i++) {
                const __m256 a = _mm256_broadcast_ss(x + i * ldx + kk);
                c[i][t][0] = _mm256_fmadd_ps(a, lo, c[i][t][0]);
                c[i][t][1] = _mm256_fmadd_ps(a, hi, c[i][t][1]);
            }
        }
    }
    for (int i = 0; i < MR; i++)
        for (int t = 0; t < T; t++) {
            float *yt = y + i * ldy + 16 * t;
            const int nc = t == T - 1 ? cols_last : 16;
            if (nc == 16) {
                if (k0 > 0) {
                    c[i][t][0] = _mm256_add_ps(c[i][t][0], _mm256_loadu_ps(yt));
                    c[i][t][1] = _mm256_add_ps(c[i][t][1], _mm256_loadu_ps(yt + 8));
                }
                _mm256_storeu_ps(yt, c[i][t][0]);
                _mm256_storeu_ps(yt + 8, c[i][t][1]);
            } else {
                float tmp[16];
                _mm256_storeu_ps(tmp, c[i][t][0]);
                _mm256_storeu_ps(tmp + 8, c[i][t][1]);
                for (int o = 0; o < nc; o++) yt[o] = k0 > 0 ? yt[o] + tmp[o] : tmp[o];
            }
        }
}

// One row takes 4 tiles at a time and two rows 3 (8 or 12 FMA chains, and as many memory streams in
// flight); more rows go in groups of up to 6 against one tile. Per tile group and k-block, the
// tiles' chunk stays in L1 while every row group passes over it.
AVX2_INLINE void gemv_panels_t(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                               int64_t n0, int64_t n1, const int F16, const int G, const int T) {
    const int64_t ts = 16 * k;
    for (int64_t j = n0; j < n1; j += 16 * T) {
        const int64_t cols = n1 - j < 16 * T ? n1 - j : 16 * T;
        const int tiles = (int)((cols + 15) / 16), last = (int)(cols - 16 * (tiles - 1));
        const uint16_t *tile = (const uint16_t *)w + (j / 16) * ts;
        for (int64_t k0 = 0; k0 < k; k0 += VK_PANEL_KC) {
            const int64_t kc = k - k0 < VK_PANEL_KC ? k - k0 : VK_PANEL_KC;
            for (int64_t i = 0; i < m; i += G) {
                const int rows = m - i < G ? (int)(m - i) : G;
                float *yi = y + i * ldy + j;
                const float *xi = x + i * k;
#define VK_PANEL_CASE(R_, T_) panel_block(yi, ldy, xi, k, tile, ts, k0, kc, last, F16, R_, T_)
                if (T > 1) { // G rows exactly (m = G), `tiles` of them
                    switch (tiles) {
                    case 4: if (T >= 4) VK_PANEL_CASE(G, 4); break;
                    case 3: if (T >= 3) VK_PANEL_CASE(G, 3); break;
                    case 2: VK_PANEL_CASE(G, 2); break;
                    default: VK_PANEL_CASE(G, 1); break;
                    }
                } else {
                    switch (rows) {
                    case 1: VK_PANEL_CASE(1, 1); break;
                    case 2: VK_PANEL_CASE(2, 1); break;
                    case 3: VK_PANEL_CASE(3, 1); break;
                    case 4: VK_PANEL_CASE(4, 1); break;
                    case 5: VK_PANEL_CASE(5, 1); break;
                    default: VK_PANEL_CASE(6, 1); break;
                    }
                }
#undef VK_PANEL_CASE
            }
        }
    }
}

// Tiles per row group measured on the Qwen2.5-0.5B shapes against row-major BF16: 3 rows with 2
// tiles ran at 0.8-0.95x, with 1 tile at 0.87-1.17x.
AVX2_INLINE void gemv_panels_any(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                                 int64_t n0, int64_t n1, const int F16) {
    switch (m) {
    case 1: gemv_panels_t(y, ldy, x, m, k, w, n0, n1, F16, 1, 4); break;
    case 2: gemv_panels_t(y, ldy, x, m, k, w, n0, n1, F16, 2, 3); break;
    default: gemv_panels_t(y, ldy, x, m, k, w, n0, n1, F16, 6, 1); break;
    }
}

VK_TARGET_AVX2 static void gemv_panels(float *y, int64_t ldy, const float *x, int64_t m, int64_t k, const uint8_t *w,
                                       vk_dtype wt, int64_t n0, int64_t n1) {
    if (wt == VK_F16_PANELS) gemv_panels_any(y, ldy, x, m, k, w, n0, n1, 1);
    else gemv_panels_any(y, ldy, x, m, k, w, n0, n1, 0);
}

// ---- panel packing -----------------------------------------------------------------------------
// Converts kc values of one float weight row starting at column k0 to fp32 (quantized weights
// never reach the panel path: they take the integer gemv at every m).
AVX2_INLINE void row_to_f32(const uint8_t *row, vk_dtype wt, int64_t k0, int64_t kc, float *out) {
    if (wt == VK_F32) {
        memcpy(out, (const float *)row + k0, (size_t)kc * sizeof(float));
        return;
    }
    int64_t i = 0;
    for (; i + 8 <= kc; i += 8) _mm256_storeu_ps(out + i, load8w(row, k0 + i, wt == VK_BF16 ? VK_BF16 : VK_F16));
    for (; i < kc; i++) out[i] = load1w(row, k0 + i, wt == VK_BF16 ? VK_BF16 : VK_F16);
}

// Rows are converted to a [16][kc] scratch, then transposed 8x8 at a time into [kc][16].
VK_TARGET_AVX2 static void pack_panel(float *dst, const uint8_t *w, vk_dtype wt, size_t rb, int64_t n0, int nc,
                                      int64_t k0, int64_t kc) {
    if (vk_is_panels(wt)) { // rows n0.. are one tile, already [k][16]; rows past n are zero there
        const uint16_t *tile = (const uint16_t *)(w + (size_t)n0 * rb) + k0 * 16;
        const int f16 = wt == VK_F16_PANELS;
        for (int64_t kk = 0; kk < kc; kk++) {
            __m256 lo, hi;
            if (f16) widen_panel16(tile + kk * 16, &lo, &hi, 1);
            else widen_panel16(tile + kk * 16, &lo, &hi, 0);
            _mm256_storeu_ps(dst + kk * 16, lo);
            _mm256_storeu_ps(dst + kk * 16 + 8, hi);
        }
        return;
    }
    const int64_t ld = (kc + 7) & ~(int64_t)7;
    float *tmp = vk_scratch(VK_SCRATCH_PRIVATE2, (size_t)(16 * ld) * sizeof(float));
    for (int c = 0; c < 16; c++) {
        if (c < nc) row_to_f32(w + (size_t)(n0 + c) * rb, wt, k0, kc, tmp + c * ld);
        else memset(tmp + c * ld, 0, (size_t)kc * sizeof(float));
    }
    int64_t kk = 0;
    for (; kk + 8 <= kc; kk += 8) {
        transpose8_store(tmp + kk, ld, dst + kk * 16, 16);
        transpose8_store(tmp + 8 * ld + kk, ld, dst + kk * 16 + 8, 16);
    }
    for (; kk < kc; kk++)
        for (int c = 0; c < 16; c++) dst[kk * 16 + c] = tmp[c * ld + kk];
}

// Explicit vectors: the generic loop stays scalar (out may alias gate or up), one division per value.
VK_TARGET_AVX2 static void silu_mul(float *out, const float *gate, const float *up, int64_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 sig = _mm256_div_ps(g, _mm256_add_ps(one, exp8_fast(_mm256_xor_ps(g, sign))));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(sig, _mm256_loadu_ps(up + i)));
    }
    vk_g_silu_mul(out + i, gate + i, up + i, n - i);
}
VK_TARGET_AVX2 static void rmsnorm_row(float *out, const float *x, const float *weight, int64_t dim, float eps) {
    vk_g_rmsnorm_row(out, x, weight, dim, eps);
}
VK_TARGET_AVX2 static float exp_sum(float *x, float shift, int64_t n) { return vk_g_exp_sum(x, shift, n); }

// F16C rounds to nearest even and keeps NaN payloads like vk_f32_to_f16 (test asserts equality).
VK_TARGET_AVX2 static void f32_to_f16_row(uint16_t *out, const float *x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) out[i] = vk_f32_to_f16(x[i]);
}

const vk_kernel_table vk_kernels_avx2 = {
    .gemv_float = gemv_float,
    .gemv_quant16 = gemv_quant16,
    .quantize_act16 = quantize_act16,
    .pack_panel = pack_panel,
    .micro_6x16 = micro_6x16,
    .gemv_panels = gemv_panels,
    .silu_mul = silu_mul,
    .rmsnorm_row = rmsnorm_row,
    .attend = vk_avx2_attend,
    .exp_sum = exp_sum,
    .f32_to_f16_row = f32_to_f16_row,
};
#endif
