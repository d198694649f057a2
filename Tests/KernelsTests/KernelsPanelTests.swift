import Backend
import CKernels
import XCTest

/// BF16 weights repacked into VK_BF16_PANELS (tiles of 16 outputs, [k][16] each).
final class KernelsPanelTests: XCTestCase {
    func bf16Rows(_ values: [Float]) -> [UInt16] { values.map { vk_f32_to_bf16($0) } }

    func pack(_ rows: [UInt16], n: Int, k: Int) -> [UInt16] {
        var out = [UInt16](repeating: 0xFFFF, count: vk_panel_bytes(Int64(n), Int64(k)) / 2)
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { vk_pack_bf16_panels(src.baseAddress!, Int64(n), Int64(k), $0.baseAddress!) }
        }
        return out
    }

    func matmul(_ x: [Float], m: Int, k: Int, panels: [UInt16], n: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: m * n)
        panels.withUnsafeBytes { vk_matmul(&y, x, Int64(m), Int64(k), $0.baseAddress!, VK_BF16_PANELS, Int64(n)) }
        return y
    }

    /// The documented layout: row 16t + c, column kk at t * 16k + 16kk + slot(c), rows past n zero.
    func testPackedLayout() {
        let n = 21, k = 5
        let rows = (0..<(n * k)).map { UInt16($0 + 1) }
        let packed = pack(rows, n: n, k: k)
        XCTAssertEqual(packed.count, 32 * k, "two tiles of 16 rows")
        for t in 0..<2 {
            for c in 0..<16 {
                let slot = c < 8 ? 2 * c : 2 * (c - 8) + 1
                for kk in 0..<k {
                    let row = 16 * t + c
                    XCTAssertEqual(packed[t * 16 * k + kk * 16 + slot], row < n ? rows[row * k + kk] : 0,
                                   "row \(row) column \(kk)")
                }
            }
        }
    }

    /// Against a double-precision reference on the bf16 values, on every instruction set, for one row
    /// (4 tiles at a time), 2 and 3 rows (several tiles), row groups, the GEMM from 128 rows, tails of
    /// tiles (n % 16) and of 256-column blocks (k = 300, 600).
    func testMatchesReferenceEveryISA() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 41)
        let shapes = [(1, 64, 80), (1, 300, 37), (2, 40, 53), (3, 600, 21), (4, 96, 16), (5, 8, 5), (7, 300, 70),
                      (13, 64, 33), (64, 128, 19), (130, 300, 37)]
        forEachISA { isa in
            for (m, k, n) in shapes {
                let x = rng.floats(m * k)
                let rows = bf16Rows(rng.floats(n * k, scale: 0.5))
                let w = rows.map { vk_bf16_to_f32($0) }
                let y = matmul(x, m: m, k: k, panels: pack(rows, n: n, k: k), n: n)
                var want = [Float](repeating: 0, count: m * n), bound = want
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0, a = 0.0
                        for t in 0..<k {
                            s += Double(x[i * k + t]) * Double(w[j * k + t])
                            a += abs(Double(x[i * k + t]) * Double(w[j * k + t]))
                        }
                        want[i * n + j] = Float(s)
                        bound[i * n + j] = Float(a)
                    }
                }
                assertClose(y, want, tolerance: { 2e-5 * bound[$0] + 1e-5 }, "\(isa) m=\(m) k=\(k) n=\(n)")
            }
        }
    }

    /// Every batch size runs the same arithmetic per output, the in-register gemv below 128 rows and
    /// the panel GEMM from there: a row's result is the same bits at any m, prefill included.
    func testRowsBitIdenticalAcrossBatchSizes() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 43)
        forEachISA { isa in
            for (k, n) in [(600, 71), (256, 16), (40, 5)] {
                let x = rng.floats(200 * k)
                let panels = pack(bf16Rows(rng.floats(n * k, scale: 0.5)), n: n, k: k)
                let full = matmul(x, m: 200, k: k, panels: panels, n: n)
                for m in [1, 2, 3, 4, 5, 6, 7, 13, 47, 127, 128, 129] {
                    XCTAssertEqual(matmul(x, m: m, k: k, panels: panels, n: n), Array(full[0..<(m * n)]),
                                   "\(isa) k=\(k) n=\(n): m=\(m) differs from the first rows of m=200")
                }
            }
        }
    }

    /// Shared-input calls (q/k/v) with panels run each part alone: same results as separate calls.
    func testSharedInputMatchesSeparateCalls() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 47)
        let k = 96, sizes = [40, 8, 23], m = 3
        let x = rng.floats(m * k)
        let blobs = sizes.map { pack(bf16Rows(rng.floats($0 * k, scale: 0.5)), n: $0, k: k) }
        let separate = zip(blobs, sizes).map { matmul(x, m: m, k: k, panels: $0, n: $1) }
        let outputs = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: m * $0) }
        defer { outputs.forEach { $0.deallocate() } }
        blobs[0].withUnsafeBytes { w0 in
            blobs[1].withUnsafeBytes { w1 in
                blobs[2].withUnsafeBytes { w2 in
                    let parts = [vk_matmul_part(y: outputs[0], w: w0.baseAddress!, n: Int64(sizes[0])),
                                 vk_matmul_part(y: outputs[1], w: w1.baseAddress!, n: Int64(sizes[1])),
                                 vk_matmul_part(y: outputs[2], w: w2.baseAddress!, n: Int64(sizes[2]))]
                    vk_matmul_shared_input(x, Int64(m), Int64(k), VK_BF16_PANELS, parts, 3)
                }
            }
        }
        for (i, n) in sizes.enumerated() {
            XCTAssertEqual(Array(UnsafeBufferPointer(start: outputs[i], count: m * n)), separate[i], "part \(i)")
        }
    }
}
