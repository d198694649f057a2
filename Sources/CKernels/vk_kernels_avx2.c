// AVX2 + FMA + F16C kernel table. Compiled with target attributes so the binary stays portable;
// the dispatcher only selects it on CPUs that report these features.
#include "vk_generic.h"
#if VK_X86
#include <immintrin.h>
#include <math.h>

#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

AVX2_INLINE float hsum_ps(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_INLINE float f16_scalar(uint16_t h) { return _cvtsh_ss(h); }

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

// Weight rows per tile of the batched gemvs: ~8 KB, reused from L1 by each group of 8 activation rows.
AVX2_INLINE int64_t weight_tile_rows(size_t rb) {
    const int64_t tile = (int64_t)(8192 / rb);
    return tile < 1 ? 1 : tile > 16 ? 16 : tile;
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
                    if (j + 2 <= j1) float_block_rows(acc, x + i0 * k, k, wj, rb, t0, t1, t0 == 0, wt, mx, 2);
                    else float_block_rows(acc, x + i0 * k, k, wj, rb, t0, t1, t0 == 0, wt, mx, 1);
                    if (!last) continue;
                    const int nr = j + 2 <= j1 ? 2 : 1;
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

// ---- quantized weights x 8-bit activations ---------------------------------------------------
// 16 bytes of nibbles -> 32 bytes 0..15: low nibbles in the low lane, high nibbles in the high one.
AVX2_INLINE __m256i unpack_nibbles(const uint8_t *qs) {
    __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
    return _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
}

// Integer dot of one weight block with one activation block, as 8 int32 partial sums.
AVX2_INLINE __m256i block_dot(const uint8_t *row, int64_t b, __m256i qa, const int wt) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (wt == VK_Q8_0) {
        const vk_block_q8_0 *blk = (const vk_block_q8_0 *)row + b;
        __m256i qw = _mm256_loadu_si256((const __m256i *)blk->qs);
        // maddubs wants unsigned x signed: move the weight sign onto the activation.
        __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
        return _mm256_madd_epi16(p, ones);
    }
    const uint8_t *qs = wt == VK_Q4_0 ? ((const vk_block_q4_0 *)row + b)->qs : ((const vk_block_q4_1 *)row + b)->qs;
    return _mm256_madd_epi16(_mm256_maddubs_epi16(unpack_nibbles(qs), qa), ones);
}

AVX2_INLINE float block_scale(const uint8_t *row, int64_t b, const int wt) {
    if (wt == VK_Q8_0) return f16_scalar(((const vk_block_q8_0 *)row + b)->d);
    if (wt == VK_Q4_0) return f16_scalar(((const vk_block_q4_0 *)row + b)->d);
    return f16_scalar(((const vk_block_q4_1 *)row + b)->d);
}

AVX2_INLINE void qdot_rows(float *res, const vk_block_q8a *xq, const uint8_t *w, size_t rb, int64_t nb, const int wt,
                           const int R) {
    __m256 acc[4];
    for (int r = 0; r < R; r++) acc[r] = _mm256_setzero_ps();
    if (wt != VK_Q8_0) {
        // Scales in vector lanes: weight [d, m] (Q4_1) or [d, d] (Q4_0) times activation [d, s]
        // gives the block scale in lane 0 and the offset term in lane 1, without scalar moves.
        __m128 offs[4];
        for (int r = 0; r < R; r++) offs[r] = _mm_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            __m256i qa = _mm256_loadu_si256((const __m256i *)xq[b].q);
            __m128 av = _mm_castpd_ps(_mm_load_sd((const double *)&xq[b].d)); // [d, s, 0, 0]
            for (int r = 0; r < R; r++) {
                const uint8_t *row = w + r * rb;
                __m128i hw;
                if (wt == VK_Q4_1) {
                    int32_t dm;
                    memcpy(&dm, (const vk_block_q4_1 *)row + b, sizeof dm);
                    hw = _mm_cvtsi32_si128(dm);
                } else {
                    hw = _mm_set1_epi16((short)((const vk_block_q4_0 *)row + b)->d);
                }
                __m128 prod = _mm_mul_ps(_mm_cvtph_ps(hw), av);
                offs[r] = _mm_add_ps(offs[r], prod);
                __m256 p = _mm256_cvtepi32_ps(block_dot(row, b, qa, wt));
                acc[r] = _mm256_fmadd_ps(p, _mm256_broadcastss_ps(prod), acc[r]);
            }
        }
        for (int r = 0; r < R; r++) {
            float off = _mm_cvtss_f32(_mm_movehdup_ps(offs[r]));
            res[r] = hsum_ps(acc[r]) + (wt == VK_Q4_0 ? -8.0f * off : off);
        }
        return;
    }
    for (int64_t b = 0; b < nb; b++) {
        __m256i qa = _mm256_loadu_si256((const __m256i *)xq[b].q);
        float da = xq[b].d;
        for (int r = 0; r < R; r++) {
            const uint8_t *row = w + r * rb;
            __m256 p = _mm256_cvtepi32_ps(block_dot(row, b, qa, wt));
            acc[r] = _mm256_fmadd_ps(p, _mm256_set1_ps(block_scale(row, b, wt) * da), acc[r]);
        }
    }
    for (int r = 0; r < R; r++) res[r] = hsum_ps(acc[r]);
}

