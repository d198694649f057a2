import Backend
import CKernels
import XCTest

/// BF16 and F16 weights repacked into tiles of 16 outputs, [k][16] each (VK_BF16_PANELS, VK_F16_PANELS).
final class KernelsPanelTests: XCTestCase {
    struct Layout {
        let dtype: vk_dtype
        let name: String
        let encode: (Float) -> UInt16
        let decode: (UInt16) -> Float
        let slot: (Int) -> Int
    }

    static let layouts = [
        Layout(dtype: VK_BF16_PANELS, name: "bf16", encode: { vk_f32_to_bf16($0) }, decode: { vk_bf16_to_f32($0) },
               slot: { $0 < 8 ? 2 * $0 : 2 * ($0 - 8) + 1 }),
        Layout(dtype: VK_F16_PANELS, name: "f16", encode: { vk_f32_to_f16($0) }, decode: { vk_f16_to_f32($0) },
               slot: { $0 }),
    ]

    func pack(_ rows: [UInt16], _ layout: Layout, n: Int, k: Int) -> [UInt16] {
        var out = [UInt16](repeating: 0xFFFF, count: vk_packed_bytes(layout.dtype, Int64(n), Int64(k)) / 2)
        rows.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer {
                vk_pack_weights(src.baseAddress!, layout.dtype, Int64(n), Int64(k), $0.baseAddress!)
            }
        }
        return out
    }

    /// The documented layout: row 16t + c, column kk at t * 16k + 16kk + slot(c), rows past n zero.
    func testPackedLayout() {
        let n = 21, k = 5
        let rows = (0..<(n * k)).map { UInt16($0 + 1) }
        for layout in Self.layouts {
            let packed = pack(rows, layout, n: n, k: k)
            XCTAssertEqual(packed.count, 32 * k, "two tiles of 16 rows")
            for t in 0..<2 {
                for c in 0..<16 {
                    for kk in 0..<k {
                        let row = 16 * t + c
                        XCTAssertEqual(packed[t * 16 * k + kk * 16 + layout.slot(c)], row < n ? rows[row * k + kk] : 0,
                                       "\(layout.name): row \(row) column \(kk)")
                    }
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
            for layout in Self.layouts {
                for (m, k, n) in shapes {
                    let x = rng.floats(m * k)
                    let rows = rng.floats(n * k, scale: 0.5).map(layout.encode)
                    let w = rows.map(layout.decode)
                    let y = matmul(x, m: m, k: k, pack(rows, layout, n: n, k: k), layout.dtype, n: n)
                    let (want, bound) = referenceMatmul(x, w, m: m, k: k, n: n)
                    assertClose(y, want, tolerance: { 2e-5 * bound[$0] + 1e-5 },
                                "\(isa) \(layout.name) m=\(m) k=\(k) n=\(n)")
                }
            }
        }
    }

    /// Every batch size runs the same arithmetic per output, the in-register gemv below 128 rows and
    /// the panel GEMM from there: a row's result is the same bits at any m, prefill included.
    func testRowsBitIdenticalAcrossBatchSizes() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 43)
        forEachISA { isa in
            for layout in Self.layouts {
                for (k, n) in [(600, 71), (256, 16), (40, 5)] {
                    let x = rng.floats(200 * k)
                    let panels = pack(rng.floats(n * k, scale: 0.5).map(layout.encode), layout, n: n, k: k)
                    let full = matmul(x, m: 200, k: k, panels, layout.dtype, n: n)
                    for m in [1, 2, 3, 4, 5, 6, 7, 13, 47, 127, 128, 129] {
                        XCTAssertEqual(matmul(x, m: m, k: k, panels, layout.dtype, n: n), Array(full[0..<(m * n)]),
                                       "\(isa) \(layout.name) k=\(k) n=\(n): m=\(m) differs from the first rows of m=200")
                    }
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
        let layout = Self.layouts[0]
        let blobs = sizes.map { pack(rng.floats($0 * k, scale: 0.5).map(layout.encode), layout, n: $0, k: k) }
        let separate = zip(blobs, sizes).map { matmul(x, m: m, k: k, $0, layout.dtype, n: $1) }
        let shared = sharedInputMatmul(x, m: m, k: k, blobs, layout.dtype, sizes: sizes)
        for i in sizes.indices {
            XCTAssertEqual(shared[i], separate[i], "part \(i)")
        }
    }
}
