// AVX2 paged attention: per-row online softmax for decode, query tiles for prefill (see
// vk_paged_attention in vk_attention.c for the contract and the job split).
#include "vk_avx2.h"
#if VK_X86

// Decode reads K and V in the cache's own dtype: widening an fp16 block into a buffer first cost a
// store and a reload per value (decode attention ran 1.3-1.7x slower that way, measured in isolation).
// F16 is a compile-time flag.
AVX2_INLINE __m256 load8_kv(const void *row, int64_t i, const int F16) {
    if (F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
    return _mm256_loadu_ps((const float *)row + i);
}

AVX2_INLINE const void *kv_row(const void *base, int64_t p, int64_t hd, const int F16) {
    return F16 ? (const void *)((const uint16_t *)base + p * hd) : (const void *)((const float *)base + p * hd);
}

// Eight dot products q . k[p] (p < 8, consecutive rows of head_dim values) at once: the eight
// accumulators are reduced together with a transpose-and-add, instead of eight horizontal sums.
AVX2_INLINE __m256 dot8_positions(const float *q, const void *k, int64_t hd, const int F16) {
    __m256 a[8];
    for (int p = 0; p < 8; p++) a[p] = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) {
        const __m256 qv = _mm256_loadu_ps(q + d);
        for (int p = 0; p < 8; p++) a[p] = _mm256_fmadd_ps(qv, load8_kv(kv_row(k, p, hd, F16), d, F16), a[p]);
    }
    __m256 t0 = _mm256_hadd_ps(_mm256_hadd_ps(a[0], a[1]), _mm256_hadd_ps(a[2], a[3]));
    __m256 t1 = _mm256_hadd_ps(_mm256_hadd_ps(a[4], a[5]), _mm256_hadd_ps(a[6], a[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(t0, t1, 0x20), _mm256_permute2f128_ps(t0, t1, 0x31));
}

AVX2_INLINE float dot_one(const float *q, const void *k, int64_t hd, const int F16) {
    __m256 a = _mm256_setzero_ps();
    for (int64_t d = 0; d < hd; d += 8) a = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), load8_kv(k, d, F16), a);
    return hsum_ps(a);
}

// acc[0..8 NV) = acc * corr + sum_p w[p] * v[p][d0..), held in NV registers across positions (NV
// must be a compile-time constant: with a run-time count the compiler keeps the array on the stack
// and every FMA waits on a store-to-load round trip).
AVX2_INLINE void rescale_accumulate_n(float *acc, __m256 cv, const float *w, const void *v, int64_t d0, int64_t hd,
                                      int64_t np, const int NV, const int F16) {
    __m256 r[8];
    for (int t = 0; t < NV; t++) r[t] = _mm256_mul_ps(_mm256_loadu_ps(acc + d0 + 8 * t), cv);
    for (int64_t p = 0; p < np; p++) {
        const __m256 wp = _mm256_set1_ps(w[p]);
        const void *vp = kv_row(v, p, hd, F16);
        for (int t = 0; t < NV; t++) r[t] = _mm256_fmadd_ps(wp, load8_kv(vp, d0 + 8 * t, F16), r[t]);
    }
    for (int t = 0; t < NV; t++) _mm256_storeu_ps(acc + d0 + 8 * t, r[t]);
}

// acc[0..hd) = acc * corr + sum_p w[p] * v[p], 64 dims at a time.
AVX2_INLINE void rescale_accumulate(float *acc, float corr, const float *w, const void *v, int64_t np, int64_t hd,
                                    const int F16) {
    const __m256 cv = _mm256_set1_ps(corr);
    int64_t d0 = 0;
    for (; d0 + 64 <= hd; d0 += 64) rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 8, F16);
    switch ((hd - d0) / 8) {
    case 0: break;
    case 1: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 1, F16); break;
    case 2: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 2, F16); break;
    case 3: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 3, F16); break;
    case 4: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 4, F16); break;
    case 5: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 5, F16); break;
    case 6: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 6, F16); break;
    default: rescale_accumulate_n(acc, cv, w, v, d0, hd, np, 7, F16); break;
    }
}

// head_dim is a multiple of 8 here; F16C widens 8 halves at a time.
AVX2_INLINE void widen_f16(float *dst, const uint16_t *src, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
}

// vk_g_softmax_fold for a full block of 16 scores, in two vectors (vk_g_exp_sum runs scalar calls).
AVX2_INLINE float softmax_fold16(float *w, float *row_max, float *row_sum) {
    const __m256 s0 = _mm256_loadu_ps(w), s1 = _mm256_loadu_ps(w + 8);
    const float corr = vk_g_softmax_raise(row_max, hmax_ps(_mm256_max_ps(s0, s1)));
    const __m256 shift = _mm256_set1_ps(*row_max);
    const __m256 e0 = exp8_fast(_mm256_sub_ps(s0, shift)), e1 = exp8_fast(_mm256_sub_ps(s1, shift));
    _mm256_storeu_ps(w, e0);
    _mm256_storeu_ps(w + 8, e1);
    *row_sum = *row_sum * corr + hsum_ps(_mm256_add_ps(e0, e1));
    return corr;
}

