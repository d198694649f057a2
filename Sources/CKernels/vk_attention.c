// Paged KV cache writes and PagedAttention over mixed prefill/decode batches.
#include "vk_internal.h"

#define VK_ATTN_ROWS_PER_JOB 16 // query rows per work item: balances causal prefill across threads

void vk_kv_store(void *k_cache, void *v_cache, vk_dtype cache_dtype, const float *k, const float *v,
                 const int32_t *slot_mapping, int64_t num_tokens, int64_t n_kv_heads, int64_t head_dim,
                 int64_t block_size) {
    if ((cache_dtype != VK_F32 && cache_dtype != VK_F16) || block_size <= 0) return;
    const int64_t kv_dim = n_kv_heads * head_dim;
    for (int64_t t = 0; t < num_tokens; t++) {
        const int64_t slot = slot_mapping[t];
        if (slot < 0) continue;
        const int64_t block = slot / block_size, offset = slot % block_size;
        for (int64_t h = 0; h < n_kv_heads; h++) {
            const int64_t dst = ((block * n_kv_heads + h) * block_size + offset) * head_dim;
            const float *kt = k + t * kv_dim + h * head_dim, *vt = v + t * kv_dim + h * head_dim;
            if (cache_dtype == VK_F32) {
                memcpy((float *)k_cache + dst, kt, (size_t)head_dim * sizeof(float));
                memcpy((float *)v_cache + dst, vt, (size_t)head_dim * sizeof(float));
                continue;
            }
            uint16_t *kd = (uint16_t *)k_cache + dst, *vd = (uint16_t *)v_cache + dst;
            for (int64_t i = 0; i < head_dim; i++) {
                kd[i] = vk_f32_to_f16(kt[i]);
                vd[i] = vk_f32_to_f16(vt[i]);
            }
        }
    }
}

typedef struct {
    vk_attn_job proto;      // fields shared by every job
    const vk_attn_meta *meta;
    const int64_t *prefix;  // [num_seqs + 1] first job index of each sequence
    const vk_kernel_table *kt;
} attn_ctx;

static void attn_task(void *p, int64_t first, int64_t last) {
    const attn_ctx *c = p;
    const vk_attn_meta *meta = c->meta;
    const int64_t n_kv = c->proto.n_kv_heads, group = c->proto.n_heads / n_kv;
    vk_attn_job job = c->proto;
    job.scratch = vk_scratch(VK_SCRATCH_PRIVATE,
                             vk_attn_scratch_floats(group, meta->block_size, c->proto.head_dim) * sizeof(float));
    int64_t lo = 0, hi = meta->num_seqs; // sequence owning job `first`: prefix[lo] <= first < prefix[lo+1]
    while (hi - lo > 1) {
        int64_t mid = (lo + hi) / 2;
        if (c->prefix[mid] <= first) lo = mid;
        else hi = mid;
    }
    int64_t s = lo;
    for (int64_t idx = first; idx < last; idx++) {
        while (c->prefix[s + 1] <= idx) s++;
        int64_t local = idx - c->prefix[s];
        int64_t q0 = meta->query_start[s], q_len = meta->query_start[s + 1] - q0;
        int64_t chunk = local / n_kv;
        job.kv_head = local % n_kv;
        job.row0 = q0 + chunk * VK_ATTN_ROWS_PER_JOB;
        job.row1 = job.row0 + VK_ATTN_ROWS_PER_JOB < q0 + q_len ? job.row0 + VK_ATTN_ROWS_PER_JOB : q0 + q_len;
        job.ctx0 = (int64_t)meta->seq_lens[s] - q_len + chunk * VK_ATTN_ROWS_PER_JOB + 1;
        job.block_table = meta->block_tables + (int64_t)s * meta->max_blocks_per_seq;
        c->kt->attend(&job);
    }
}

void vk_paged_attention(float *out, const float *q, const void *k_cache, const void *v_cache, vk_dtype cache_dtype,
                        int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, const vk_attn_meta *meta) {
    if (!meta || meta->num_seqs <= 0 || n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || meta->block_size <= 0 ||
        n_heads % n_kv_heads != 0 || (cache_dtype != VK_F32 && cache_dtype != VK_F16))
        return;
    int64_t *prefix = vk_scratch(VK_SCRATCH_SHARED, (size_t)(meta->num_seqs + 1) * sizeof(int64_t));
    double work = 0.0;
    prefix[0] = 0;
    for (int32_t s = 0; s < meta->num_seqs; s++) {
        int64_t q_len = meta->query_start[s + 1] - meta->query_start[s];
        if (q_len < 0) q_len = 0;
        int64_t chunks = (q_len + VK_ATTN_ROWS_PER_JOB - 1) / VK_ATTN_ROWS_PER_JOB;
        prefix[s + 1] = prefix[s] + chunks * n_kv_heads;
        work += 4.0 * (double)q_len * (double)meta->seq_lens[s] * (double)(n_heads * head_dim);
    }
    attn_ctx c = {
        .proto = {.out = out, .q = q, .k_cache = k_cache, .v_cache = v_cache, .kv_dtype = cache_dtype, .n_heads = n_heads,
                  .n_kv_heads = n_kv_heads, .head_dim = head_dim, .scale = scale, .block_size = meta->block_size},
        .meta = meta, .prefix = prefix, .kt = vk_kt(),
    };
    // One job per chunk: job costs differ a lot (decode vs long prefill rows).
    vk_parallel_for(prefix[meta->num_seqs], 1, vk_threads_for_work(work), attn_task, &c);
}
