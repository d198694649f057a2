// fp16 / bf16 <-> fp32 conversions, bit-exact with IEEE round-to-nearest-even.
#include "vk_internal.h"

float vk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0) {
        // Zero or subnormal: man * 2^-24 is exact in fp32.
        float v = (float)man * 5.9604644775390625e-08f;
        return vk_bits_f32(vk_f32_bits(v) | sign);
    }
    if (exp == 31) return vk_bits_f32(sign | 0x7f800000u | (man << 13));
    return vk_bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t vk_f32_to_f16(float f) {
    uint32_t x = vk_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff)); // NaN stays NaN
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);                       // >= 65520 -> inf
    if (ax < 0x38800000u) {                                                        // half subnormal
        if (ax <= 0x33000000u) return (uint16_t)sign;                                // <= 2^-25 -> 0
        uint32_t e = ax >> 23, man = (ax & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126 - e; // 14 ... 24
        uint32_t r = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = (ax - 0x38000000u) >> 13, rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++; // a carry into the exponent is correct
    return (uint16_t)(sign | r);
}

float vk_bf16_to_f32(uint16_t h) { return vk_bits_f32((uint32_t)h << 16); }

uint16_t vk_f32_to_bf16(float f) {
    uint32_t x = vk_f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x0040); // keep NaN quiet
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