AVX2_INLINE void gemv_quant_t(float *y, int64_t ldy, const vk_block_q8a *xq, int64_t m, int64_t k, const uint8_t *w,
                              size_t rb, int64_t n0, int64_t n1, const int wt) {
    int64_t nb = k / VK_QK;
    float res[4];
    int64_t j = n0;
    for (; j + 4 <= n1; j += 4) {
        for (int64_t i = 0; i < m; i++) {
            qdot_rows(res, xq + i * nb, w + (size_t)j * rb, rb, nb, wt, 4);
            for (int r = 0; r < 4; r++) y[i * ldy + j + r] = res[r];
        }
    }
    for (; j < n1; j++)
        for (int64_t i = 0; i < m; i++) {
            qdot_rows(res, xq + i * nb, w + (size_t)j * rb, rb, nb, wt, 1);
            y[i * ldy + j] = res[0];
        }
}

// Several activation rows: each weight block is unpacked (and its scales widened) once for all MX
// rows. R is unused (one weight row at a time keeps MX accumulators plus temporaries in registers).
AVX2_INLINE void gemv_quant_multi_t(float *y, int64_t ldy, const vk_block_q8a *xq, int64_t k, const uint8_t *w,
                                    size_t rb, int64_t n0, int64_t n1, const int wt, const int MX, const int R) {
    (void)R;
    const int64_t nb = k / VK_QK;
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t j = n0; j < n1; j++) {
        const uint8_t *row = w + (size_t)j * rb;
        __m256 acc[7];
        float corr[7] = {0};
        for (int i = 0; i < MX; i++) acc[i] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const float dw = block_scale(row, b, wt);
            if (wt == VK_Q8_0) {
                __m256i qw = _mm256_loadu_si256((const __m256i *)((const vk_block_q8_0 *)row + b)->qs);
                __m256i aw = _mm256_sign_epi8(qw, qw);
                for (int i = 0; i < MX; i++) {
                    const vk_block_q8a *a = xq + i * nb + b;
                    __m256i qa = _mm256_loadu_si256((const __m256i *)a->q);
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(qa, qw)), ones);
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a->d), acc[i]);
                }
            } else {
                const uint8_t *qs =
                    wt == VK_Q4_0 ? ((const vk_block_q4_0 *)row + b)->qs : ((const vk_block_q4_1 *)row + b)->qs;
                const float bias = wt == VK_Q4_0 ? -8.0f * dw : f16_scalar(((const vk_block_q4_1 *)row + b)->m);
                __m256i qw = unpack_nibbles(qs);
                for (int i = 0; i < MX; i++) {
                    const vk_block_q8a *a = xq + i * nb + b;
                    __m256i qa = _mm256_loadu_si256((const __m256i *)a->q);
                    __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(qw, qa), ones);
                    acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a->d), acc[i]);
                    corr[i] += bias * a->s;
                }
            }
        }
        for (int i = 0; i < MX; i++) y[i * ldy + j] = hsum_ps(acc[i]) + corr[i];
    }
}

AVX2_INLINE void gemv_quant_any(float *y, int64_t ldy, const vk_block_q8a *xq, int64_t m, int64_t k, const uint8_t *w,
                                size_t rb, int64_t n0, int64_t n1, const int wt) {
    if (m == 1 || m > 7) {
        gemv_quant_t(y, ldy, xq, m, k, w, rb, n0, n1, wt);
        return;
    }
    VK_MULTI_SWITCH(gemv_quant_multi_t, m, y, ldy, xq, k, w, rb, n0, n1, wt)
}

VK_TARGET_AVX2 static void gemv_quant(float *y, int64_t ldy, const vk_block_q8a *xq, int64_t m, int64_t k,
                                      const uint8_t *w, vk_dtype wt, size_t rb, int64_t n0, int64_t n1) {
    switch (wt) {
    case VK_Q8_0: gemv_quant_any(y, ldy, xq, m, k, w, rb, n0, n1, VK_Q8_0); break;
    case VK_Q4_0: gemv_quant_any(y, ldy, xq, m, k, w, rb, n0, n1, VK_Q4_0); break;
    default: gemv_quant_any(y, ldy, xq, m, k, w, rb, n0, n1, VK_Q4_1); break;
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
    // zero upper byte, the high nibble is just the lane shifted right by 4.
    const __m256i both = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)qs));
    *lo = _mm256_and_si256(both, _mm256_set1_epi16(0x0F));
    *hi = _mm256_srli_epi16(both, 4);
    if (wt == VK_Q4_0) {
        *lo = _mm256_sub_epi16(*lo, _mm256_set1_epi16(8));
        *hi = _mm256_sub_epi16(*hi, _mm256_set1_epi16(8));
    }
}

