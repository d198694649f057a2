import AllocationCounter
import Engine
import EngineCore
import Foundation
import Models
import XCTest

/// Heap allocations of a warmed-up `LLMEngine.step()` with several requests decoding together.
final class EngineAllocationTests: XCTestCase {
    typealias Support = EngineTestSupport
    let requestCount = 4

    /// Adds `requestCount` requests, runs prefill and `warmUpSteps` decode steps, then returns the
    /// heap allocations of each of the next `measuredSteps` steps (all requests still decoding).
    func decodeStepAllocations(_ engine: LLMEngine, params: SamplingParams, outputKind: RequestOutputKind,
                               warmUpSteps: Int = 4, measuredSteps: Int = 8) throws -> [UInt64] {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        for index in 0..<requestCount {
            try engine.addRequest(requestId: "r\(index)", prompt: .tokenIds(Array(repeating: 98, count: 3 + index) + [99]),
                                  params: params, outputKind: outputKind)
        }
        var outputs = try engine.step()
        for _ in 0..<warmUpSteps { outputs = try engine.step() }
        var counts: [UInt64] = []
        counts.reserveCapacity(measuredSteps)
        for _ in 0..<measuredSteps {
            outputs = []  // a caller that keeps outputs alive makes the engine copy their buffers
            vk_alloc_counting_begin()
            do { outputs = try engine.step() } catch { _ = vk_alloc_counting_end(); throw error }
            counts.append(vk_alloc_counting_end())
            XCTAssertTrue(outputs.allSatisfy { !$0.finished }, "no request may finish while measured")
            XCTAssertEqual(outputs.count, outputKind == .finalOnly ? 0 : requestCount)
        }
        XCTAssertEqual(engine.numUnfinishedRequests, requestCount)
        // The requests still finish normally, with their full text.
        let finals = try Support.runToCompletion(engine)
        XCTAssertEqual(finals.count, requestCount)
        return counts
    }

    func params(stop: [String] = []) -> SamplingParams {
        var params = Support.greedy(maxTokens: 40)
        params.ignoreEOS = true
        params.stop = stop
        return params
    }

    func fakeEngine() throws -> LLMEngine {
        let bundle = ModelBundle(model: AllocationFreeFakeModel(vocabSize: FakeTokenizer.vocabSize),
                                 tokenizer: try FakeTokenizer.make(), modelName: "fake", eosTokenIds: [FakeTokenizer.eosId])
        return try LLMEngine(bundle: bundle, config: Support.config())
    }

    func testFinalOnlyDecodeStepAllocatesNothing() throws {
        let counts = try decodeStepAllocations(fakeEngine(), params: params(), outputKind: .finalOnly)
        print("engine step allocations, fake model, final-only: \(counts)")
        XCTAssertEqual(counts, Array(repeating: 0, count: counts.count))
    }

    /// Streaming outputs need the text every step. With this byte-level tokenizer the incremental
    /// detokenizer decodes token by token into reused buffers and allocates nothing; a stop string
    /// costs 1 allocation per request-step. The bounds are what this reaches today, so a new
    /// per-token allocation in the engine or the detokenizer fails here.
    func testStreamingDecodeStepAllocations() throws {
        for kind in [RequestOutputKind.delta, .cumulative] {
            for stop in [[], ["zzz"]] {
                let counts = try decodeStepAllocations(fakeEngine(), params: params(stop: stop), outputKind: kind)
                print("engine step allocations, fake model, \(kind), stop \(stop): \(counts)")
                let perRequestBound: UInt64 = stop.isEmpty ? 0 : 1
                XCTAssertLessThanOrEqual(counts.max() ?? 0, perRequestBound * UInt64(requestCount), "\(kind), stop \(stop): \(counts)")
            }
        }
    }

    func testStoriesDecodeStepAllocations() throws {
        let path = EngineStoriesTests.modelPath
        guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else {
            throw XCTSkip("stories260K not found at \(path) (shared assets folder absent)")
        }
        var config = EngineConfig(model: path)
        config.kvCacheMemoryBytes = 8 << 20
        let finalOnly = try decodeStepAllocations(LLMEngine(config: config), params: params(), outputKind: .finalOnly)
        print("engine step allocations, stories260K, final-only: \(finalOnly)")
        XCTAssertEqual(finalOnly, Array(repeating: 0, count: finalOnly.count))
        // Streaming: the SentencePiece detokenizer's allocations only (about 25 per token).
        let delta = try decodeStepAllocations(LLMEngine(config: config), params: params(), outputKind: .delta)
        print("engine step allocations, stories260K, delta: \(delta)")
        XCTAssertLessThanOrEqual(delta.max() ?? 0, 26 * UInt64(requestCount), "\(delta)")
    }
}

