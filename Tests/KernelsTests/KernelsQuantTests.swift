import CKernels
import XCTest

final class KernelsQuantTests: XCTestCase {
    func testRowBytes() {
        XCTAssertEqual(vk_row_bytes(VK_F32, 10), 40)
        XCTAssertEqual(vk_row_bytes(VK_F16, 10), 20)
        XCTAssertEqual(vk_row_bytes(VK_BF16, 7), 14)
        XCTAssertEqual(vk_row_bytes(VK_Q8_0, 64), 68)
        XCTAssertEqual(vk_row_bytes(VK_Q4_0, 64), 36)
        XCTAssertEqual(vk_row_bytes(VK_Q4_1, 96), 60)
    }

    /// Hand-built blocks pin the GGML byte layout: fp16 scale(s) first, low nibbles are the
    /// first 16 values, high nibbles the last 16.
    func testGGMLBlockLayouts() {
        let half = vk_f32_to_f16(0.5), quarter = vk_f32_to_f16(-0.25)
        var q40: [UInt8] = [UInt8(half & 0xff), UInt8(half >> 8)]
        var q41: [UInt8] = [UInt8(half & 0xff), UInt8(half >> 8), UInt8(quarter & 0xff), UInt8(quarter >> 8)]
        var q80: [UInt8] = [UInt8(half & 0xff), UInt8(half >> 8)]
        for j in 0..<16 {
            let byte = UInt8(j) | UInt8(15 - j) << 4
            q40.append(byte)
            q41.append(byte)
        }
        for j in 0..<32 { q80.append(UInt8(bitPattern: Int8(j * 8 - 128))) }
        let d40 = decodeRows(q40, rows: 1, k: 32, dtype: VK_Q4_0)
        let d41 = decodeRows(q41, rows: 1, k: 32, dtype: VK_Q4_1)
        let d80 = decodeRows(q80, rows: 1, k: 32, dtype: VK_Q8_0)
        for j in 0..<16 {
            XCTAssertEqual(d40[j], Float(j - 8) * 0.5)
            XCTAssertEqual(d40[j + 16], Float(15 - j - 8) * 0.5)
            XCTAssertEqual(d41[j], Float(j) * 0.5 - 0.25)
            XCTAssertEqual(d41[j + 16], Float(15 - j) * 0.5 - 0.25)
        }
        for j in 0..<32 { XCTAssertEqual(d80[j], Float(j * 8 - 128) * 0.5) }
    }

    func testQuantizeRoundTripStaysWithinHalfAStep() {
        var rng = TestRNG(seed: 11)
        let k = 256
        var x = rng.floats(k, scale: 3)
        x[5] = 0 // a block with zeros and a constant block exercise the d == 0 paths
        for j in 64..<96 { x[j] = 0 }
        for j in 96..<128 { x[j] = 1.5 }
        for dtype in allDTypes {
            let back = decodeRows(encodeRows(x, rows: 1, k: k, dtype: dtype), rows: 1, k: k, dtype: dtype)
            for b in 0..<(k / 32) {
                let block = x[(b * 32)..<(b * 32 + 32)]
                let amax = block.map(abs).max()!, lo = block.min()!, hi = block.max()!
                let tol: Float
                switch dtype {
                case VK_F32: tol = 0
                case VK_F16: tol = amax / 1024
                case VK_BF16: tol = amax / 128
                case VK_Q8_0: tol = amax / 127 * 0.6
                case VK_Q4_0: tol = amax / 8 * 1.1 // the end opposite the max clamps at q = 15
                default: tol = (hi - lo) / 15 * 0.6 + abs(lo) / 1024
                }
                for j in (b * 32)..<(b * 32 + 32) {
                    XCTAssertLessThanOrEqual(abs(back[j] - x[j]), tol, "\(dtypeName(dtype)) [\(j)]")
                }
            }
        }
    }
}