// Exact integer dot of a widened weight block with an activation block, as 8 int32 partial sums
// (|sum| <= 32 * 128 * 32767 < 2^31).
AVX2_INLINE __m256i block_dot16(__m256i lo, __m256i hi, const vk_block_q16a *a) {
    return _mm256_add_epi32(_mm256_madd_epi16(lo, _mm256_loadu_si256((const __m256i *)a->q)),
                            _mm256_madd_epi16(hi, _mm256_loadu_si256((const __m256i *)(a->q + 16))));
}

AVX2_INLINE int block_bytes(const int wt) {
    return wt == VK_Q8_0 ? (int)sizeof(vk_block_q8_0) : wt == VK_Q4_0 ? (int)sizeof(vk_block_q4_0) : (int)sizeof(vk_block_q4_1);
}

AVX2_INLINE float block_min(const uint8_t *row, int64_t b) { return f16_scalar(((const vk_block_q4_1 *)row + b)->m); }

// Eight vectors of int32 partial sums -> one vector of their eight totals (lane i = sum of p[i]).
AVX2_INLINE __m256i reduce8_epi32(const __m256i p[8]) {
    const __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    const __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

// Every (activation row, weight row) pair, whatever the path, accumulates per block
//   acc = fma(float(exact integer dot), d * s, acc), then for Q4_1 acc = fma(m, xs, acc)
// with the pairs laid out in vector lanes: one fixed rounding order, so a row's result is
// bit-identical whatever batch it decodes in. Reducing the integer dots across pairs first leaves
// one conversion and one FMA per block for up to 8 pairs.

// One activation row against four weight rows (lanes 0-3).
AVX2_INLINE void q16_rows4(float *y, const vk_block_q16a *xa, int64_t nb, const uint8_t *w, size_t rb,
                           const uint8_t *pf, const int wt) {
    __m128 acc = _mm_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (pf) prefetch_span(pf + b * 4 * block_bytes(wt), 4 * block_bytes(wt));
        __m256i p[4];
        for (int r = 0; r < 4; r++) {
            __m256i lo, hi;
            widen_block16(w + r * rb, b, wt, &lo, &hi);
            p[r] = block_dot16(lo, hi, xa + b);
        }
        const __m256i u = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
        const __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(u), _mm256_extracti128_si256(u, 1));
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

// MX activation rows (lanes) against weight row j over blocks [b0, b1), continuing from acc. The
// last chunk (park == NULL) writes the MX results to y; earlier ones park the accumulator.
// scales holds, per block, the rows' s then xs (mpad floats each, see gemv_q16_t).
AVX2_INLINE void q16_multi(float *y, int64_t ldy, const vk_block_q16a *xa, const float *scales, int64_t mpad,
                           int64_t nb, int64_t b0, int64_t b1, __m256 acc, __m256 *park, const uint8_t *row, int64_t j,
                           const uint8_t *pf, const int wt, const int MX) {
    for (int64_t b = b0; b < b1; b++) {
        if (pf) prefetch_span(pf + b * block_bytes(wt), block_bytes(wt));
        __m256i lo, hi;
        widen_block16(row, b, wt, &lo, &hi);
        __m256i p[8];
        for (int i = 0; i < 8; i++) p[i] = i < MX ? block_dot16(lo, hi, xa + i * nb + b) : _mm256_setzero_si256();
        const float *sb = scales + b * 2 * mpad;
        const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(block_scale(row, b, wt)), _mm256_loadu_ps(sb));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(reduce8_epi32(p)), scale, acc);
        if (wt == VK_Q4_1) acc = _mm256_fmadd_ps(_mm256_set1_ps(block_min(row, b)), _mm256_loadu_ps(sb + mpad), acc);
    }
    if (park) {
        *park = acc;
        return;
    }
    float out[8];
    _mm256_storeu_ps(out, acc);
    for (int i = 0; i < MX; i++) y[i * ldy + j] = out[i];
}

// Blocks per k-chunk of the batched gemv when k is long (the down projection): a group's 8
// activation rows (16 blocks of 72 B each) and a tile of weight rows then stay in L1 together.
// Accumulators are parked between chunks, so every pair still sums its blocks in order: results
// do not depend on the chunking.
#define VK_Q16_CHUNK_BLOCKS 16

