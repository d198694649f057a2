import Engine
import EngineCore
import Foundation
import XCTest

/// n-gram speculative decoding through the whole engine on the real tiny Llama (stories260K): it must not
/// change a single greedy token, alone, in a batch of 32, under preemption, or with stop strings, while
/// drafts are actually accepted.
final class EngineSpeculativeDecodingTests: XCTestCase {
    typealias Support = EngineTestSupport
    static let modelPath = EngineStoriesTests.modelPath
    static let ngram = SpeculativeConfig(numSpeculativeTokens: 4, promptLookupMin: 1, promptLookupMax: 3)

    private func engine(speculative: SpeculativeConfig?, _ configure: (inout EngineConfig) -> Void = { _ in })
        throws -> LLMEngine {
        guard FileManager.default.fileExists(atPath: Self.modelPath + "/model.safetensors") else {
            throw XCTSkip("stories260K not found at \(Self.modelPath) (shared assets folder absent)")
        }
        var config = EngineConfig(model: Self.modelPath)
        config.kvCacheMemoryBytes = 32 << 20
        config.speculative = speculative
        configure(&config)
        return try LLMEngine(config: config)
    }

    /// Stories repeat themselves ("Lily ... Lily ..."), so prompt lookup finds drafts.
    private let prompts: [String] = (0..<32).map { index in
        let openings = ["Once upon a time, there was a little girl named Lily. Lily", "The cat sat on the mat. The cat",
                        "Tom had a red ball. Tom liked the red ball. Tom", "One day, a little bird", "Mom said"]
        return openings[index % openings.count] + String(repeating: " and then", count: index % 3)
    }

    private func run(_ engine: LLMEngine, _ indices: Range<Int>, params: (Int) -> SamplingParams) throws
        -> [[Int]] {
        for index in indices {
            try engine.addRequest(requestId: "r\(index)", prompt: .text(prompts[index]), params: params(index))
        }
        let finals = try Support.runToCompletion(engine)
        return try indices.map { try XCTUnwrap(finals["r\($0)"]).outputs[0].tokenIds }
    }

    private func greedy(_ index: Int) -> SamplingParams {
        var params = Support.greedy(maxTokens: 20 + (index * 7) % 40)
        params.ignoreEOS = index % 2 == 0
        return params
    }

    func testGreedyOutputIsIdenticalAloneAndInABatchOf32() throws {
        let plain = try engine(speculative: nil)
        let expected = try run(plain, 0..<32, params: greedy)
        let speculative = try engine(speculative: Self.ngram)
        XCTAssertEqual(try run(speculative, 0..<1, params: greedy), Array(expected[0..<1]), "alone")
        XCTAssertEqual(try run(speculative, 0..<32, params: greedy), expected, "batch of 32")
        let stats = speculative.stats()
        XCTAssertGreaterThan(stats.specDecodeNumDrafts, 0)
        XCTAssertGreaterThan(stats.specDecodeNumAcceptedTokens, 0, "some drafts must be accepted")
        XCTAssertLessThanOrEqual(stats.specDecodeNumAcceptedTokens, stats.specDecodeNumDraftTokens)
        XCTAssertEqual(stats.specDecodeAcceptedPerPosition.count, 4)
        XCTAssertEqual(stats.specDecodeAcceptedPerPosition.reduce(0, +), stats.specDecodeNumAcceptedTokens)
        XCTAssertEqual(stats.kvCacheUsage, 0)
    }

    func testGreedyOutputIsIdenticalUnderPreemption() throws {
        let params = { (index: Int) -> SamplingParams in
            var params = Support.greedy(maxTokens: 40)
            params.ignoreEOS = true
            return params
        }
        let small = { (config: inout EngineConfig) in
            config.kvCacheMemoryBytes = 16 * (2 * 5 * 16 * 32 * 4)
            config.maxModelLen = 128
        }
        let expected = try run(try engine(speculative: nil, small), 0..<16, params: params)
        let speculative = try engine(speculative: Self.ngram, small)
        XCTAssertEqual(try run(speculative, 0..<16, params: params), expected)
        XCTAssertGreaterThan(speculative.stats().numPreemptions, 0, "the KV budget must force preemption")
        XCTAssertGreaterThan(speculative.stats().specDecodeNumAcceptedTokens, 0)
        XCTAssertEqual(speculative.stats().kvCacheUsage, 0)
    }

