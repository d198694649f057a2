import XCTest
import Foundation
@testable import EngineCore

/// Stop conditions, logprobs and batch invariance, end to end through `EngineCore.step()`.
final class EngineCoreOutputTests: XCTestCase {
    private func config(maxLen: Int = 128, budget: Int = 512, caching: Bool = true) -> SchedulerConfig {
        SchedulerConfig(numBlocks: 128, maxModelLen: maxLen, blockSize: 4, maxNumBatchedTokens: budget,
                        enablePrefixCaching: caching)
    }

    func testEOSStopsWithoutStopReasonUnlessIgnored() throws {
        let model = FakeModel()
        let prompt = makePrompt(7, seed: 1)
        let greedy = model.referenceGreedy(prompt: prompt, maxTokens: 6)
        let eos = greedy[2]
        let (result, _) = try runAll([
            makeRequest("eos", prompt, eos: [eos]),
            makeRequest("ignore", prompt, makeParams(maxTokens: 6) { $0.ignoreEOS = true }, eos: [eos]),
        ], config: config(), model: model)
        let cut = greedy.firstIndex(of: eos)!
        XCTAssertEqual(result.tokens["eos"], Array(greedy[...cut]), "the EOS token is part of the output")
        XCTAssertEqual(result.finish["eos"], .stop)
        XCTAssertNil(result.stopReasons["eos"])
        XCTAssertEqual(result.tokens["ignore"], greedy)
        XCTAssertEqual(result.finish["ignore"], .length)
    }

    func testStopTokenIdsReportTheStopReason() throws {
        let model = FakeModel()
        let prompt = makePrompt(9, seed: 2)
        let greedy = model.referenceGreedy(prompt: prompt, maxTokens: 8)
        let stopToken = greedy[3]
        let (result, _) = try runAll([makeRequest("a", prompt, makeParams { $0.stopTokenIds = [stopToken] })],
                                  config: config(), model: model)
        XCTAssertEqual(result.tokens["a"], Array(greedy[...greedy.firstIndex(of: stopToken)!]))
        XCTAssertEqual(result.finish["a"], .stop)
        XCTAssertEqual(result.stopReasons["a"], stopToken)
    }

    func testMinTokensDelaysEOS() throws {
        let model = FakeModel()
        let prompt = makePrompt(5, seed: 3)
        let first = model.referenceGreedy(prompt: prompt, maxTokens: 1)[0]
        let (result, _) = try runAll([makeRequest("a", prompt, makeParams(maxTokens: 10) { $0.minTokens = 3 }, eos: [first])],
                                  config: config(), model: model)
        let tokens = result.tokens["a"] ?? []
        XCTAssertGreaterThanOrEqual(tokens.count, 3)
        XCTAssertFalse(tokens.prefix(3).contains(first))
    }

    func testMaxModelLenCapsGenerationWhenMaxTokensIsUnset() throws {
        let (result, _) = try runAll([makeRequest("a", makePrompt(10, seed: 4), makeParams(maxTokens: nil))],
                                  config: config(maxLen: 16))
        XCTAssertEqual(result.tokens["a"]?.count, 6)
        XCTAssertEqual(result.finish["a"], .length)
    }

    func testSampleLogprobsAreRawModelLogprobs() throws {
        let model = FakeModel()
        let prompt = makePrompt(6, seed: 5)
        let params = makeParams(maxTokens: 4, temperature: 0.7, seed: 3) { $0.logprobs = 3; $0.repetitionPenalty = 1.3 }
        let (result, _) = try runAll([makeRequest("a", prompt, params)], config: config(), model: model)
        var context = prompt
        for output in result.outputs["a"] ?? [] {
            let token = output.newTokenIds[0]
            let logits = model.referenceLogits(context)
            let lse = log(logits.reduce(0.0) { $0 + exp(Double($1)) })
            let entry = try XCTUnwrap(output.newLogprobs?.first)
            XCTAssertEqual(entry.tokenId, token)
            XCTAssertEqual(Double(entry.logprob), Double(logits[token]) - lse, accuracy: 1e-4)
            XCTAssertEqual(entry.rank, logits.filter { $0 >= logits[token] }.count)
            XCTAssertEqual(entry.top.count, 3)
            let best = logits.indices.max { logits[$0] < logits[$1] }!
            XCTAssertEqual(entry.top[0].tokenId, best)
            context.append(token)
        }
        XCTAssertEqual(result.outputs["a"]?.count, 4)
    }