// scales: per block, the m rows' s then their xs, each padded to mpad = m rounded up to 8.
AVX2_INLINE void gemv_q16_t(float *y, int64_t ldy, const vk_block_q16a *xa, const float *scales, int64_t m, int64_t k,
                            const uint8_t *w, size_t rb, int64_t n0, int64_t n1, const int wt) {
    const int64_t mpad = (m + 7) & ~(int64_t)7;
    const int64_t nb = k / VK_QK, ahead = prefetch_rows(rb);
    int64_t j = n0;
    if (m == 1) {
        for (; j + 4 <= n1; j += 4)
            q16_rows4(y + j, xa, nb, w + (size_t)j * rb, rb, w + (size_t)(j + ahead) * rb, wt);
    }
    // A tile of weight rows (~8 KB per chunk) is reused from L1 by every group of 8 activation rows,
    // and each group's activation blocks stay in L1 across the tile.
    const int64_t cb = nb > 2 * VK_Q16_CHUNK_BLOCKS ? VK_Q16_CHUNK_BLOCKS : nb;
    const int64_t tile = weight_tile_rows((size_t)(cb * block_bytes(wt)));
    __m256 *parked = cb < nb ? vk_scratch(VK_SCRATCH_PRIVATE, (size_t)(((m + 7) / 8) * tile) * sizeof(__m256)) : NULL;
    for (int64_t t0 = j; t0 < n1; t0 += tile) {
        const int64_t t1 = t0 + tile < n1 ? t0 + tile : n1;
        for (int64_t b0 = 0; b0 < nb; b0 += cb) {
            const int64_t b1 = b0 + cb < nb ? b0 + cb : nb;
            for (int64_t i0 = 0; i0 < m; i0 += 8) {
                const vk_block_q16a *xi = xa + i0 * nb;
                const float *si = scales + i0;
                float *yi = y + i0 * ldy;
                for (int64_t jj = t0; jj < t1; jj++) {
                    const uint8_t *row = w + (size_t)jj * rb;
                    const uint8_t *p = i0 == 0 ? w + (size_t)(jj + ahead) * rb : NULL;
                    __m256 *slot = parked ? parked + (i0 / 8) * tile + (jj - t0) : NULL;
                    const __m256 acc = b0 == 0 ? _mm256_setzero_ps() : *slot;
                    __m256 *park = b1 < nb ? slot : NULL;
                    switch (m - i0 < 8 ? m - i0 : 8) {
                    case 1: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 1); break;
                    case 2: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 2); break;
                    case 3: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 3); break;
                    case 4: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 4); break;
                    case 5: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 5); break;
                    case 6: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 6); break;
                    case 7: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 7); break;
                    default: q16_multi(yi, ldy, xi, si, mpad, nb, b0, b1, acc, park, row, jj, p, wt, 8); break;
                    }
                }
            }
        }
    }
}

VK_TARGET_AVX2 static void gemv_quant16(float *y, int64_t ldy, const vk_block_q16a *xa, const float *scales, int64_t m,
                                        int64_t k, const uint8_t *w, vk_dtype wt, size_t rb, int64_t n0, int64_t n1) {
    switch (wt) {
    case VK_Q8_0: gemv_q16_t(y, ldy, xa, scales, m, k, w, rb, n0, n1, VK_Q8_0); break;
    case VK_Q4_0: gemv_q16_t(y, ldy, xa, scales, m, k, w, rb, n0, n1, VK_Q4_0); break;
    default: gemv_q16_t(y, ldy, xa, scales, m, k, w, rb, n0, n1, VK_Q4_1); break;
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

// Same rounding as the scalar table (round-half-even of x / d), so both paths quantize identically.
VK_TARGET_AVX2 static void quantize_act(const float *x, int64_t k, vk_block_q8a *out) {
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t b = 0; b < k / VK_QK; b++, x += VK_QK) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16),
               v3 = _mm256_loadu_ps(x + 24);
        float amax = absmax4(v0, v1, v2, v3);
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        __m256 vid = _mm256_set1_ps(id);
        __m256i i0 = _mm256_cvtps_epi32(_mm256_mul_ps(v0, vid)), i1 = _mm256_cvtps_epi32(_mm256_mul_ps(v1, vid));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_mul_ps(v2, vid)), i3 = _mm256_cvtps_epi32(_mm256_mul_ps(v3, vid));
        const int32_t sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
        __m256i q = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
        _mm256_storeu_si256((__m256i *)out[b].q, _mm256_permutevar8x32_epi32(q, perm));
        out[b].d = d;
        out[b].s = d * (float)sum;
    }
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

