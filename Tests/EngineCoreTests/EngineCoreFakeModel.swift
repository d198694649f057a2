// A deterministic stand-in for a transformer: each row's logits are a hash of the whole token
// prefix up to its position, and that prefix is read back THROUGH THE PAGED KV CACHE (block table
// + slots written by earlier steps). A wrong block id, a stale prefix-cache hit or a missing write
// changes the logits (or throws), so output equality checks KV handling end to end.

import Models
@testable import EngineCore

struct FakeModelError: Error, CustomStringConvertible {
    var description: String
}

final class FakeModel: CausalLanguageModel {
    let spec: ModelSpec
    private(set) var blockSize = 0
    private(set) var numBlocks = 0
    private var slotTokens: [Int32] = []
    private var slotPositions: [Int32] = []
    /// (tokens, seqs) of every forward call, for budget assertions.
    private(set) var batchShapes: [(tokens: Int, seqs: Int)] = []
    private(set) var totalRowsComputed = 0
    /// Throws on the next forward when set (fault injection).
    var failNextForward = false

    init(vocabSize: Int = 64, maxPositions: Int = 4096) {
        spec = ModelSpec(architecture: "FakeForCausalLM", vocabSize: vocabSize, maxPositionEmbeddings: maxPositions,
                         numLayers: 1, numKVHeads: 1, headDim: 1)
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize * 8 }

    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        slotTokens = [Int32](repeating: -1, count: numBlocks * blockSize)
        slotPositions = [Int32](repeating: -1, count: numBlocks * blockSize)
    }

    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        if failNextForward {
            failNextForward = false
            throw FakeModelError(description: "injected failure")
        }
        let vocab = spec.vocabSize
        guard logits.count == batch.logitRows.count * vocab else {
            throw FakeModelError(description: "logits buffer has \(logits.count) floats for \(batch.logitRows.count) rows")
        }
        guard batch.positions.count == batch.numTokens, batch.slotMapping.count == batch.numTokens,
              batch.seqLens.count == batch.numSeqs,
              batch.blockTables.count == batch.numSeqs * batch.maxBlocksPerSeq else {
            throw FakeModelError(description: "inconsistent batch shapes")
        }
        batchShapes.append((batch.numTokens, batch.numSeqs))
        totalRowsComputed += batch.numTokens
        for row in 0..<batch.numTokens {
            let slot = Int(batch.slotMapping[row])
            guard slot >= blockSize, slot < slotTokens.count else {
                throw FakeModelError(description: "row \(row) writes slot \(slot) (null block or out of range)")
            }
            slotTokens[slot] = batch.tokenIds[row]
            slotPositions[slot] = batch.positions[row]
        }
        for (i, logitRow) in batch.logitRows.enumerated() {
            let row = Int(logitRow)
            guard let seq = (0..<batch.numSeqs).first(where: { Int(batch.queryStart[$0 + 1]) > row }) else {
                throw FakeModelError(description: "logit row \(row) outside the batch")
            }
            let position = Int(batch.positions[row])
            var hash = FakeModel.seedHash
            for q in 0...position {
                let block = Int(batch.blockTables[seq * batch.maxBlocksPerSeq + q / blockSize])
                let slot = block * blockSize + q % blockSize
                guard block != BlockPool.nullBlockId, slotPositions[slot] == Int32(q) else {
                    throw FakeModelError(description: "seq \(seq) position \(q): KV slot \(slot) holds position \(slotPositions[slot])")
                }
                hash = FakeModel.mix(hash, Int(slotTokens[slot]))
            }
            FakeModel.fillLogits(hash: hash, into: UnsafeMutableBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)]))
        }
    }

    // MARK: - Reference (no KV cache): what the logits after `tokens` must be.

    static let seedHash: UInt64 = 0x1234_5678_9ABC_DEF0

    static func mix(_ hash: UInt64, _ token: Int) -> UInt64 {
        var z = hash ^ (UInt64(truncatingIfNeeded: token) &+ 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func fillLogits(hash: UInt64, into out: UnsafeMutableBufferPointer<Float>) {
        for v in 0..<out.count {
            let r = mix(hash, v &* 7919 &+ 1)
            // Values in [-4, 4): peaked enough that greedy and sampled runs differ from uniform.
            out[v] = Float(Double(r >> 11) / 9_007_199_254_740_992.0 * 8.0 - 4.0)
        }
    }

    func referenceLogits(_ tokens: [Int]) -> [Float] {
        var hash = FakeModel.seedHash
        for t in tokens { hash = FakeModel.mix(hash, t) }
        var out = [Float](repeating: 0, count: spec.vocabSize)
        out.withUnsafeMutableBufferPointer { FakeModel.fillLogits(hash: hash, into: $0) }
        return out
    }

    /// Greedy continuation computed without any cache.
    func referenceGreedy(prompt: [Int], maxTokens: Int) -> [Int] {
        var tokens = prompt
        for _ in 0..<maxTokens {
            let logits = referenceLogits(tokens)
            tokens.append(logits.withUnsafeBufferPointer { Sampler.argmax($0) })
        }
        return Array(tokens[prompt.count...])
    }
}
