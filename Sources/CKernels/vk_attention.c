// Paged KV cache writes and PagedAttention over mixed prefill/decode batches.
#include "vk_internal.h"
#include <math.h>

// Query rows per prefill work item: enough jobs to balance causal prefill across threads, and each
// job transposes a K block once for rows x group queries (32 rather than 16 rows: a 3000-token SmolLM2
// prefill 341 -> 374 tok/s, median of 4 alternating rounds).
#define VK_ATTN_ROWS_PER_JOB 32

void vk_kv_store(void *k_cache, void *v_cache, vk_dtype cache_dtype, const float *k, const float *v,
                 const int32_t *slot_mapping, int64_t num_tokens, int64_t n_kv_heads, int64_t head_dim,
                 int64_t block_size) {
    if ((cache_dtype != VK_F32 && cache_dtype != VK_F16) || block_size <= 0) return;
    const int64_t kv_dim = n_kv_heads * head_dim;
    const vk_kernel_table *kernels = vk_kt();
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
            } else {
                kernels->f32_to_f16_row((uint16_t *)k_cache + dst, kt, head_dim);
                kernels->f32_to_f16_row((uint16_t *)v_cache + dst, vt, head_dim);
            }
        }
    }
}

// Decode rows see their context in parts of this many positions once it is longer than one part
// (vLLM's paged attention v2 uses 512): each part is a job, so a single long sequence keeps every
// thread busy. Depends on the context only, so a sequence's result is the same in any batch.
#define VK_ATTN_PART_POSITIONS 512

typedef struct {
    vk_attn_job proto;      // fields shared by every job
    const vk_attn_meta *meta;
    const int64_t *prefix;  // [num_seqs + 1] first job index of each sequence
    const int64_t *parts;   // [num_seqs] context parts of a split decode row, 0 when not split
    const int64_t *state;   // [num_seqs] offset of a split row's merge state in `states`
    float *states;
    const vk_kernel_table *kt;
} attn_ctx;

static int64_t context_parts(int64_t q_len, int64_t seq_len) {
    if (q_len != 1 || seq_len <= VK_ATTN_PART_POSITIONS) return 0;
    return (seq_len + VK_ATTN_PART_POSITIONS - 1) / VK_ATTN_PART_POSITIONS;
}

static void attn_task(void *p, int64_t first, int64_t last) {
    const attn_ctx *c = p;
    const vk_attn_meta *meta = c->meta;
    const int64_t n_kv = c->proto.n_kv_heads, group = c->proto.n_heads / n_kv;
    const int64_t part_blocks = (VK_ATTN_PART_POSITIONS + meta->block_size - 1) / meta->block_size;
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
        job.block_table = meta->block_tables + (int64_t)s * meta->max_blocks_per_seq;
        if (c->parts[s] > 0) { // chunk numbers the context part of the single row
            job.row0 = q0;
            job.row1 = q0 + 1;
            job.ctx0 = meta->seq_lens[s];
            job.block0 = chunk * part_blocks;
            job.block1 = job.block0 + part_blocks;
            job.partial = c->states + c->state[s] + chunk * job.n_heads * (job.head_dim + 2);
        } else {
            job.row0 = q0 + chunk * VK_ATTN_ROWS_PER_JOB;
            job.row1 = job.row0 + VK_ATTN_ROWS_PER_JOB < q0 + q_len ? job.row0 + VK_ATTN_ROWS_PER_JOB : q0 + q_len;
            job.ctx0 = (int64_t)meta->seq_lens[s] - q_len + chunk * VK_ATTN_ROWS_PER_JOB + 1;
            job.block0 = 0;
            job.block1 = INT64_MAX;
            job.partial = NULL;
        }
        c->kt->attend(&job);
    }
}

// Combines the parts of a split decode row, head by head, in part order: every part's sum and
// accumulator are rescaled to the largest maximum.
static void merge_parts(float *out, const float *states, int64_t parts, int64_t n_heads, int64_t hd) {
    const int64_t stride = n_heads * (hd + 2);
    for (int64_t h = 0; h < n_heads; h++) {
        float *o = out + h * hd;
        float max = -INFINITY, sum = 0.0f;
        for (int64_t p = 0; p < parts; p++) max = fmaxf(max, states[p * stride + h * (hd + 2)]);
        memset(o, 0, (size_t)hd * sizeof(float));
        for (int64_t p = 0; p < parts; p++) {
            const float *st = states + p * stride + h * (hd + 2);
            if (st[0] == -INFINITY) continue; // a part with no positions
            const float w = vk_expf_fast(st[0] - max);
            sum += st[1] * w;
            for (int64_t d = 0; d < hd; d++) o[d] += st[2 + d] * w;
        }
        const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (int64_t d = 0; d < hd; d++) o[d] *= inv;
    }
}

void vk_paged_attention(float *out, const float *q, const void *k_cache, const void *v_cache, vk_dtype cache_dtype,
                        int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, const vk_attn_meta *meta) {
    if (!meta || meta->num_seqs <= 0 || n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || meta->block_size <= 0 ||
        n_heads % n_kv_heads != 0 || (cache_dtype != VK_F32 && cache_dtype != VK_F16))
        return;
    const int64_t num_seqs = meta->num_seqs, state_floats = n_heads * (head_dim + 2);
    int64_t split_states = 0;
    for (int64_t s = 0; s < num_seqs; s++)
        split_states += context_parts(meta->query_start[s + 1] - meta->query_start[s], meta->seq_lens[s]);
    // One shared scratch: prefix, parts and state offsets (int64), then the split rows' states.
    int64_t *prefix = vk_scratch(VK_SCRATCH_SHARED, (size_t)(3 * num_seqs + 1) * sizeof(int64_t) +
                                                        (size_t)(split_states * state_floats) * sizeof(float));
    int64_t *parts = prefix + num_seqs + 1, *state = parts + num_seqs;
    float *states = (float *)(state + num_seqs);
    double work = 0.0;
    int64_t next_state = 0;
    prefix[0] = 0;
    for (int64_t s = 0; s < num_seqs; s++) {
        int64_t q_len = meta->query_start[s + 1] - meta->query_start[s];
        if (q_len < 0) q_len = 0;
        parts[s] = context_parts(q_len, meta->seq_lens[s]);
        state[s] = next_state;
        next_state += parts[s] * state_floats;
        const int64_t chunks = parts[s] > 0 ? parts[s] : (q_len + VK_ATTN_ROWS_PER_JOB - 1) / VK_ATTN_ROWS_PER_JOB;
        prefix[s + 1] = prefix[s] + chunks * n_kv_heads;
        work += 4.0 * (double)q_len * (double)meta->seq_lens[s] * (double)(n_heads * head_dim);
    }
    attn_ctx c = {
        .proto = {.out = out, .q = q, .k_cache = k_cache, .v_cache = v_cache, .kv_dtype = cache_dtype, .n_heads = n_heads,
                  .n_kv_heads = n_kv_heads, .head_dim = head_dim, .scale = scale, .block_size = meta->block_size},
        .meta = meta, .prefix = prefix, .parts = parts, .state = state, .states = states, .kt = vk_kt(),
    };
    // One job per chunk: job costs differ a lot (decode vs long prefill rows).
    vk_parallel_for(prefix[num_seqs], 1, vk_threads_for_work(work), attn_task, &c);
    for (int64_t s = 0; s < num_seqs; s++)
        if (parts[s] > 0)
            merge_parts(out + (int64_t)meta->query_start[s] * n_heads * head_dim, states + state[s], parts[s], n_heads,
                        head_dim);
}
