import Backend
import CKernels
import Foundation
import XCTest

final class KernelsAttentionTests: XCTestCase {
    struct Seq {
        var seqLen: Int
        var qLen: Int
    }

    /// Mixed batch: a prefill chunk starting mid-sequence, a full prefill, several decodes;
    /// non-contiguous block ids; KV written through vk_kv_store; checked against naive attention.
    func testPagedAttentionMatchesNaiveAttention() {
        CPUKernels.initialize(threads: 2)
        var rng = TestRNG(seed: 99)
        // Decode rows past 512 positions are split by context part and merged (1100: parts of 512, 512
        // and 76; 1024: two full parts); 600 positions with two rows are not split.
        let seqs = [Seq(seqLen: 37, qLen: 13), Seq(seqLen: 20, qLen: 1), Seq(seqLen: 1, qLen: 1),
                    Seq(seqLen: 25, qLen: 25), Seq(seqLen: 50, qLen: 1), Seq(seqLen: 70, qLen: 40),
                    Seq(seqLen: 1100, qLen: 1), Seq(seqLen: 1024, qLen: 1), Seq(seqLen: 600, qLen: 2)]
        forEachISA { isa in
            // 12 query heads on one kv head: a split decode row must not take the prefill tile path.
            for (blockSize, headDim, heads, kvHeads) in [(16, 64, 8, 4), (4, 8, 8, 4), (16, 80, 6, 1), (4, 128, 4, 4),
                                                          (16, 32, 12, 1)] {
                for cacheType in [VK_F32, VK_F16] {
                    check(isa: isa, seqs: seqs, blockSize: blockSize, headDim: headDim, heads: heads, kvHeads: kvHeads,
                          cacheType: cacheType, rng: &rng)
                }
            }
        }
    }

    /// An fp16 cache must give naive attention over K and V rounded to fp16.
    private func check(isa: KernelISA, seqs: [Seq], blockSize: Int, headDim: Int, heads: Int, kvHeads: Int,
                       cacheType: vk_dtype, rng: inout TestRNG) {
        let kvDim = kvHeads * headDim
        let maxBlocks = seqs.map { ($0.seqLen + blockSize - 1) / blockSize }.max()!
        let numBlocks = seqs.count * maxBlocks + 7
        // Shuffled physical block ids so that no sequence owns a contiguous run.
        var pool = Array(0..<numBlocks)
        for i in stride(from: pool.count - 1, to: 0, by: -1) { pool.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        var tables = [Int32](repeating: 0, count: seqs.count * maxBlocks)
        var next = 0
        for (s, seq) in seqs.enumerated() {
            for b in 0..<((seq.seqLen + blockSize - 1) / blockSize) {
                tables[s * maxBlocks + b] = Int32(pool[next])
                next += 1
            }
        }
        // An fp16 cache uses the first half of each buffer's bytes.
        let kCache = AlignedFloatBuffer(count: numBlocks * blockSize * kvDim)
        let vCache = AlignedFloatBuffer(count: numBlocks * blockSize * kvDim)
        let rounded: (Float) -> Float = { cacheType == VK_F16 ? vk_f16_to_f32(vk_f32_to_f16($0)) : $0 }
        var keys: [[Float]] = [], values: [[Float]] = []
        var queryStart: [Int32] = [0]
        var q: [Float] = []
        var stepK: [Float] = [], stepV: [Float] = [], stepSlots: [Int32] = []
        for (s, seq) in seqs.enumerated() {
            keys.append(rng.floats(seq.seqLen * kvDim, scale: 2))
            values.append(rng.floats(seq.seqLen * kvDim))
            let slot = { (pos: Int) in Int32(Int(tables[s * maxBlocks + pos / blockSize]) * blockSize + pos % blockSize) }
            // Earlier steps' tokens go in first; this step's rows follow in the batch.
            let history = seq.seqLen - seq.qLen
            let slots = (0..<history).map(slot)
            vk_kv_store(kCache.pointer, vCache.pointer, cacheType, keys[s], values[s], slots, Int64(history), Int64(kvHeads),
                        Int64(headDim), Int64(blockSize))
            for pos in history..<seq.seqLen {
                stepSlots.append(slot(pos))
                stepK += keys[s][(pos * kvDim)..<((pos + 1) * kvDim)]
                stepV += values[s][(pos * kvDim)..<((pos + 1) * kvDim)]
            }
            q += rng.floats(seq.qLen * heads * headDim, scale: 1.5)
            queryStart.append(queryStart.last! + Int32(seq.qLen))
        }
        // A padding row with slot -1 must not be written anywhere.
        let before = kCache.toArray()
        vk_kv_store(kCache.pointer, vCache.pointer, cacheType, [Float](repeating: 1e9, count: kvDim),
                    [Float](repeating: 1e9, count: kvDim), [-1], 1, Int64(kvHeads), Int64(headDim), Int64(blockSize))
        XCTAssertEqual(kCache.toArray(), before, "slot -1 must be skipped")
        vk_kv_store(kCache.pointer, vCache.pointer, cacheType, stepK, stepV, stepSlots, Int64(stepSlots.count), Int64(kvHeads),
                    Int64(headDim), Int64(blockSize))

        let totalRows = Int(queryStart.last!)
        var out = [Float](repeating: .nan, count: totalRows * heads * headDim)
        let seqLens = seqs.map { Int32($0.seqLen) }
        let scale = 1 / Float(headDim).squareRoot()
        queryStart.withUnsafeBufferPointer { qs in
            seqLens.withUnsafeBufferPointer { sl in
                tables.withUnsafeBufferPointer { bt in
                    var meta = vk_attn_meta(num_seqs: Int32(seqs.count), query_start: qs.baseAddress,
                                            seq_lens: sl.baseAddress, block_tables: bt.baseAddress,
                                            max_blocks_per_seq: Int32(maxBlocks), block_size: Int32(blockSize))
                    vk_paged_attention(&out, q, kCache.pointer, vCache.pointer, cacheType, Int64(heads), Int64(kvHeads),
                                       Int64(headDim), scale, &meta)
                }
            }
        }

        var want = [Float](repeating: 0, count: out.count)
        let group = heads / kvHeads
        for (s, seq) in seqs.enumerated() {
            for i in 0..<seq.qLen {
                let row = Int(queryStart[s]) + i
                let visible = seq.seqLen - seq.qLen + i + 1
                for h in 0..<heads {
                    let g = h / group
                    let qv = q[((row * heads + h) * headDim)..<((row * heads + h + 1) * headDim)]
                    let scores = (0..<visible).map { p -> Double in
                        var d = 0.0
                        for t in 0..<headDim { d += Double(qv[qv.startIndex + t]) * Double(rounded(keys[s][p * kvDim + g * headDim + t])) }
                        return d * Double(scale)
                    }
                    let mx = scores.max()!
                    let e = scores.map { exp($0 - mx) }
                    let total = e.reduce(0, +)
                    for t in 0..<headDim {
                        var acc = 0.0
                        for p in 0..<visible { acc += e[p] * Double(rounded(values[s][p * kvDim + g * headDim + t])) }
                        want[(row * heads + h) * headDim + t] = Float(acc / total)
                    }
                }
            }
        }
        assertClose(out, want, abs: 2e-5, "\(isa) \(dtypeName(cacheType)) cache attention bs=\(blockSize) hd=\(headDim) h=\(heads)/\(kvHeads)")
    }
}