    func testPromptLogprobsOnceAndIdenticalWhenChunkedOrCached() throws {
        let model = FakeModel()
        let prompt = makePrompt(23, seed: 6)
        let params = makeParams(maxTokens: 3) { $0.promptLogprobs = 2 }
        func promptLogprobs(budget: Int, warmCache: Bool) throws -> [TokenLogprobs?] {
            let core = try EngineCore(model: model, config: config(budget: budget))
            var result = RunResult()
            if warmCache {
                try core.addRequest(makeRequest("warm", prompt))
                try runToCompletion(core, into: &result)
            }
            try core.addRequest(makeRequest("a", prompt, params))
            try runToCompletion(core, into: &result)
            let outputs = result.outputs["a"] ?? []
            XCTAssertEqual(outputs.filter { $0.promptLogprobs != nil }.count, 1)
            XCTAssertNotNil(outputs.first?.promptLogprobs)
            XCTAssertEqual(outputs.first?.numCachedTokens, 0, "prompt logprobs need every prompt row computed")
            return outputs.first?.promptLogprobs ?? []
        }
        let whole = try promptLogprobs(budget: 512, warmCache: false)
        XCTAssertEqual(whole.count, prompt.count)
        XCTAssertNil(whole[0] ?? nil)
        for j in 1..<prompt.count {
            let logits = model.referenceLogits(Array(prompt[..<j]))
            let lse = log(logits.reduce(0.0) { $0 + exp(Double($1)) })
            let entry = try XCTUnwrap(whole[j])
            XCTAssertEqual(entry.tokenId, prompt[j])
            XCTAssertEqual(Double(entry.logprob), Double(logits[prompt[j]]) - lse, accuracy: 1e-4)
            XCTAssertEqual(entry.top.count, 2)
        }
        XCTAssertEqual(try promptLogprobs(budget: 5, warmCache: false), whole)
        XCTAssertEqual(try promptLogprobs(budget: 512, warmCache: true), whole)
    }

    func testSeededSamplingIsIdenticalAloneAndInABatch() throws {
        let prompt = makePrompt(12, seed: 7)
        let params = makeParams(maxTokens: 15, temperature: 1.0, seed: 1234) { $0.topP = 0.95; $0.topK = 20 }
        let (alone, _) = try runAll([makeRequest("target", prompt, params)], config: config())
        var crowd = [makeRequest("target", prompt, params)]
        for i in 0..<6 {
            let other = makeParams(maxTokens: 3 + i * 4, temperature: 0.3 * Double(i), seed: i % 2 == 0 ? nil : UInt64(i)) {
                $0.presencePenalty = 0.5; $0.logprobs = i % 3 == 0 ? 2 : nil
            }
            crowd.append(makeRequest("other\(i)", makePrompt(4 + 9 * i, seed: 70 + UInt64(i)), other))
        }
        crowd.swapAt(0, 3)
        let (together, _) = try runAll(crowd, config: config(budget: 13))
        XCTAssertEqual(alone.tokens["target"], together.tokens["target"])
        XCTAssertEqual(alone.tokens["target"]?.count, 15)
        XCTAssertGreaterThan(Set(alone.tokens["target"] ?? []).count, 3, "actually random")
    }

    func testUnseededRequestsAreReproducibleForTheSameEngineSeed() throws {
        let prompt = makePrompt(8, seed: 8)
        let requests = [makeRequest("a", prompt, makeParams(maxTokens: 10, temperature: 1))]
        let (first, _) = try runAll(requests, config: config())
        let (second, _) = try runAll(requests, config: config())
        XCTAssertEqual(first.tokens, second.tokens)
    }
}
