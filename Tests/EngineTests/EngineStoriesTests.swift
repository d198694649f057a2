import Engine
import EngineCore
import Foundation
import XCTest

/// The engine end to end on the real tiny Llama (stories260K, ../shared/assets/stories260K-hf):
/// batching, preemption, seeding, prefix caching and cancellation must not change what it generates.
final class EngineStoriesTests: XCTestCase {
    typealias Support = EngineTestSupport

    static let assets: String = {
        let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return repoRoot.deletingLastPathComponent().appendingPathComponent("shared/assets").path
    }()
    static let modelPath = assets + "/stories260K-hf"

    private func engine(_ configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        guard FileManager.default.fileExists(atPath: Self.modelPath + "/model.safetensors") else {
            throw XCTSkip("stories260K not found at \(Self.modelPath) (shared assets folder absent)")
        }
        var config = EngineConfig(model: Self.modelPath)
        config.kvCacheMemoryBytes = 32 << 20
        configure(&config)
        return try LLMEngine(config: config)
    }

    private let prompts: [String] = (0..<32).map { index in
        let openings = ["Once upon a time", "Lily went to the park", "The cat sat", "Tom had a red ball",
                        "One day, a little bird", "Mom said", "The sun was hot and", "Ben and Sue"]
        return openings[index % openings.count] + String(repeating: " and then", count: index % 5)
    }

    private func maxTokens(_ index: Int) -> Int { 6 + (index * 11) % 40 }

    /// Greedy ids of each prompt run on its own (no batch mates, no prefix cache).
    private func soloIds(_ indices: Range<Int>, params: (Int) -> SamplingParams) throws -> [[Int]] {
        let solo = try engine { $0.enablePrefixCaching = false }
        return try indices.map { index in
            try solo.addRequest(requestId: "solo\(index)", prompt: .text(prompts[index]), params: params(index))
            let final = try XCTUnwrap(Support.runToCompletion(solo)["solo\(index)"])
            return final.outputs[0].tokenIds
        }
    }

    private func batchIds(_ engine: LLMEngine, _ indices: Range<Int>,
                          params: (Int) -> SamplingParams) throws -> [[Int]] {
        for index in indices {
            try engine.addRequest(requestId: "b\(index)", prompt: .text(prompts[index]), params: params(index))
        }
        let finals = try Support.runToCompletion(engine)
        return try indices.map { try XCTUnwrap(finals["b\($0)"]).outputs[0].tokenIds }
    }

    func testGoldenGreedyContinuationThroughTheEngine() throws {
        let engine = try engine()
        let goldenPath = Self.assets + "/llama2c/stories260K_golden.json"
        let data = try Data(contentsOf: URL(fileURLWithPath: goldenPath))
        let golden = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(golden["cases"] as? [[String: Any]])
        XCTAssertFalse(cases.isEmpty)
        for (number, goldenCase) in cases.enumerated() {
            let promptIds = try XCTUnwrap(goldenCase["prompt_ids"] as? [Int])
            let expected = try XCTUnwrap(goldenCase["generated_ids"] as? [Int])
            var params = Support.greedy(maxTokens: min(expected.count, engine.maxModelLen - promptIds.count))
            params.ignoreEOS = true
            try engine.addRequest(requestId: "g\(number)", prompt: .tokenIds(promptIds), params: params)
            let final = try XCTUnwrap(Support.runToCompletion(engine)["g\(number)"])
            XCTAssertEqual(final.outputs[0].tokenIds, Array(expected.prefix(params.maxTokens ?? 0)), "case \(number)")
            if let text = goldenCase["text_after_bos"] as? String, promptIds == [1] {
                XCTAssertEqual(final.outputs[0].text, text, "case \(number) text")
            }
        }
    }

    func testConcurrentGreedyRequestsMatchSoloRuns() throws {
        let params = { (index: Int) in Support.greedy(maxTokens: self.maxTokens(index)) }
        let batch = try engine { $0.maxNumBatchedTokens = 64 }
        let batched = try batchIds(batch, 0..<32, params: params)
        XCTAssertEqual(batched, try soloIds(0..<32, params: params))
        let stats = batch.stats()
        XCTAssertEqual(stats.kvCacheUsage, 0)
        XCTAssertGreaterThan(stats.prefixCacheHits, 0, "the repeated openings share cached blocks")
    }

    func testPreemptionUnderSmallKVBudgetKeepsGreedyOutputs() throws {
        let params = { (index: Int) -> SamplingParams in
            var params = Support.greedy(maxTokens: 40)
            params.ignoreEOS = true
            return params
        }
        // 16 blocks of 16 tokens (one reserved): about four 60-token sequences at once.
        let small = try engine {
            $0.kvCacheMemoryBytes = 16 * (2 * 5 * 16 * 32 * 4)
            $0.maxModelLen = 128
        }
        let batched = try batchIds(small, 0..<16, params: params)
        XCTAssertGreaterThan(small.stats().numPreemptions, 0, "the KV budget must force preemption")
        XCTAssertEqual(batched, try soloIds(0..<16, params: params))
        XCTAssertEqual(small.stats().kvCacheUsage, 0)
    }

    func testSeededSamplingIsReproducibleAloneAndInBatch() throws {
        let params = { (index: Int) in Support.seeded(UInt64(1000 + index), temperature: 0.9, topP: 0.95, maxTokens: 24) }
        let batched = try batchIds(try engine(), 0..<8, params: params)
        XCTAssertEqual(batched, try soloIds(0..<8, params: params))
    }

    func testSecondRequestWithSameLongPrefixPrefillsOnlyTheTail() throws {
        let engine = try engine()
        let prefix = String(repeating: "Once upon a time there was a big dog. ", count: 6)
        try engine.addRequest(requestId: "first", prompt: .text(prefix + "The dog"), params: Support.greedy(maxTokens: 4))
        let first = try XCTUnwrap(Support.runToCompletion(engine)["first"])
        XCTAssertEqual(first.numCachedTokens, 0)
        let promptTokensBefore = engine.stats().prefixCacheHits
        try engine.addRequest(requestId: "second", prompt: .text(prefix + "The cat"), params: Support.greedy(maxTokens: 4))
        let second = try XCTUnwrap(Support.runToCompletion(engine)["second"])
        let sharedPrefix = zip(first.promptTokenIds, second.promptTokenIds).prefix { $0 == $1 }.count
        XCTAssertGreaterThan(sharedPrefix, 32)
        XCTAssertEqual(second.numCachedTokens, sharedPrefix / 16 * 16, "every full block of the shared prefix")
        XCTAssertEqual(engine.stats().prefixCacheHits - promptTokensBefore, second.numCachedTokens)
    }

    func testCancellingAStreamFreesAllBlocks() async throws {
        let llm = try engine()
        let engine = AsyncLLMEngine(engine: llm)
        var params = Support.greedy(maxTokens: 400)
        params.ignoreEOS = true
        do {
            // A consumer that goes away: once the stream is released the request must be aborted.
            let stream = try engine.generate(requestId: "c", prompt: .text("Once upon a time"), params: params)
            var received = 0
            for try await output in stream {
                received += output.outputs.reduce(0) { $0 + $1.tokenIds.count }
                if received >= 5 { break }
            }
        }
        var freed = false
        for _ in 0..<2000 where !freed {
            let stats = engine.stats()
            freed = stats.kvCacheUsage == 0 && stats.requestSuccess["abort"] == 1
            if !freed { try await Task.sleep(nanoseconds: 5_000_000) }
        }
        XCTAssertTrue(freed, "\(engine.stats())")
        await engine.shutdown(drainTimeout: 1)
    }
}