// ---- panel packing -----------------------------------------------------------------------------
// Converts kc values of one weight row starting at column k0 to fp32 (k0, kc multiples of 32 for
// quantized rows).
AVX2_INLINE void row_to_f32(const uint8_t *row, vk_dtype wt, int64_t k0, int64_t kc, float *out) {
    int64_t i = 0;
    switch (wt) {
    case VK_F32:
        memcpy(out, (const float *)row + k0, (size_t)kc * sizeof(float));
        return;
    case VK_F16:
    case VK_BF16:
        for (; i + 8 <= kc; i += 8) _mm256_storeu_ps(out + i, load8w(row, k0 + i, wt == VK_BF16 ? VK_BF16 : VK_F16));
        for (; i < kc; i++) out[i] = load1w(row, k0 + i, wt == VK_BF16 ? VK_BF16 : VK_F16);
        return;
    case VK_Q8_0:
        for (int64_t b = k0 / VK_QK; i < kc; i += VK_QK, b++) {
            const vk_block_q8_0 *blk = (const vk_block_q8_0 *)row + b;
            __m256 d = _mm256_set1_ps(f16_scalar(blk->d));
            for (int t = 0; t < VK_QK; t += 8) {
                __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(blk->qs + t)));
                _mm256_storeu_ps(out + i + t, _mm256_mul_ps(_mm256_cvtepi32_ps(q), d));
            }
        }
        return;
    default: { // Q4_0 / Q4_1: value = q * d + bias (bias = -8 d or m)
        for (int64_t b = k0 / VK_QK; i < kc; i += VK_QK, b++) {
            const uint8_t *qs;
            float d, bias;
            if (wt == VK_Q4_0) {
                const vk_block_q4_0 *blk = (const vk_block_q4_0 *)row + b;
                qs = blk->qs;
                d = f16_scalar(blk->d);
                bias = -8.0f * d;
            } else {
                const vk_block_q4_1 *blk = (const vk_block_q4_1 *)row + b;
                qs = blk->qs;
                d = f16_scalar(blk->d);
                bias = f16_scalar(blk->m);
            }
            __m128i raw = _mm_loadu_si128((const __m128i *)qs), mask = _mm_set1_epi8(0x0f);
            __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
            __m256 vd = _mm256_set1_ps(d), vb = _mm256_set1_ps(bias);
            __m256i q0 = _mm256_cvtepu8_epi32(lo), q1 = _mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8));
            __m256i q2 = _mm256_cvtepu8_epi32(hi), q3 = _mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8));
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(_mm256_cvtepi32_ps(q0), vd, vb));
            _mm256_storeu_ps(out + i + 8, _mm256_fmadd_ps(_mm256_cvtepi32_ps(q1), vd, vb));
            _mm256_storeu_ps(out + i + 16, _mm256_fmadd_ps(_mm256_cvtepi32_ps(q2), vd, vb));
            _mm256_storeu_ps(out + i + 24, _mm256_fmadd_ps(_mm256_cvtepi32_ps(q3), vd, vb));
        }
        return;
    }
    }
}

AVX2_INLINE void transpose8_store(const float *src, int64_t ld, float *dst, int64_t ldd) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld),
           r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld),
           r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
           t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_store_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_store_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_store_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_store_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_store_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_store_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_store_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_store_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// Rows are converted to a [16][kc] scratch, then transposed 8x8 at a time into [kc][16].
VK_TARGET_AVX2 static void pack_panel(float *dst, const uint8_t *w, vk_dtype wt, size_t rb, int64_t n0, int nc,
                                      int64_t k0, int64_t kc) {
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

// vk_expf_fast on eight lanes (same range reduction and polynomial; NaN stays NaN).
AVX2_INLINE __m256 exp8_fast(__m256 x) {
    x = _mm256_min_ps(_mm256_set1_ps(88.0f), _mm256_max_ps(_mm256_set1_ps(-87.0f), x));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), magic), magic);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 5040.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
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

// ---- paged attention ---------------------------------------------------------------------------
// Eight dot products q . k[p] (p < 8, rows `stride` floats apart) at once: the eight accumulators
// are reduced together with a transpose-and-add, instead of eight horizontal sums.
AVX2_INLINE __m256 dot8_positions(const float *q, const float *k, int64_t stride, int64_t hd) {
    __m256 a[8];
    for (int p = 0; p < 8; p++) a[p] = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) {
        const __m256 qv = _mm256_loadu_ps(q + d);
        for (int p = 0; p < 8; p++) a[p] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + p * stride + d), a[p]);
    }
    __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t0, t1, 0x31));
}

AVX2_INLINE float dot_one(const float *q, const float *k, int64_t hd) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(k + d), a);
    return hsum_ps(a);
}

// acc[0..8 NV) = acc * corr + sum_p w[p] * v[p], held in NV registers across positions (NV must be
// a compile-time constant: with a run-time count the compiler keeps the array on the stack and
// every FMA waits on a store-to-load round trip).
AVX2_INLINE void rescale_accumulate_n(float *acc, __m256 cv, const float *w, const float *v, int64_t stride,
                                      int64_t np, const int NV) {
    __m256 r[8];
    for (int t = 0; t < NV; t++) r[t] = _mm256_mul_ps(_mm256_loadu_ps(acc + 8 * t), cv);
    for (int64_t p = 0; p < np; p++) {
        const __m256 wp = _mm256_set1_ps(w[p]);
        const float *vp = v + p * stride;
        for (int t = 0; t < NV; t++) r[t] = _mm256_fmadd_ps(wp, _mm256_loadu_ps(vp + 8 * t), r[t]);
    }
    for (int t = 0; t < NV; t++) _mm256_storeu_ps(acc + 8 * t, r[t]);
}

