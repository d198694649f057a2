import Backend
import CKernels
import XCTest

/// Q8_0 / Q4_0 / Q4_1 weights repacked into tiles of 16 outputs (VK_Q8_0_TILES, VK_Q4_0_TILES, VK_Q4_1_TILES).
final class KernelsQuantTilesTests: XCTestCase {
    /// The tiled layout of a GGML type, whatever the active instruction set prefers.
    static func tiles(_ stored: vk_dtype) -> vk_dtype {
        stored == VK_Q8_0 ? VK_Q8_0_TILES : stored == VK_Q4_0 ? VK_Q4_0_TILES : VK_Q4_1_TILES
    }

    func pack(_ rows: [UInt8], stored: vk_dtype, n: Int, k: Int) -> [UInt8] {
        let layout = Self.tiles(stored)
        var out = [UInt8](repeating: 0xAB, count: vk_packed_bytes(layout, Int64(n), Int64(k)))
        rows.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { vk_pack_weights(src.baseAddress!, layout, Int64(n), Int64(k), $0.baseAddress!) }
        }
        return out
    }

    func testLayoutsAndSizes() {
        forEachISA { isa in
            let tiled = isa != .scalar
            for stored in quantizedDTypes {
                XCTAssertEqual(vk_packed_layout(stored), tiled ? Self.tiles(stored) : stored,
                               "\(isa) \(dtypeName(stored)): tiles only where a tile kernel exists")
            }
            XCTAssertEqual(vk_packed_layout(VK_BF16), VK_BF16_PANELS, "\(isa)")
            XCTAssertEqual(vk_packed_layout(VK_F32), VK_F32, "F32 stays as stored")
        }
        XCTAssertEqual(vk_packed_bytes(VK_Q8_0_TILES, 17, 64), 32 * 2 * 34, "two tiles of 16 rows x 2 blocks")
        XCTAssertEqual(vk_packed_bytes(VK_Q4_1_TILES, 16, 32), 16 * 20)
        XCTAssertEqual(vk_packed_bytes(VK_Q4_0_TILES, 16, 40), 0, "k % 32 != 0 cannot be tiled")
        XCTAssertEqual(vk_packed_bytes(VK_Q8_0, 16, 64), 0, "row-major types are not packed layouts")
    }

    /// The layout documented at vk_pack_weights, byte by byte, from the GGML blocks of each row.
    func testPackedLayout() {
        var rng = TestRNG(seed: 61)
        let n = 21, k = 64, nb = k / 32
        for stored in quantizedDTypes {
            let rows = encodeRows(rng.floats(n * k), rows: n, k: k, dtype: stored)
            let packed = pack(rows, stored: stored, n: n, k: k)
            let blockBytes = vk_row_bytes(stored, 32), rowBytes = vk_row_bytes(stored, Int64(k))
            let valuesAt = stored == VK_Q4_1 ? 64 : 32
            for t in 0..<2 {
                for b in 0..<nb {
                    let tb = (t * nb + b) * 16 * blockBytes
                    for c in 0..<16 {
                        let row = 16 * t + c, what = "\(dtypeName(stored)) row \(row) block \(b)"
                        // The row's GGML block, or zeros past n.
                        let block = row < n ? Array(rows[(row * rowBytes + b * blockBytes)..<(row * rowBytes + (b + 1) * blockBytes)])
                            : [UInt8](repeating: 0, count: blockBytes)
                        XCTAssertEqual(Array(packed[(tb + 2 * c)..<(tb + 2 * c + 2)]), Array(block[0..<2]), "\(what): d")
                        if stored == VK_Q4_1 {
                            XCTAssertEqual(Array(packed[(tb + 32 + 2 * c)..<(tb + 34 + 2 * c)]), Array(block[2..<4]), "\(what): m")
                        }
                        for v in 0..<32 {
                            let (p, e) = (v / 2, v % 2)
                            if stored == VK_Q8_0 {
                                XCTAssertEqual(packed[tb + valuesAt + 32 * p + 16 * (c / 8) + 2 * (c % 8) + e], block[2 + v],
                                               "\(what): value \(v)")
                            } else {
                                let qs = Array(block[(blockBytes - 16)...])
                                let code = v < 16 ? qs[v] & 0xF : qs[v - 16] >> 4
                                let byte = packed[tb + valuesAt + 16 * p + 2 * (c % 8) + e]
                                XCTAssertEqual(c < 8 ? byte & 0xF : byte >> 4, code, "\(what): value \(v)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// Tiles give the row-major kernels' bits (validated against a reference in KernelsQuantTests) on
    /// every instruction set: batch 1 (four tiles at a time, two, one, a partial tile), batches
    /// of every row-group remainder, and prefill-sized batches across row blocks.
    func testMatchesRowMajorBitForBit() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 67)
        let shapes = [(32, 16), (96, 37), (64, 71), (288, 48), (32, 5)]
        forEachISA { isa in
            for stored in quantizedDTypes {
                for (k, n) in shapes {
                    let rows = encodeRows(rng.floats(n * k), rows: n, k: k, dtype: stored)
                    let tiles = pack(rows, stored: stored, n: n, k: k)
                    let x = rng.floats(200 * k, scale: 2)
                    for m in [1, 2, 3, 4, 5, 7, 16, 17, 32, 130, 200] {
                        let xm = Array(x[0..<(m * k)])
                        XCTAssertEqual(matmul(xm, m: m, k: k, tiles, Self.tiles(stored), n: n),
                                       matmul(xm, m: m, k: k, rows, stored, n: n),
                                       "\(isa) \(dtypeName(stored)) m=\(m) k=\(k) n=\(n)")
                    }
                }
            }
        }
    }

    /// Shared-input calls (q/k/v) give the results of separate calls, whether the parts are whole tiles
    /// (one parallel region) or not (run one by one).
    func testSharedInputMatchesSeparateCalls() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 71)
        let k = 96
        for sizes in [[48, 16, 32], [40, 8, 23]] {
            for m in [1, 3] {
                let x = rng.floats(m * k)
                let blobs = sizes.map { pack(encodeRows(rng.floats($0 * k), rows: $0, k: k, dtype: VK_Q4_1), stored: VK_Q4_1, n: $0, k: k) }
                let separate = zip(blobs, sizes).map { matmul(x, m: m, k: k, $0, VK_Q4_1_TILES, n: $1) }
                let shared = sharedInputMatmul(x, m: m, k: k, blobs, VK_Q4_1_TILES, sizes: sizes)
                for i in sizes.indices {
                    XCTAssertEqual(shared[i], separate[i], "sizes \(sizes) m=\(m): part \(i)")
                }
            }
        }
    }
}