/// Final-only completions without stop strings are detokenized at finish instead of each step; their
/// text must be exactly what a streamed (cumulative) completion of the same request shows.
final class EngineDeferredDetokenizationTests: XCTestCase {
    typealias Support = EngineTestSupport

    /// Runs each (id, prompt, params) once as cumulative and once as final-only in one engine.
    func compareKinds(_ engine: LLMEngine, _ requests: [(String, PromptInput, SamplingParams)],
                      abortAfterSteps: Int? = nil) throws {
        for (id, prompt, params) in requests {
            try engine.addRequest(requestId: "c-" + id, prompt: prompt, params: params, outputKind: .cumulative)
            try engine.addRequest(requestId: "f-" + id, prompt: prompt, params: params, outputKind: .finalOnly)
        }
        var finals: [String: RequestOutput] = [:]
        var steps = 0
        while engine.hasUnfinishedRequests && steps < 1000 {
            steps += 1
            if steps == abortAfterSteps {
                for output in engine.abort(requests.flatMap { ["c-" + $0.0, "f-" + $0.0] }) { finals[output.requestId] = output }
                continue
            }
            for output in try engine.step() where output.finished { finals[output.requestId] = output }
        }
        for (id, _, _) in requests {
            let streamed = try XCTUnwrap(finals["c-" + id]?.outputs.first, id)
            let deferred = try XCTUnwrap(finals["f-" + id]?.outputs.first, id)
            XCTAssertEqual(deferred.text, streamed.text, id)
            XCTAssertEqual(deferred.tokenIds, streamed.tokenIds, id)
            XCTAssertEqual(deferred.finishReason, streamed.finishReason, id)
            XCTAssertEqual(deferred.stopReason, streamed.stopReason, id)
        }
    }

    func testFinalOnlyTextMatchesStreamedTextWithEOSAndStopTokens() throws {
        var shown = Support.greedy(maxTokens: 40)
        shown.includeStopStrInOutput = true
        try compareKinds(Support.engine(.hash(eosModulo: 5)),
                         [("eos", .text("hello"), Support.greedy(maxTokens: 40)),
                          ("eos-shown", .text("hello"), shown),
                          ("length", .text("xyz"), Support.greedy(maxTokens: 3))])
        // The script "the quick brown fox..." reaches 'k' (a normal token whose text is hidden) early.
        var stopIds = Support.greedy(maxTokens: 40)
        stopIds.stopTokenIds = [Int(Character("k").asciiValue!)]
        var stopIdsShown = stopIds
        stopIdsShown.includeStopStrInOutput = true
        try compareKinds(Support.engine(.script(Support.script)),
                         [("stop-id", .text("ab"), stopIds), ("stop-id-shown", .text("ab"), stopIdsShown)])
    }

    func testFinalOnlyTextMatchesStreamedTextOnAbort() throws {
        let engine = try Support.engine(.script(Support.script))
        try compareKinds(engine, [("aborted", .text("ab"), Support.greedy(maxTokens: 40))], abortAfterSteps: 6)
    }

    func testFinalOnlyTextMatchesStreamedTextOnStories() throws {
        let path = EngineStoriesTests.modelPath
        guard FileManager.default.fileExists(atPath: path + "/model.safetensors") else {
            throw XCTSkip("stories260K not found at \(path) (shared assets folder absent)")
        }
        var config = EngineConfig(model: path)
        config.kvCacheMemoryBytes = 8 << 20
        var sampled = SamplingParams()
        sampled.maxTokens = 60
        sampled.seed = 11
        try compareKinds(LLMEngine(config: config), [("greedy", .text("Once upon a time"), Support.greedy(maxTokens: 60)),
                                                     ("sampled", .text("The cat"), sampled)])
    }
}

/// Next token = 'a' + position % 26, written straight into the logits; touches no heap.
final class AllocationFreeFakeModel: CausalLanguageModel {
    let spec: ModelSpec

    init(vocabSize: Int) {
        spec = ModelSpec(architecture: "FakeForCausalLM", vocabSize: vocabSize, maxPositionEmbeddings: 512,
                         numLayers: 1, numKVHeads: 1, headDim: 8)
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize * 64 }
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {}

    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        let vocab = spec.vocabSize
        var outRow = 0
        while outRow < batch.logitRows.count {
            let position = Int(batch.positions[Int(batch.logitRows[outRow])])
            let base = outRow * vocab
            var v = 0
            while v < vocab { logits[base + v] = 0; v += 1 }
            logits[base + 97 + (position + 1) % 26] = 1
            outRow += 1
        }
    }
}
