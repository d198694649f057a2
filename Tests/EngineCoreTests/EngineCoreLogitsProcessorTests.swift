// The logits-processor pipeline: a mask processor that forces a fixed sequence (what a grammar
// matcher does each step), vLLM's allowed_token_ids and bad_words, and the waiting-for-grammar state.

import XCTest
import Models
@testable import EngineCore

/// Allows exactly one token per step: `sequence[numOutputTokens]`, then EOS-like token `end`.
/// Syncs to the output history each call, as a grammar matcher must (see `LogitsContext`).
final class ForcedSequenceProcessor: LogitsProcessor, @unchecked Sendable {
    let sequence: [Int]
    let end: Int
    private var mask: TokenMask
    var ready = true
    private(set) var calls = 0

    init(sequence: [Int], end: Int, vocabSize: Int) {
        self.sequence = sequence
        self.end = end
        mask = TokenMask(vocabSize: vocabSize)
    }

    var isReady: Bool { ready }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        calls += 1
        let position = context.numOutputTokens
        mask.clear()
        mask.allow(position < sequence.count ? sequence[position] : end)
        mask.apply(to: logits)
    }
}

final class EngineCoreLogitsProcessorTests: XCTestCase {
    func testMaskProcessorForcesAFixedSequenceWhileSampling() throws {
        let forced = [7, 7, 3, 50, 1, 9, 12, 33, 2, 60]
        let processor = ForcedSequenceProcessor(sequence: forced, end: 0, vocabSize: 64)
        let core = try EngineCore(model: FakeModel(), config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        var params = makeParams(maxTokens: 40, temperature: 1.0)
        params.topK = 5  // a top-k that (almost surely) excludes the forced token without the mask
        try core.addRequest(EngineCoreRequest(requestId: "forced", promptTokenIds: makePrompt(9, seed: 1), params: params,
                                              eosTokenIds: [0], logitsProcessors: [processor]))
        try core.addRequest(makeRequest("free", makePrompt(9, seed: 1), makeParams(maxTokens: 11)))
        var result = RunResult()
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.tokens["forced"], forced + [0])
        XCTAssertEqual(result.finish["forced"], .stop)
        XCTAssertEqual(processor.calls, forced.count + 1, "one call per sampled token")
        XCTAssertNotEqual(result.tokens["free"].map { Array($0.prefix(forced.count)) }, forced,
                          "the other request in the batch is not masked")
    }

    func testMaskAppliesAfterTheBuiltInProcessors() throws {
        let processor = ForcedSequenceProcessor(sequence: [4, 4, 4], end: 0, vocabSize: 64)
        let core = try EngineCore(model: FakeModel(), config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        let params = makeParams(maxTokens: 3) { $0.logitBias = [9: 100] }
        try core.addRequest(EngineCoreRequest(requestId: "r", promptTokenIds: [1, 2, 3], params: params,
                                              logitsProcessors: [processor]))
        var result = RunResult()
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.tokens["r"], [4, 4, 4], "a +100 bias cannot beat a mask applied after it")
    }

    func testAllowedTokenIdsAndBadWords() throws {
        let allowed: Set<Int> = [3, 8, 21, 40]
        let params = makeParams(maxTokens: 24, temperature: 1.0, seed: 9) { $0.allowedTokenIds = Array(allowed) }
        let (result, _) = try runAll([makeRequest("a", makePrompt(6, seed: 2), params)],
                                     config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        let tokens = try XCTUnwrap(result.tokens["a"])
        XCTAssertEqual(tokens.count, 24)
        XCTAssertTrue(tokens.allSatisfy(allowed.contains), "\(tokens)")
        XCTAssertGreaterThan(Set(tokens).count, 1, "sampling still varies inside the allowed set")

        // Greedy output without bad words, then ban its first token and a two-token word from it.
        let prompt = makePrompt(6, seed: 5)
        let (plain, _) = try runAll([makeRequest("p", prompt, makeParams(maxTokens: 12))],
                                    config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        let greedy = try XCTUnwrap(plain.tokens["p"])
        let banned = makeParams(maxTokens: 12) { $0.badWordsTokenIds = [[greedy[0]]] }
        let (single, _) = try runAll([makeRequest("b", prompt, banned)],
                                     config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        XCTAssertFalse(try XCTUnwrap(single.tokens["b"]).contains(greedy[0]))
        let pair = makeParams(maxTokens: 12) { $0.badWordsTokenIds = [[greedy[2], greedy[3]]] }
        let (twoToken, _) = try runAll([makeRequest("c", prompt, pair)],
                                       config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        let tokens2 = try XCTUnwrap(twoToken.tokens["c"])
        XCTAssertEqual(Array(tokens2.prefix(3)), Array(greedy.prefix(3)), "the word's first token alone is fine")
        XCTAssertNotEqual(tokens2[3], greedy[3], "its second token is banned right after the first")
    }

    func testBadAllowedTokenIdsAreRefused() throws {
        let core = try EngineCore(model: FakeModel(), config: SchedulerConfig(numBlocks: 64, maxModelLen: 128))
        for (ids, message) in [([Int](), "empty"), ([3, 64], "out-of-vocab")] {
            let params = makeParams { $0.allowedTokenIds = ids }
            XCTAssertThrowsError(try core.addRequest(makeRequest("x", [1, 2], params))) { error in
                let coreError = error as? EngineCoreError
                XCTAssertEqual(coreError?.kind, .invalidRequest)
                XCTAssertEqual(coreError?.param, "allowed_token_ids")
                XCTAssertTrue(coreError?.message.contains(message) ?? false, "\(error)")
            }
        }
    }

    func testRequestWaitsForItsGrammarWithoutBlockingOthers() throws {
        let processor = ForcedSequenceProcessor(sequence: [5, 6], end: 0, vocabSize: 64)
        processor.ready = false
        let core = try EngineCore(model: FakeModel(), config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4))
        try core.addRequest(EngineCoreRequest(requestId: "grammar", promptTokenIds: [1, 2, 3],
                                              params: makeParams(maxTokens: 2), logitsProcessors: [processor]))
        try core.addRequest(makeRequest("plain", [4, 5, 6], makeParams(maxTokens: 2)))
        var produced: [String: [Int]] = [:]
        for _ in 0..<3 {
            for output in try core.step() { produced[output.requestId, default: []] += output.newTokenIds }
        }
        XCTAssertNil(produced["grammar"], "not scheduled while its grammar is not ready")
        XCTAssertEqual(produced["plain"]?.count, 2, "the request queued behind it ran to the end")
        XCTAssertEqual(core.stats.numWaiting, 1)
        processor.ready = true
        var result = RunResult()
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.tokens["grammar"], [5, 6])
    }
}