// Blocks sit wherever the block table puts them, so the hardware prefetcher cannot run ahead into
// the next one; decode reads K and V at memory latency otherwise. Requests block b's rows of the
// job's kv head in one cache (contiguous, see vk_kv_store) while the current block is computed.
AVX2_INLINE void prefetch_head_block(const vk_attn_job *job, const void *cache, int64_t b) {
    const int64_t bytes = job->block_size * job->head_dim * (job->kv_dtype == VK_F16 ? 2 : 4);
    const char *rows = vk_g_kv_head_block(job, cache, b);
    for (int64_t off = 0; off < bytes; off += 64) _mm_prefetch(rows + off, _MM_HINT_T0);
}

// Same contract and online softmax as vk_g_attend, with vector dot products and the output
// accumulator kept in registers over a block's positions. head_dim must be a multiple of 8.
AVX2_INLINE void attend_rows(const vk_attn_job *job, const int F16) {
    const int64_t hd = job->head_dim, bs = job->block_size, g = job->kv_head;
    const int64_t group = job->n_heads / job->n_kv_heads;
    const vk_attn_buffers buf = vk_attn_split_scratch(job);
    float *scores = buf.scores, *acc = buf.acc, *row_max = buf.row_max, *row_sum = buf.row_sum;
    for (int64_t row = job->row0; row < job->row1; row++) {
        const int64_t ctx = job->ctx0 + (row - job->row0);
        vk_g_softmax_begin(row_max, row_sum, acc, group, hd);
        for (int64_t b = job->block0; b < job->block1 && b * bs < ctx; b++) {
            // The next block's K now and its V once the first head is done. One burst of both (64
            // lines for SmolLM2's heads) was slower, likely more misses than a core keeps in flight.
            // Decode attention, 2 threads (scripts/bench_attention.sh): 32 rows at 128 positions
            // 7.1 -> 6.4 ms per step, 1 row at 2048 3.5 -> 2.9 ms.
            const bool next = b + 1 < job->block1 && (b + 1) * bs < ctx;
            if (next) prefetch_head_block(job, job->k_cache, b + 1);
            const int64_t np = ctx - b * bs < bs ? ctx - b * bs : bs;
            const void *kb = vk_g_kv_head_block(job, job->k_cache, b), *vb = vk_g_kv_head_block(job, job->v_cache, b);
            for (int64_t h = 0; h < group; h++) {
                const float *qh = job->q + (row * job->n_heads + g * group + h) * hd;
                float *sc = scores + h * bs;
                int64_t p = 0;
                __m256 vmax = _mm256_set1_ps(-INFINITY);
                const __m256 scale = _mm256_set1_ps(job->scale);
                for (; p + 8 <= np; p += 8) {
                    __m256 s8 = _mm256_mul_ps(dot8_positions(qh, kv_row(kb, p, hd, F16), hd, F16), scale);
                    _mm256_storeu_ps(sc + p, s8);
                    vmax = _mm256_max_ps(vmax, s8);
                }
                float bmax = hmax_ps(vmax);
                for (; p < np; p++) {
                    sc[p] = dot_one(qh, kv_row(kb, p, hd, F16), hd, F16) * job->scale;
                    bmax = sc[p] > bmax ? sc[p] : bmax;
                }
                const float corr = np == 16 ? softmax_fold16(sc, &row_max[h], &row_sum[h])
                                            : vk_g_softmax_fold(&row_max[h], &row_sum[h], bmax, sc, np);
                rescale_accumulate(acc + h * hd, corr, sc, vb, np, hd, F16);
                if (h == 0 && next) prefetch_head_block(job, job->v_cache, b + 1);
            }
        }
        for (int64_t h = 0; h < group; h++) vk_g_attend_finish(job, row, h, acc + h * hd, row_max[h], row_sum[h]);
    }
}

AVX2_INLINE void attend_avx2(const vk_attn_job *job) {
    if (job->kv_dtype == VK_F16) attend_rows(job, 1);
    else attend_rows(job, 0);
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
    vk_g_softmax_begin(row_max, row_sum, acc, nq, hd);
    for (int64_t b = 0; b * VK_AT_BS < max_ctx; b++) {
        const float *kb, *vb;
        int64_t ks, vs;
        const int64_t np = vk_g_kv_block(job, b, max_ctx, k_wide, v_wide, widen_f16, &kb, &ks, &vb, &vs);
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
                corr[qi] = softmax_fold16(wq, &row_max[qi], &row_sum[qi]);
                continue;
            }
            float bmax = wq[0];
            for (int64_t p = 1; p < nv; p++) bmax = wq[p] > bmax ? wq[p] : bmax;
            corr[qi] = vk_g_softmax_fold(&row_max[qi], &row_sum[qi], bmax, wq, nv);
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
        vk_g_softmax_end(job->out + (row * job->n_heads + g * group + h) * hd, acc + qi * hd, row_sum[qi], hd);
    }
}

VK_TARGET_AVX2 void vk_avx2_attend(const vk_attn_job *job) {
    const int64_t queries = (job->row1 - job->row0) * (job->n_heads / job->n_kv_heads);
    if (!job->partial && job->block_size == VK_AT_BS && job->head_dim % 16 == 0 && queries >= VK_AT_MIN_Q)
        attend_tiled(job);
    else if (job->head_dim % 8 == 0) attend_avx2(job);
    else vk_g_attend(job);
}
#endif
