// Exactness of verification for sampled requests: tokens emitted at draft positions follow the target's
// distribution (temperature, top-k, top-p, min-p applied), whatever the drafts were. A model whose logits
// are the same at every position makes each emitted token's distribution known in closed form.

import XCTest
import Foundation
import Models
@testable import EngineCore

/// The same logits at every position; no KV needed.
final class FixedLogitsModel: CausalLanguageModel {
    let spec: ModelSpec
    let row: [Float]

    init(probabilities: [Double]) {
        row = probabilities.map { Float(log($0)) }
        spec = ModelSpec(architecture: "Fixed", vocabSize: probabilities.count, maxPositionEmbeddings: 64,
                         numLayers: 1, numKVHeads: 1, headDim: 1)
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize }
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {}
    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        for r in 0..<batch.logitRows.count {
            for v in 0..<row.count { logits[r * row.count + v] = row[v] }
        }
    }
}

/// Always proposes the same drafts.
final class ConstantProposer: DraftProposer {
    let drafts: [Int]
    init(_ drafts: [Int]) { self.drafts = drafts }
    func propose(_ context: DraftContext, maxTokens: Int, into drafts: inout [Int]) {
        drafts.append(contentsOf: self.drafts.prefix(maxTokens))
    }
}

final class EngineCoreSpeculativeSamplingTests: XCTestCase {
    let probabilities = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04]

    /// The distribution after temperature, then min_p, top_k and top_p (vLLM's rules; top_p keeps a token
    /// while the mass before it is below top_p).
    func expected(_ params: SamplingParams) -> [Double] {
        var p = probabilities.map { pow($0, 1 / params.temperature) }
        var total = p.reduce(0, +)
        p = p.map { $0 / total }
        let top = p.max()!
        if params.minP > 0 { p = p.map { $0 < params.minP * top ? 0 : $0 } }
        let order = p.indices.sorted { p[$0] > p[$1] }
        if params.topK > 0 { for index in order.dropFirst(params.topK) { p[index] = 0 } }
        total = p.reduce(0, +)
        p = p.map { $0 / total }
        if params.topP < 1 {
            var before = 0.0
            for index in order {
                if before >= params.topP { p[index] = 0 }
                before += p[index]
            }
        }
        total = p.reduce(0, +)
        return p.map { $0 / total }
    }

    /// Tokens emitted at the two draft positions of `trials` seeded requests, with drafts [2, 2].
    func emitted(_ params: SamplingParams, trials: Int) throws -> (counts: [Int], accepted: Int) {
        let model = FixedLogitsModel(probabilities: probabilities)
        let config = SchedulerConfig(numBlocks: 4096, maxModelLen: 64, blockSize: 4, maxNumSeqs: 512,
                                     maxNumBatchedTokens: 4096, numSpeculativeTokens: 2)
        let core = try EngineCore(model: model, config: config, proposer: ConstantProposer([2, 2]))
        for trial in 0..<trials {
            var request = params
            request.seed = UInt64(trial)
            request.maxTokens = 4
            try core.addRequest(makeRequest("t\(trial)", [1, 2, 3], request))
        }
        var result = RunResult()
        try runToCompletion(core, into: &result)
        var counts = [Int](repeating: 0, count: probabilities.count)
        for tokens in result.tokens.values {
            // Token 0 comes from the prompt's step; tokens 1 and 2 from the first verification.
            for token in tokens[1...2] { counts[token] += 1 }
        }
        return (counts, core.stats.numAcceptedTokens)
    }

    func chiSquare(_ counts: [Int], _ expected: [Double]) -> Double {
        let total = Double(counts.reduce(0, +))
        var statistic = 0.0
        for (count, p) in zip(counts, expected) {
            if p == 0 {
                if count > 0 { return .infinity }
                continue
            }
            let e = total * p
            statistic += (Double(count) - e) * (Double(count) - e) / e
        }
        return statistic
    }

    func testDraftPositionsFollowTheTargetDistribution() throws {
        let cases: [(String, SamplingParams)] = [
            ("temperature 0.7", makeParams(temperature: 0.7)),
            ("top_k 3", makeParams(temperature: 1) { $0.topK = 3 }),
            ("top_p 0.8", makeParams(temperature: 1) { $0.topP = 0.8 }),
            ("min_p 0.2", makeParams(temperature: 1) { $0.minP = 0.2 }),
            ("all four", makeParams(temperature: 1.3) { $0.topK = 4; $0.topP = 0.9; $0.minP = 0.1 }),
        ]
        for (name, params) in cases {
            let (counts, accepted) = try emitted(params, trials: 2000)
            let reference = expected(params)
            // 20.5: the chi-square 0.001 critical value for 5 degrees of freedom (the most here).
            XCTAssertLessThan(chiSquare(counts, reference), 20.5, "\(name): \(counts) vs \(reference)")
            XCTAssertGreaterThan(accepted, 0, "\(name): some drafts accepted")
        }
    }
}
