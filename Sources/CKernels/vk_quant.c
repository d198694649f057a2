// Row sizes, GGML block (de)quantization and fp32 conversion of weight rows.
#include "vk_internal.h"
#include <math.h>

size_t vk_row_bytes(vk_dtype dtype, int64_t k) {
    if (k < 0) return 0;
    switch (dtype) {
    case VK_F32: return (size_t)k * 4;
    case VK_F16:
    case VK_BF16:
    case VK_BF16_PANELS:
    case VK_F16_PANELS: return (size_t)k * 2; // packed: a tile of 16 rows spans 16 times this
    case VK_Q8_0:
    case VK_Q8_0_TILES: return (size_t)(k / VK_QK) * sizeof(vk_block_q8_0);
    case VK_Q4_0:
    case VK_Q4_0_TILES: return (size_t)(k / VK_QK) * sizeof(vk_block_q4_0);
    case VK_Q4_1:
    case VK_Q4_1_TILES: return (size_t)(k / VK_QK) * sizeof(vk_block_q4_1);
    }
    return 0;
}

void vk_row_to_f32(const void *row, vk_dtype dtype, int64_t k, float *out) {
    switch (dtype) {
    case VK_BF16_PANELS:
    case VK_F16_PANELS:
    case VK_Q8_0_TILES:
    case VK_Q4_0_TILES:
    case VK_Q4_1_TILES: memset(out, 0, (size_t)k * sizeof(float)); return; // not row formats
    case VK_F32: memcpy(out, row, (size_t)k * 4); return;
    case VK_F16: {
        const uint16_t *h = row;
        for (int64_t i = 0; i < k; i++) out[i] = vk_f16_to_f32(h[i]);
        return;
    }
    case VK_BF16: {
        const uint16_t *h = row;
        for (int64_t i = 0; i < k; i++) out[i] = vk_bits_f32((uint32_t)h[i] << 16);
        return;
    }
    case VK_Q8_0: {
        const vk_block_q8_0 *b = row;
        for (int64_t i = 0; i < k / VK_QK; i++, out += VK_QK) {
            float d = vk_f16_to_f32(b[i].d);
            for (int j = 0; j < VK_QK; j++) out[j] = (float)b[i].qs[j] * d;
        }
        return;
    }
    case VK_Q4_0: {
        const vk_block_q4_0 *b = row;
        for (int64_t i = 0; i < k / VK_QK; i++, out += VK_QK) {
            float d = vk_f16_to_f32(b[i].d);
            for (int j = 0; j < VK_QK / 2; j++) {
                out[j] = (float)((b[i].qs[j] & 0xf) - 8) * d;
                out[j + VK_QK / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
            }
        }
        return;
    }
    case VK_Q4_1: {
        const vk_block_q4_1 *b = row;
        for (int64_t i = 0; i < k / VK_QK; i++, out += VK_QK) {
            float d = vk_f16_to_f32(b[i].d), m = vk_f16_to_f32(b[i].m);
            for (int j = 0; j < VK_QK / 2; j++) {
                out[j] = (float)(b[i].qs[j] & 0xf) * d + m;
                out[j + VK_QK / 2] = (float)(b[i].qs[j] >> 4) * d + m;
            }
        }
        return;
    }
    }
}

// Quantizers follow ggml's reference formulas so that files we write match llama.cpp's.
static void quantize_q8_0(const float *x, int64_t k, vk_block_q8_0 *b) {
    for (int64_t i = 0; i < k / VK_QK; i++, x += VK_QK) {
        float amax = 0.0f;
        for (int j = 0; j < VK_QK; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = vk_f32_to_f16(d);
        for (int j = 0; j < VK_QK; j++) b[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void quantize_q4_0(const float *x, int64_t k, vk_block_q4_0 *b) {
    for (int64_t i = 0; i < k / VK_QK; i++, x += VK_QK) {
        float amax = 0.0f, max = 0.0f; // max keeps the sign of the largest-magnitude value
        for (int j = 0; j < VK_QK; j++) {
            if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
        }
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = vk_f32_to_f16(d);
        for (int j = 0; j < VK_QK / 2; j++) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f), q1 = (int)(int8_t)(x[j + VK_QK / 2] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

static void quantize_q4_1(const float *x, int64_t k, vk_block_q4_1 *b) {
    for (int64_t i = 0; i < k / VK_QK; i++, x += VK_QK) {
        float min = INFINITY, max = -INFINITY;
        for (int j = 0; j < VK_QK; j++) { min = fminf(min, x[j]); max = fmaxf(max, x[j]); }
        float d = (max - min) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = vk_f32_to_f16(d);
        b[i].m = vk_f32_to_f16(min);
        for (int j = 0; j < VK_QK / 2; j++) {
            int q0 = (int)(int8_t)((x[j] - min) * id + 0.5f), q1 = (int)(int8_t)((x[j + VK_QK / 2] - min) * id + 0.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void vk_quantize_row(const float *in, vk_dtype dtype, int64_t k, void *out) {
    switch (dtype) {
    case VK_BF16_PANELS:
    case VK_F16_PANELS:
    case VK_Q8_0_TILES:
    case VK_Q4_0_TILES:
    case VK_Q4_1_TILES: memset(out, 0, vk_row_bytes(dtype, k)); return; // not row formats: vk_pack_weights
    case VK_F32: memcpy(out, in, (size_t)k * 4); return;
    case VK_F16: {
        uint16_t *h = out;
        for (int64_t i = 0; i < k; i++) h[i] = vk_f32_to_f16(in[i]);
        return;
    }
    case VK_BF16: {
        uint16_t *h = out;
        for (int64_t i = 0; i < k; i++) h[i] = vk_f32_to_bf16(in[i]);
        return;
    }
    case VK_Q8_0: quantize_q8_0(in, k, out); return;
    case VK_Q4_0: quantize_q4_0(in, k, out); return;
    case VK_Q4_1: quantize_q4_1(in, k, out); return;
    }
}

void vk_quantize_act16(const float *x, int64_t k, vk_block_q16a *out, float *x_rounded) {
    for (int64_t b = 0; b < k / VK_QK; b++, x += VK_QK, out++) {
        float amax = 0.0f;
        for (int t = 0; t < VK_QK; t++) amax = fabsf(x[t]) > amax ? fabsf(x[t]) : amax;
        const float s = amax / 32767.0f, inv = s != 0.0f ? 1.0f / s : 0.0f;
        int32_t sum = 0;
        for (int t = 0; t < VK_QK; t++) {
            float v = rintf(x[t] * inv);
            v = v > 32767.0f ? 32767.0f : v < -32767.0f ? -32767.0f : v;
            out->q[t] = (int16_t)v;
            sum += out->q[t];
        }
        out->s = s;
        out->xs = s * (float)sum;
        if (x_rounded) {
            for (int t = 0; t < VK_QK; t++) x_rounded[t] = (float)out->q[t] * s;
            x_rounded += VK_QK;
        }
    }
}

// Where value v (< 32) of tile row c sits: its byte, and for Q4 whether the high nibble.
static int tile_value_byte(vk_dtype base, int c, int v, bool *high) {
    const int p = v / 2, e = v % 2;
    *high = base != VK_Q8_0 && c >= 8;
    if (base == VK_Q8_0) return vk_tile_values_offset(base) + 32 * p + 16 * (c / 8) + 2 * (c % 8) + e;
    return vk_tile_values_offset(base) + 16 * p + 2 * (c % 8) + e;
}

// A Q4 block's 16 bytes of codes: value j in the low nibble of byte j, value j + 16 in the high one.
static const uint8_t *q4_codes(const void *block, vk_dtype base) {
    return base == VK_Q4_0 ? ((const vk_block_q4_0 *)block)->qs : ((const vk_block_q4_1 *)block)->qs;
}

// Writes the tile block from all 16 rows' blocks at once, so each Q4 byte (two rows' codes) is
// written once: packing runs once per weight at load.
void vk_tile_pack_block(uint8_t *tb, vk_dtype base, const void *const blocks[16], int rows) {
    memset(tb, 0, (size_t)16 * vk_row_bytes(base, VK_QK));
    bool high;
    for (int c = 0; c < rows; c++) {
        memcpy(tb + 2 * c, blocks[c], 2); // d leads every GGML block
        if (base == VK_Q4_1) memcpy(tb + 32 + 2 * c, &((const vk_block_q4_1 *)blocks[c])->m, 2);
        if (base == VK_Q8_0) {
            const int8_t *qs = ((const vk_block_q8_0 *)blocks[c])->qs;
            for (int p = 0; p < VK_QK / 2; p++) memcpy(tb + tile_value_byte(base, c, 2 * p, &high), qs + 2 * p, 2);
        }
    }
    if (base == VK_Q8_0) return;
    static const uint8_t zeros[VK_QK / 2];
    for (int o = 0; o < 8; o++) {
        const uint8_t *lo = o < rows ? q4_codes(blocks[o], base) : zeros;
        const uint8_t *hi = o + 8 < rows ? q4_codes(blocks[o + 8], base) : zeros;
        // Value v's tile byte: row o's code in the low nibble, row 8 + o's in the high one.
        uint8_t both[VK_QK];
        for (int j = 0; j < VK_QK / 2; j++) {
            both[j] = (uint8_t)((lo[j] & 0x0F) | (hi[j] << 4));
            both[j + VK_QK / 2] = (uint8_t)((lo[j] >> 4) | (hi[j] & 0xF0));
        }
        for (int p = 0; p < VK_QK / 2; p++) memcpy(tb + tile_value_byte(base, o, 2 * p, &high), both + 2 * p, 2);
    }
}

void vk_tile_get_block(const uint8_t *tb, vk_dtype base, int c, void *block) {
    memcpy(block, tb + 2 * c, 2);
    if (base == VK_Q4_1) memcpy(&((vk_block_q4_1 *)block)->m, tb + 32 + 2 * c, 2);
    uint8_t *qs = base == VK_Q8_0 ? NULL : base == VK_Q4_0 ? ((vk_block_q4_0 *)block)->qs : ((vk_block_q4_1 *)block)->qs;
    if (qs) memset(qs, 0, VK_QK / 2);
    for (int v = 0; v < VK_QK; v++) {
        bool high;
        const uint8_t byte = tb[tile_value_byte(base, c, v, &high)];
        if (base == VK_Q8_0) {
            ((vk_block_q8_0 *)block)->qs[v] = (int8_t)byte;
            continue;
        }
        const uint8_t code = high ? byte >> 4 : byte & 0xF;
        qs[v % (VK_QK / 2)] |= v < VK_QK / 2 ? code : (uint8_t)(code << 4);
    }
}
