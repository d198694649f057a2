import Backend
import CKernels
import XCTest

final class KernelsMatmulTests: XCTestCase {
    /// (m, k, n) covering decode, few-row and packed-panel paths, odd n (row-group and panel
    /// tails), k past one 256-wide k-block, k in several chunks of the batched quantized gemv
    /// (1280), and sizes big enough to use several threads.
    static let quantShapes = [(1, 64, 19), (1, 896, 64), (3, 96, 53), (7, 128, 9), (8, 64, 5), (37, 320, 200),
                              (37, 64, 19), (12, 512, 70), (5, 64, 11), (70, 96, 40), (300, 64, 24), (20, 1280, 37)]
    static let floatShapes = quantShapes + [(1, 37, 7), (3, 172, 64), (37, 300, 21), (2, 8, 3), (13, 9, 17)]

    func testMatmulEveryDTypeAndISA() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 3)
        forEachISA { isa in
            for dtype in allDTypes {
                let shapes = quantizedDTypes.contains(dtype) ? Self.quantShapes : Self.floatShapes
                for (m, k, n) in shapes {
                    let rawX = rng.floats(m * k)
                    let blob = encodeRows(rng.floats(n * k, scale: 0.5), rows: n, k: k, dtype: dtype)
                    let w = decodeRows(blob, rows: n, k: k, dtype: dtype)
                    // Quantized weights meet x rounded to 16-bit blocks; the reference uses the same x.
                    let x = rawX
                    let xReference = quantizedDTypes.contains(dtype) ? roundedTo16BitBlocks(rawX) : rawX
                    var y = [Float](repeating: .nan, count: m * n)
                    blob.withUnsafeBytes { wp in vk_matmul(&y, x, Int64(m), Int64(k), wp.baseAddress!, dtype, Int64(n)) }
                    let (want, bound) = referenceMatmul(xReference, w, m: m, k: k, n: n)
                    // With the activation rounding replicated, only fp32 rounding remains.
                    let rel: Float = 2e-5
                    assertClose(y, want, tolerance: { rel * bound[$0] + 1e-5 },
                                "\(isa) \(dtypeName(dtype)) m=\(m) k=\(k) n=\(n)")
                }
            }
        }
    }

    /// The activation rounding vk_matmul applies for quantized weights: blocks of 32 values,
    /// q = round-half-even(x / s) with s = max|x| / 32767, value q * s.
    func roundedTo16BitBlocks(_ x: [Float]) -> [Float] {
        var out = x
        for start in stride(from: 0, to: x.count, by: 32) {
            let block = x[start..<min(start + 32, x.count)]
            let scale = (block.map(abs).max() ?? 0) / 32767
            let inverse: Float = scale != 0 ? 1 / scale : 0
            for t in block.indices { out[t] = (x[t] * inverse).rounded(.toNearestOrEven) * scale }
        }
        return out
    }

    /// A row's result must not depend on how many other rows share the call while the gemv path
    /// serves it (below 64 rows for float weights, every m for quantized ones, prefill included):
    /// decode batches then give bit-identical logits.
    func testGemvRowsBitIdenticalAcrossBatchSizes() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 11)
        // Odd n exercises the single-weight-row tails; k = 300 (float only) the columns past the last 8;
        // k = 1280 (40 blocks) the k-chunks of the batched quantized gemv; n = 71 and 37 leave tails
        // past the last 16-output tile of the batched quantized kernel.
        for (k, n) in [(320, 71), (300, 37), (1280, 21)] {
            let x = rng.floats(250 * k)
            for dtype in allDTypes where k % 32 == 0 || !quantizedDTypes.contains(dtype) {
                let blob = encodeRows(rng.floats(n * k, scale: 0.5), rows: n, k: k, dtype: dtype)
                func run(_ m: Int) -> [Float] {
                    var y = [Float](repeating: .nan, count: m * n)
                    blob.withUnsafeBytes { vk_matmul(&y, x, Int64(m), Int64(k), $0.baseAddress!, dtype, Int64(n)) }
                    return y
                }
                let maxRows = quantizedDTypes.contains(dtype) ? 250 : 63
                let full = run(maxRows)
                for m in [1, 2, 5, 8, 9, 13, 16, 47, 64, 193, maxRows] where m <= maxRows {
                    let part = run(m)
                    XCTAssertEqual(part, Array(full[0..<(m * n)]),
                                   "\(dtypeName(dtype)) k=\(k) m=\(m) differs from the first rows of m=\(maxRows)")
                }
            }
        }
    }

    /// Weights sharing one x (q/k/v) must give exactly what separate calls give, on every path.
    func testSharedInputMatchesSeparateCalls() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 17)
        let k = 128
        let sizes = [40, 8, 23]
        for dtype in allDTypes {
            let blobs = sizes.map { encodeRows(rng.floats($0 * k, scale: 0.5), rows: $0, k: k, dtype: dtype) }
            for m in [1, 5, 30, 70, 200] {
                let x = rng.floats(m * k)
                var separate: [[Float]] = []
                for (blob, n) in zip(blobs, sizes) {
                    var y = [Float](repeating: .nan, count: m * n)
                    blob.withUnsafeBytes { vk_matmul(&y, x, Int64(m), Int64(k), $0.baseAddress!, dtype, Int64(n)) }
                    separate.append(y)
                }
                for count in [2, 3] {
                    // One buffer per output, allocated by hand: three inout arrays would overlap accesses.
                    let outputs = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: m * $0) }
                    defer { outputs.forEach { $0.deallocate() } }
                    for (y, n) in zip(outputs, sizes) { y.initialize(repeating: .nan, count: m * n) }
                    blobs[0].withUnsafeBytes { w0 in
                        blobs[1].withUnsafeBytes { w1 in
                            blobs[2].withUnsafeBytes { w2 in
                                let weights = [w0.baseAddress, w1.baseAddress, w2.baseAddress]
                                let parts = (0..<3).map { vk_matmul_part(y: outputs[$0], w: weights[$0], n: Int64(sizes[$0])) }
                                vk_matmul_shared_input(x, Int64(m), Int64(k), dtype, parts, Int32(count))
                            }
                        }
                    }
                    for i in 0..<count {
                        XCTAssertEqual(Array(UnsafeBufferPointer(start: outputs[i], count: m * sizes[i])), separate[i], "\(dtypeName(dtype)) m=\(m) part \(i) of \(count)")
                    }
                }
            }
        }
    }

    /// Every ISA must agree with the portable path closely (same activation rounding).
    func testISAPathsAgree() {
        let isas = CPUKernels.supportedISAs
        guard isas.count > 1 else { return }
        var rng = TestRNG(seed: 5)
        let (m, k, n) = (2, 256, 36)
        let x = rng.floats(m * k)
        let weights = rng.floats(n * k)
        for dtype in allDTypes {
            let blob = encodeRows(weights, rows: n, k: k, dtype: dtype)
            var results: [[Float]] = []
            forEachISA { _ in
                var y = [Float](repeating: 0, count: m * n)
                blob.withUnsafeBytes { vk_matmul(&y, x, Int64(m), Int64(k), $0.baseAddress!, dtype, Int64(n)) }
                results.append(y)
            }
            for r in results.dropFirst() { assertClose(r, results[0], abs: 1e-4, "ISA agreement \(dtypeName(dtype))") }
            // Quantized gemvs take the same rounding steps on every ISA (exact integer dots per block).
            if quantizedDTypes.contains(dtype) {
                for r in results.dropFirst() { XCTAssertEqual(r, results[0], "ISA bit agreement \(dtypeName(dtype))") }
            }
        }
    }
}