// acc[0..hd) = acc * corr + sum_p w[p] * v[p], 64 dims at a time.
AVX2_INLINE void rescale_accumulate(float *acc, float corr, const float *w, const float *v, int64_t stride,
                                    int64_t np, int64_t hd) {
    const __m256 cv = _mm256_set1_ps(corr);
    int64_t d0 = 0;
    for (; d0 + 64 <= hd; d0 += 64) rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 8);
    switch ((hd - d0) / 8) {
    case 0: break;
    case 1: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 1); break;
    case 2: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 2); break;
    case 3: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 3); break;
    case 4: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 4); break;
    case 5: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 5); break;
    case 6: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 6); break;
    default: rescale_accumulate_n(acc + d0, cv, w, v + d0, stride, np, 7); break;
    }
}

// head_dim is a multiple of 8 here; F16C widens 8 halves at a time.
AVX2_INLINE void widen_f16(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
}

// Same contract and online softmax as vk_g_attend, with vector dot products and the output
// accumulator kept in registers over a block's positions. head_dim must be a multiple of 8.
AVX2_INLINE void attend_avx2(const vk_attn_job *job) {
    const int64_t hd = job->head_dim, bs = job->block_size, g = job->kv_head;
    const int64_t group = job->n_heads / job->n_kv_heads;
    float *scores = job->scratch;     // [group][bs]
    float *acc = scores + group * bs; // [group][hd]
    float *row_max = acc + group * hd;
    float *row_sum = row_max + group;
    float *k_wide = row_sum + group + 16, *v_wide = k_wide + bs * hd;
    for (int64_t row = job->row0; row < job->row1; row++) {
        const int64_t ctx = job->ctx0 + (row - job->row0);
        for (int64_t h = 0; h < group; h++) {
            row_max[h] = -INFINITY;
            row_sum[h] = 0.0f;
        }
        memset(acc, 0, (size_t)(group * hd) * sizeof(float));
        for (int64_t b = 0; b * bs < ctx; b++) {
            const int64_t np = ctx - b * bs < bs ? ctx - b * bs : bs;
            int64_t ks, vs;
            const float *kb = vk_g_kv_rows(job, job->k_cache, b, np, k_wide, &ks, widen_f16);
            const float *vb = vk_g_kv_rows(job, job->v_cache, b, np, v_wide, &vs, widen_f16);
            for (int64_t h = 0; h < group; h++) {
                const float *qh = job->q + (row * job->n_heads + g * group + h) * hd;
                float *sc = scores + h * bs;
                int64_t p = 0;
                __m256 vmax = _mm256_set1_ps(-INFINITY);
                const __m256 scale = _mm256_set1_ps(job->scale);
                for (; p + 8 <= np; p += 8) {
                    __m256 s8 = _mm256_mul_ps(dot8_positions(qh, kb + p * ks, ks, hd), scale);
                    _mm256_storeu_ps(sc + p, s8);
                    vmax = _mm256_max_ps(vmax, s8);
                }
                __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
                m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
                m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
                float bmax = _mm_cvtss_f32(m4);
                for (; p < np; p++) {
                    sc[p] = dot_one(qh, kb + p * ks, hd) * job->scale;
                    bmax = sc[p] > bmax ? sc[p] : bmax;
                }
                const float new_max = bmax > row_max[h] ? bmax : row_max[h];
                const float corr = row_max[h] == -INFINITY ? 0.0f : vk_expf_fast(row_max[h] - new_max);
                row_max[h] = new_max;
                row_sum[h] = row_sum[h] * corr + vk_g_exp_sum(sc, new_max, np);
                rescale_accumulate(acc + h * hd, corr, sc, vb, vs, np, hd);
            }
        }
        for (int64_t h = 0; h < group; h++) {
            float *oh = job->out + (row * job->n_heads + g * group + h) * hd;
            const float inv = row_sum[h] > 0.0f ? 1.0f / row_sum[h] : 0.0f;
            for (int64_t d = 0; d < hd; d++) oh[d] = acc[h * hd + d] * inv;
        }
    }
}

// ---- prefill attention: query tiles ----------------------------------------------------------
// A prefill job holds up to 16 rows x `group` heads of queries on one kv head. Per block of 16
// positions, K is transposed once to [head_dim][16]; then each tile of 6 queries gets its 6 x 16
// scores from registers (6 broadcasts and 2 loads feed 12 FMAs, like the GEMM micro-kernel), and
// V accumulates into 6 queries x 16 dims at a time. Same online softmax as attend_avx2, per query.
#define VK_AT_BS 16    // block size this path serves (the default)
#define VK_AT_MIN_Q 12 // queries per job from which transposing K pays off (decode stays on attend_avx2)

