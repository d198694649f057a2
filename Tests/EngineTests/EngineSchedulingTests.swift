import Engine
import EngineCore
import XCTest

/// Batching, preemption, prefix caching and seeded sampling through LLMEngine on the hashing fake model,
/// whose output depends on every token it reads back from its paged cache.
final class EngineSchedulingTests: XCTestCase {
    typealias Support = EngineTestSupport

    private func prompts(_ count: Int) -> [String] {
        (0..<count).map { index in
            String(repeating: "p\(index % 7)q", count: 1 + (index * 5) % 23) + "#\(index)"
        }
    }

    private func runAlone(_ prompt: String, params: SamplingParams,
                          behavior: FakeModel.Behavior = .hash(eosModulo: 29)) throws -> RequestOutput {
        let engine = try Support.engine(behavior)
        try engine.addRequest(requestId: "solo", prompt: .text(prompt), params: params)
        return try XCTUnwrap(Support.runToCompletion(engine)["solo"])
    }

    private func runBatch(_ prompts: [String], params: (Int) -> SamplingParams,
                          config: EngineConfig = Support.config()) throws -> ([RequestOutput], LLMEngine) {
        let engine = try Support.engine(.hash(eosModulo: 29), config: config)
        for (index, prompt) in prompts.enumerated() {
            try engine.addRequest(requestId: "r\(index)", prompt: .text(prompt), params: params(index))
        }
        let finals = try Support.runToCompletion(engine)
        return (try prompts.indices.map { try XCTUnwrap(finals["r\($0)"]) }, engine)
    }

    func testConcurrentGreedyRequestsMatchSoloRuns() throws {
        let texts = prompts(32)
        let maxTokens = { (index: Int) in 4 + (index * 7) % 30 }
        let (batch, engine) = try runBatch(texts, params: { Support.greedy(maxTokens: maxTokens($0)) },
                                           config: Support.config(maxNumBatchedTokens: 64))
        for (index, prompt) in texts.enumerated() {
            let solo = try runAlone(prompt, params: Support.greedy(maxTokens: maxTokens(index)))
            XCTAssertEqual(batch[index].outputs[0].tokenIds, solo.outputs[0].tokenIds, "request \(index)")
            XCTAssertEqual(batch[index].outputs[0].text, solo.outputs[0].text, "request \(index)")
        }
        let stats = engine.stats()
        XCTAssertEqual(stats.kvCacheUsage, 0)
        XCTAssertEqual(stats.requestSuccess.values.reduce(0, +), 32)
        XCTAssertEqual(stats.timeToFirstToken.count, 32)
        XCTAssertEqual(stats.e2eRequestLatency.count, 32)
        XCTAssertEqual(stats.generationTokens, batch.reduce(0) { $0 + $1.outputs[0].tokenIds.count })
    }

    func testPreemptionUnderTinyKVBudgetKeepsOutputs() throws {
        let texts = (0..<12).map { "pre\($0 % 5)" + String(repeating: "x", count: $0 % 9) }
        // 12 blocks of 4 tokens: a few sequences at a time, so decoding forces preemption.
        var config = Support.config(kvTokens: 12 * 4, blockSize: 4, maxNumBatchedTokens: 32)
        config.maxModelLen = 44
        let params = { (_: Int) in Support.greedy(maxTokens: 12) }
        let (batch, engine) = try runBatch(texts, params: params, config: config)
        XCTAssertGreaterThan(engine.stats().numPreemptions, 0, "the budget must force preemption")
        for (index, prompt) in texts.enumerated() {
            let solo = try runAlone(prompt, params: Support.greedy(maxTokens: 12))
            XCTAssertEqual(batch[index].outputs[0].tokenIds, solo.outputs[0].tokenIds, "request \(index)")
        }
        XCTAssertEqual(engine.stats().kvCacheUsage, 0)
    }

    func testSeededSamplingIsReproducibleAloneAndInBatch() throws {
        let texts = prompts(6)
        let params = { (index: Int) -> SamplingParams in
            var params = SamplingParams()
            params.temperature = 1.0
            params.seed = UInt64(100 + index)
            params.maxTokens = 16
            return params
        }
        let (batch, _) = try runBatch(texts, params: params)
        for (index, prompt) in texts.enumerated() {
            let solo = try runAlone(prompt, params: params(index))
            XCTAssertEqual(batch[index].outputs[0].tokenIds, solo.outputs[0].tokenIds, "request \(index)")
        }
    }

    func testSharedPrefixIsServedFromCache() throws {
        let engine = try Support.engine(.hash(eosModulo: 0))
        let prefix = String(repeating: "shared prefix text ", count: 8)  // 152 tokens
        try engine.addRequest(requestId: "first", prompt: .text(prefix + "A"), params: Support.greedy(maxTokens: 3))
        let first = try XCTUnwrap(Support.runToCompletion(engine)["first"])
        XCTAssertEqual(first.numCachedTokens, 0)
        try engine.addRequest(requestId: "second", prompt: .text(prefix + "B"), params: Support.greedy(maxTokens: 3))
        let second = try XCTUnwrap(Support.runToCompletion(engine)["second"])
        XCTAssertEqual(second.numCachedTokens, 144, "all 9 full blocks of the shared 152-token prefix")
        let stats = engine.stats()
        XCTAssertGreaterThanOrEqual(stats.prefixCacheHits, 144)
        XCTAssertGreaterThan(stats.prefixCacheQueries, stats.prefixCacheHits)

        let fresh = try runAlone(prefix + "B", params: Support.greedy(maxTokens: 3), behavior: .hash(eosModulo: 0))
        XCTAssertEqual(second.outputs[0].tokenIds, fresh.outputs[0].tokenIds)
    }

    func testOfflineGenerateKeepsPromptOrder() throws {
        let engine = try Support.engine(.script(Support.script))
        let outputs = try engine.generate(prompts: [.text("a"), .text("abcd"), .tokenIds([120, 121])],
                                          params: Support.greedy(maxTokens: 4))
        XCTAssertEqual(outputs.map { $0.outputs[0].text }, [
            Support.scripted(promptLength: 1, count: 4),
            Support.scripted(promptLength: 4, count: 4),
            Support.scripted(promptLength: 2, count: 4),
        ])
    }
}
