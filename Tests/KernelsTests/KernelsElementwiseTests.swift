import Backend
import CKernels
import Foundation
import XCTest

final class KernelsElementwiseTests: XCTestCase {
    func testRMSNormAllISAs() {
        var rng = TestRNG(seed: 21)
        forEachISA { isa in
            for (rows, dim) in [(1, 64), (3, 896), (200, 576), (2, 7)] {
                let x = rng.floats(rows * dim, scale: 2), w = rng.floats(dim)
                var out = [Float](repeating: 0, count: rows * dim)
                vk_rmsnorm(&out, x, w, Int64(rows), Int64(dim), 1e-6)
                var want = [Float](repeating: 0, count: rows * dim)
                for r in 0..<rows {
                    let ss = (0..<dim).reduce(0.0) { $0 + Double(x[r * dim + $1]) * Double(x[r * dim + $1]) }
                    let inv = 1 / (ss / Double(dim) + 1e-6).squareRoot()
                    for i in 0..<dim { want[r * dim + i] = Float(Double(x[r * dim + i]) * inv * Double(w[i])) }
                }
                assertClose(out, want, abs: 1e-5, "\(isa) rmsnorm \(rows)x\(dim)")
                var inPlace = x
                inPlace.withUnsafeMutableBufferPointer { vk_rmsnorm($0.baseAddress!, $0.baseAddress!, w, Int64(rows), Int64(dim), 1e-6) }
                XCTAssertEqual(inPlace, out, "in-place rmsnorm")
            }
        }
    }

    func testRopeBothStylesAndPartialRotary() {
        var rng = TestRNG(seed: 8)
        let (rows, heads, headDim) = (5, 3, 16)
        let positions: [Int32] = [0, 1, 7, 300, 4095]
        for rotary in [16, 8] {
            let invFreq = (0..<(rotary / 2)).map { Float(1 / pow(10000.0, Double(2 * $0) / Double(rotary))) }
            for neox in [1, 0] {
                let x = rng.floats(rows * heads * headDim)
                var got = x
                vk_rope(&got, Int64(rows), Int64(heads), Int64(headDim), Int64(rotary), positions, invFreq, Int32(neox))
                var want = x
                for r in 0..<rows {
                    for h in 0..<heads {
                        let base = (r * heads + h) * headDim
                        for i in 0..<(rotary / 2) {
                            let angle = Double(Float(positions[r]) * invFreq[i])
                            let (a, b) = neox == 1 ? (base + i, base + i + rotary / 2) : (base + 2 * i, base + 2 * i + 1)
                            want[a] = Float(Double(x[a]) * cos(angle) - Double(x[b]) * sin(angle))
                            want[b] = Float(Double(x[b]) * cos(angle) + Double(x[a]) * sin(angle))
                        }
                    }
                }
                assertClose(got, want, abs: 2e-5, "rope neox=\(neox) rotary=\(rotary)")
            }
        }
    }

    func testSoftmaxSiluAddBias() {
        var rng = TestRNG(seed: 4)
        forEachISA { isa in
            for n in [1, 5, 151, 4096] {
                var x = rng.floats(n, scale: 30)
                x[0] = -1000 // far below the max: must underflow to ~0, not NaN
                let maxV = x.max()!
                let exps = x.map { exp(Double($0 - maxV)) }
                let total = exps.reduce(0, +)
                vk_softmax(&x, Int64(n))
                assertClose(x, exps.map { Float($0 / total) }, tolerance: { _ in 1e-6 }, "\(isa) softmax n=\(n)")
            }
            let n = 70001 // large enough to split across threads, odd tail
            let gate = rng.floats(n, scale: 12), up = rng.floats(n)
            var out = [Float](repeating: 0, count: n)
            vk_silu_mul(&out, gate, up, Int64(n))
            let want = (0..<n).map { Float(Double(gate[$0]) / (1 + exp(-Double(gate[$0]))) * Double(up[$0])) }
            assertClose(out, want, tolerance: { 2e-6 * max(1, abs(want[$0])) }, "\(isa) silu_mul")
        }
        var y: [Float] = [1, 2, 3, 4, 5, 6]
        vk_add(&y, [1, 1, 1, 1, 1, 1], 6)
        XCTAssertEqual(y, [2, 3, 4, 5, 6, 7])
        vk_add_bias(&y, [10, 20, 30], 2, 3)
        XCTAssertEqual(y, [12, 23, 34, 15, 26, 37])
    }

    func testEmbedEveryDType() {
        var rng = TestRNG(seed: 9)
        let (vocab, dim) = (10, 64)
        let table = rng.floats(vocab * dim)
        let ids: [Int32] = [3, 0, 9, 3]
        for dtype in allDTypes {
            let blob = encodeRows(table, rows: vocab, k: dim, dtype: dtype)
            let decoded = decodeRows(blob, rows: vocab, k: dim, dtype: dtype)
            var out = [Float](repeating: .nan, count: ids.count * dim)
            blob.withUnsafeBytes { vk_embed(&out, $0.baseAddress!, dtype, Int64(dim), ids, Int64(ids.count)) }
            let want = ids.flatMap { decoded[Int($0) * dim..<(Int($0) + 1) * dim] }
            XCTAssertEqual(out, want, "embed \(dtypeName(dtype))")
        }
    }
}