AVX2_INLINE void tile_scores(float *s, const float *const *q, const float *kt, int64_t hd, float scale, const int MQ) {
    __m256 c[6][2];
    for (int i = 0; i < MQ; i++) c[i][0] = c[i][1] = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d++) {
        const __m256 b0 = _mm256_loadu_ps(kt + d * VK_AT_BS), b1 = _mm256_loadu_ps(kt + d * VK_AT_BS + 8);
        for (int i = 0; i < MQ; i++) {
            const __m256 a = _mm256_broadcast_ss(q[i] + d);
            c[i][0] = _mm256_fmadd_ps(a, b0, c[i][0]);
            c[i][1] = _mm256_fmadd_ps(a, b1, c[i][1]);
        }
    }
    const __m256 sv = _mm256_set1_ps(scale);
    for (int i = 0; i < MQ; i++) {
        _mm256_storeu_ps(s + i * VK_AT_BS, _mm256_mul_ps(c[i][0], sv));
        _mm256_storeu_ps(s + i * VK_AT_BS + 8, _mm256_mul_ps(c[i][1], sv));
    }
}

// acc[i][:] = acc[i][:] * corr[i] + sum_{p < np} w[i][p] * v[p][:], 16 dims at a time.
AVX2_INLINE void tile_accumulate(float *const *acc, const float *corr, const float *w, const float *v, int64_t vs,
                                 int64_t np, int64_t hd, const int MQ) {
    for (int64_t d0 = 0; d0 < hd; d0 += 16) {
        __m256 c[6][2];
        for (int i = 0; i < MQ; i++) {
            const __m256 cv = _mm256_set1_ps(corr[i]);
            c[i][0] = _mm256_mul_ps(_mm256_loadu_ps(acc[i] + d0), cv);
            c[i][1] = _mm256_mul_ps(_mm256_loadu_ps(acc[i] + d0 + 8), cv);
        }
        for (int64_t p = 0; p < np; p++) {
            const __m256 v0 = _mm256_loadu_ps(v + p * vs + d0), v1 = _mm256_loadu_ps(v + p * vs + d0 + 8);
            for (int i = 0; i < MQ; i++) {
                const __m256 a = _mm256_broadcast_ss(w + i * VK_AT_BS + p);
                c[i][0] = _mm256_fmadd_ps(a, v0, c[i][0]);
                c[i][1] = _mm256_fmadd_ps(a, v1, c[i][1]);
            }
        }
        for (int i = 0; i < MQ; i++) {
            _mm256_storeu_ps(acc[i] + d0, c[i][0]);
            _mm256_storeu_ps(acc[i] + d0 + 8, c[i][1]);
        }
    }
}