    /// A stop string that ends inside a run of accepted drafts cuts the text and ids exactly there.
    func testStopStringsEndingMidProposalAreExact() throws {
        for config in [Self.ngram, SpeculativeConfig(numSpeculativeTokens: 4, draftModel: Self.modelPath)] {
            try checkStopStrings(config)
        }
    }

    private func checkStopStrings(_ config: SpeculativeConfig) throws {
        let plain = try engine(speculative: nil)
        let speculative = try engine(speculative: config)
        let reference = try run(plain, 0..<5, params: { _ in Support.greedy(maxTokens: 80) })
        var checked = 0
        for (index, ids) in reference.enumerated() where ids.count > 50 {
            // A stop string from late in the output, where the stories repeat and drafts get accepted.
            let text = plain.tokenizer.decode(Array(ids[40..<42]), skipSpecialTokens: true)
            guard !text.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            var params = Support.greedy(maxTokens: 80)
            params.stop = [text]
            for engine in [plain, speculative] {
                try engine.addRequest(requestId: "s\(index)", prompt: .text(prompts[index]), params: params)
            }
            let a = try XCTUnwrap(Support.runToCompletion(plain)["s\(index)"]?.outputs[0])
            let b = try XCTUnwrap(Support.runToCompletion(speculative)["s\(index)"]?.outputs[0])
            XCTAssertEqual(b.text, a.text, "prompt \(index)")
            XCTAssertEqual(b.tokenIds, a.tokenIds, "prompt \(index)")
            XCTAssertEqual(b.finishReason, .stop)
            XCTAssertEqual(b.stopReason, .string(text))
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0)
        XCTAssertGreaterThan(speculative.stats().specDecodeNumAcceptedTokens, 0)
    }

    func testSeededSamplingIsIdenticalWithSpeculation() throws {
        let params = { (index: Int) in Support.seeded(UInt64(100 + index), temperature: 0.8, topP: 0.9, maxTokens: 30) }
        let expected = try run(try engine(speculative: nil), 0..<8, params: params)
        XCTAssertEqual(try run(try engine(speculative: Self.ngram), 0..<8, params: params), expected)
    }

    /// The model as its own draft: every greedy draft is accepted and nothing changes.
    func testDraftModelProposerWithTheTargetAsDraft() throws {
        let plain = try engine(speculative: nil)
        let expected = try run(plain, 0..<32, params: greedy)
        let draft = SpeculativeConfig(numSpeculativeTokens: 3, draftModel: Self.modelPath)
        let speculative = try engine(speculative: draft)
        XCTAssertEqual(try run(speculative, 0..<1, params: greedy), Array(expected[0..<1]), "alone")
        XCTAssertEqual(try run(speculative, 0..<32, params: greedy), expected, "batch of 32")
        let stats = speculative.stats()
        XCTAssertGreaterThan(stats.specDecodeNumDraftTokens, 0)
        XCTAssertEqual(stats.specDecodeNumAcceptedTokens, stats.specDecodeNumDraftTokens, "a self-draft is always right")
        XCTAssertEqual(stats.kvCacheUsage, 0)
    }

    func testDraftModelWithAnotherVocabularyIsRefused() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelsTests/Fixtures/llama_untied").path
        let draft = SpeculativeConfig(numSpeculativeTokens: 3, draftModel: fixture)
        XCTAssertThrowsError(try engine(speculative: draft)) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .invalidConfig)
            XCTAssertTrue("\(error)".contains("vocabulary (128 tokens) is not the target model's (512 tokens)"), "\(error)")
        }
    }

    func testDisableByBatchSizeTurnsSpeculationOffForLargeBatches() throws {
        var config = Self.ngram
        config.disableByBatchSize = 4
        let speculative = try engine(speculative: config)
        _ = try run(speculative, 0..<16, params: { _ in Support.greedy(maxTokens: 8) })
        let batched = speculative.stats().specDecodeNumDrafts
        _ = try run(speculative, 0..<1, params: { _ in Support.greedy(maxTokens: 40) })
        XCTAssertGreaterThan(speculative.stats().specDecodeNumDrafts, batched, "a lone request speculates")
    }
}
