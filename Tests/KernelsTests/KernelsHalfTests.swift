import CKernels
import XCTest

final class KernelsHalfTests: XCTestCase {
    func testEveryF16RoundTripsThroughF32() {
        for bits in 0...UInt16.max {
            let f = vk_f16_to_f32(bits)
            let reference = Float(Float16(bitPattern: bits))
            if reference.isNaN {
                XCTAssertTrue(f.isNaN, "f16 \(bits) should decode to NaN")
                XCTAssertTrue(Float16(bitPattern: vk_f32_to_f16(f)).isNaN, "NaN \(bits) must stay NaN")
            } else {
                XCTAssertEqual(f.bitPattern, reference.bitPattern, "decode \(bits)")
                XCTAssertEqual(vk_f32_to_f16(f), bits, "round trip \(bits)")
            }
        }
    }

    func testF32ToF16RoundsToNearestEvenLikeSwift() {
        var rng = TestRNG(seed: 7)
        var samples: [Float] = [0, -0, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 2.9802322e-8, 5.9604645e-8,
                                6.1035156e-5, 6.1e-5, .infinity, -.infinity, 1 + 1.0 / 2048, 1 + 3.0 / 2048]
        for _ in 0..<20000 {
            let exponent = Float(Int(rng.next() % 40) - 28)
            samples.append(rng.float() * Float(pow(2.0, Double(exponent))))
        }
        // Random bit patterns cover halfway cases and subnormals with odd/even neighbours.
        for _ in 0..<20000 { samples.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))) }
        for f in samples where !f.isNaN {
            XCTAssertEqual(vk_f32_to_f16(f), Float16(f).bitPattern, "f32 \(f) (bits \(f.bitPattern))")
        }
    }

    /// The fp16 KV cache is written by each ISA's row converter (F16C on AVX2); every value, NaN
    /// payloads included, must match the scalar vk_f32_to_f16.
    func testKVStoreRoundsLikeTheScalarConverter() {
        var rng = TestRNG(seed: 11)
        let headDim = 68 // 8 vectors of 8 plus a scalar tail of 4
        var values: [Float] = [0, -0, 65504, 65519.99, 65520, -65520, 1e-8, 2.9802322e-8, 5.9604645e-8, 6.1e-5,
                               .infinity, -.infinity, .nan, Float(bitPattern: 0x7FA0_1234), Float(bitPattern: 0xFFC0_0001),
                               1 + 1.0 / 2048, 1 + 3.0 / 2048]
        while values.count % headDim != 0 || values.count < 40 * headDim {
            values.append(Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())))
        }
        let tokens = values.count / headDim
        let expected = values.map { vk_f32_to_f16($0) }
        forEachISA { isa in
            // One kv head, block size 1: token t's row lands in block t, contiguous.
            var keys = [UInt16](repeating: 0, count: values.count)
            var vals = [UInt16](repeating: 0, count: values.count)
            let slots = (0..<tokens).map { Int32($0) }
            vk_kv_store(&keys, &vals, VK_F16, values, values, slots, Int64(tokens), 1, Int64(headDim), 1)
            XCTAssertEqual(keys, expected, "\(isa) keys")
            XCTAssertEqual(vals, expected, "\(isa) values")
        }
    }

    func testBF16Conversions() {
        XCTAssertEqual(vk_f32_to_bf16(1.0), 0x3F80)
        // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
        XCTAssertEqual(vk_f32_to_bf16(Float(bitPattern: 0x3F80_8000)), 0x3F80)
        XCTAssertEqual(vk_f32_to_bf16(Float(bitPattern: 0x3F81_8000)), 0x3F82)
        XCTAssertEqual(vk_f32_to_bf16(Float(bitPattern: 0x3F80_8001)), 0x3F81)
        XCTAssertEqual(vk_f32_to_bf16(.infinity), 0x7F80)
        XCTAssertEqual(vk_f32_to_bf16(Float(bitPattern: 0x7F7F_FFFF)), 0x7F80, "max float rounds to inf")
        for payload: UInt32 in [0x7F80_0001, 0x7FC0_0000, 0xFF80_0001, 0x7FFF_FFFF] {
            let h = vk_f32_to_bf16(Float(bitPattern: payload))
            XCTAssertTrue(vk_bf16_to_f32(h).isNaN, "NaN \(String(payload, radix: 16)) must stay NaN")
        }
        XCTAssertEqual(vk_bf16_to_f32(0xC040), -3.0)
    }
}