AVX2_INLINE void attend_tiled(const vk_attn_job *job) {
    const int64_t hd = job->head_dim, g = job->kv_head, group = job->n_heads / job->n_kv_heads;
    const int64_t rows = job->row1 - job->row0, nq = rows * group, max_ctx = job->ctx0 + rows - 1;
    // Per query: scores/weights [16], acc [hd], max, sum, correction; then K^T and widened K/V.
    // K^T first: 64-byte aligned for transpose8_store (every buffer before a per-query scalar is a
    // multiple of 16 floats).
    float *scr = vk_scratch(VK_SCRATCH_PRIVATE2,
                            (size_t)(nq * (VK_AT_BS + hd + 3) + 3 * VK_AT_BS * hd) * sizeof(float));
    float *kt = scr, *k_wide = kt + VK_AT_BS * hd, *v_wide = k_wide + VK_AT_BS * hd, *w = v_wide + VK_AT_BS * hd;
    float *acc = w + nq * VK_AT_BS, *row_max = acc + nq * hd, *row_sum = row_max + nq, *corr = row_sum + nq;
    const float *q[6];
    float *accp[6];
    for (int64_t i = 0; i < nq; i++) {
        row_max[i] = -INFINITY;
        row_sum[i] = 0.0f;
    }
    memset(acc, 0, (size_t)(nq * hd) * sizeof(float));
    for (int64_t b = 0; b * VK_AT_BS < max_ctx; b++) {
        const int64_t np = max_ctx - b * VK_AT_BS < VK_AT_BS ? max_ctx - b * VK_AT_BS : VK_AT_BS;
        int64_t ks, vs;
        const float *kb = vk_g_kv_rows(job, job->k_cache, b, np, k_wide, &ks, widen_f16);
        const float *vb = vk_g_kv_rows(job, job->v_cache, b, np, v_wide, &vs, widen_f16);
        if (np == VK_AT_BS) {
            for (int64_t d0 = 0; d0 < hd; d0 += 8) {
                transpose8_store(kb + d0, ks, kt + d0 * VK_AT_BS, VK_AT_BS);
                transpose8_store(kb + 8 * ks + d0, ks, kt + d0 * VK_AT_BS + 8, VK_AT_BS);
            }
        } else {
            for (int64_t d = 0; d < hd; d++)
                for (int64_t p = 0; p < VK_AT_BS; p++) kt[d * VK_AT_BS + p] = p < np ? kb[p * ks + d] : 0.0f;
        }
        for (int64_t i0 = 0; i0 < nq; i0 += 6) {
            const int mq = (int)(nq - i0 < 6 ? nq - i0 : 6);
            for (int i = 0; i < mq; i++) {
                const int64_t qi = i0 + i, row = job->row0 + qi / group, h = qi % group;
                q[i] = job->q + (row * job->n_heads + g * group + h) * hd;
            }
            switch (mq) {
            case 1: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 1); break;
            case 2: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 2); break;
            case 3: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 3); break;
            case 4: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 4); break;
            case 5: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 5); break;
            default: tile_scores(w + i0 * VK_AT_BS, q, kt, hd, job->scale, 6); break;
            }
        }
        // Online softmax per query over the positions it sees in this block (causal: fewer for
        // earlier rows); unseen positions get weight 0.
        for (int64_t qi = 0; qi < nq; qi++) {
            float *wq = w + qi * VK_AT_BS;
            const int64_t ctx = job->ctx0 + qi / group, seen = ctx - b * VK_AT_BS;
            const int64_t nv = seen <= 0 ? 0 : seen < np ? seen : np;
            if (nv == 0) {
                corr[qi] = 1.0f;
                memset(wq, 0, VK_AT_BS * sizeof(float));
                continue;
            }
            if (nv == VK_AT_BS) { // a full block: the common case, in vectors
                const __m256 s0 = _mm256_loadu_ps(wq), s1 = _mm256_loadu_ps(wq + 8);
                __m256 mx = _mm256_max_ps(s0, s1);
                mx = _mm256_max_ps(mx, _mm256_permute2f128_ps(mx, mx, 1));
                mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0x4e));
                mx = _mm256_max_ps(mx, _mm256_shuffle_ps(mx, mx, 0xb1));
                const float bmax = _mm256_cvtss_f32(mx);
                const float new_max = bmax > row_max[qi] ? bmax : row_max[qi];
                corr[qi] = row_max[qi] == -INFINITY ? 0.0f : vk_expf_fast(row_max[qi] - new_max);
                row_max[qi] = new_max;
                const __m256 shift = _mm256_set1_ps(new_max);
                const __m256 e0 = exp8_fast(_mm256_sub_ps(s0, shift)), e1 = exp8_fast(_mm256_sub_ps(s1, shift));
                _mm256_storeu_ps(wq, e0);
                _mm256_storeu_ps(wq + 8, e1);
                row_sum[qi] = row_sum[qi] * corr[qi] + hsum_ps(_mm256_add_ps(e0, e1));
                continue;
            }
            float bmax = wq[0];
            for (int64_t p = 1; p < nv; p++) bmax = wq[p] > bmax ? wq[p] : bmax;
            const float new_max = bmax > row_max[qi] ? bmax : row_max[qi];
            corr[qi] = row_max[qi] == -INFINITY ? 0.0f : vk_expf_fast(row_max[qi] - new_max);
            row_max[qi] = new_max;
            row_sum[qi] = row_sum[qi] * corr[qi] + vk_g_exp_sum(wq, new_max, nv);
            for (int64_t p = nv; p < VK_AT_BS; p++) wq[p] = 0.0f;
        }
        for (int64_t i0 = 0; i0 < nq; i0 += 6) {
            const int mq = (int)(nq - i0 < 6 ? nq - i0 : 6);
            for (int i = 0; i < mq; i++) accp[i] = acc + (i0 + i) * hd;
            const float *wi = w + i0 * VK_AT_BS, *ci = corr + i0;
            switch (mq) {
            case 1: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 1); break;
            case 2: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 2); break;
            case 3: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 3); break;
            case 4: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 4); break;
            case 5: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 5); break;
            default: tile_accumulate(accp, ci, wi, vb, vs, np, hd, 6); break;
            }
        }
    }
    for (int64_t qi = 0; qi < nq; qi++) {
        const int64_t row = job->row0 + qi / group, h = qi % group;
        float *oh = job->out + (row * job->n_heads + g * group + h) * hd;
        const float inv = row_sum[qi] > 0.0f ? 1.0f / row_sum[qi] : 0.0f;
        for (int64_t d = 0; d < hd; d++) oh[d] = acc[qi * hd + d] * inv;
    }
}

VK_TARGET_AVX2 static void attend(const vk_attn_job *job) {
    const int64_t queries = (job->row1 - job->row0) * (job->n_heads / job->n_kv_heads);
    if (job->block_size == VK_AT_BS && job->head_dim % 16 == 0 && queries >= VK_AT_MIN_Q) attend_tiled(job);
    else if (job->head_dim % 8 == 0) attend_avx2(job);
    else vk_g_attend(job);
}

const vk_kernel_table vk_kernels_avx2 = {
    .gemv_float = gemv_float,
    .gemv_quant = gemv_quant,
    .quantize_act = quantize_act,
    .gemv_quant16 = gemv_quant16,
    .quantize_act16 = quantize_act16,
    .pack_panel = pack_panel,
    .micro_6x16 = micro_6x16,
    .silu_mul = silu_mul,
    .rmsnorm_row = rmsnorm_row,
    .attend = attend,
    .exp_sum = exp_sum,
};
#endif
