import ChatTemplate
import Engine
import EngineCore
import Foundation
import Weights
import XCTest

/// The default model (SmolLM2-135M-Instruct Q4_1 GGUF) when it is already in the cache; never downloads.
final class EngineDefaultModelTests: XCTestCase {
    typealias Support = EngineTestSupport

    private static let cachedModel = ModelLocator.defaultCacheDirectory + "/SmolLM2-135M-Instruct.Q4_1.gguf"

    private func engine(_ configure: (inout EngineConfig) -> Void = { _ in }) throws -> LLMEngine {
        guard FileManager.default.fileExists(atPath: Self.cachedModel) else {
            throw XCTSkip("default model not cached at \(Self.cachedModel); run `vllm serve` once to fetch it")
        }
        var config = EngineConfig()
        config.kvCacheMemoryBytes = 64 << 20
        configure(&config)
        return try LLMEngine(config: config)
    }

    private let prompts = ["The capital of France is", "def fibonacci(n):", "Once upon a time",
                           "The three primary colors are", "Water boils at", "My favourite food is"]

    private func run(_ engine: LLMEngine, _ indices: [Int], params: SamplingParams) throws -> [[Int]] {
        for index in indices {
            try engine.addRequest(requestId: "r\(index)", prompt: .text(prompts[index]), params: params)
        }
        let finals = try Support.runToCompletion(engine)
        return try indices.map { try XCTUnwrap(finals["r\($0)"]).outputs[0].tokenIds }
    }

    func testLoadsTokenizerTemplateAndStopIds() throws {
        let engine = try engine()
        let bundle = engine.bundle
        XCTAssertEqual(bundle.modelName, DefaultModel.name)
        XCTAssertNotNil(bundle.chatTemplate, bundle.chatTemplateError ?? "")
        let imEnd = try XCTUnwrap(bundle.tokenizer.id(forToken: "<|im_end|>"))
        XCTAssertTrue(bundle.eosTokenIds.contains(imEnd), "eos ids \(bundle.eosTokenIds) must end a chat turn")
        let rendered = try XCTUnwrap(bundle.chatTemplate).renderChat(
            messages: [["role": "user", "content": "Hi"]],
            addGenerationPrompt: true, bosToken: bundle.tokenizer.bosToken, eosToken: bundle.tokenizer.eosToken)
        XCTAssertTrue(rendered.hasSuffix("<|im_start|>assistant\n"), rendered)
        // 64 MiB of fp16 KV (23040 bytes per token) holds 181 usable blocks: less than the model's 8192.
        XCTAssertEqual(engine.maxModelLen, 181 * 16)
    }

    /// Q4_1 batches are not bit-identical to solo runs: prompts prefilled together can cross to the
    /// packed-panel GEMM (another fp32 summation order), so near-ties can flip later tokens. What must hold: batched runs are
    /// deterministic, every prompt's first token (clear margins here) matches its solo run, and a
    /// chat turn ends on <|im_end|> with finish reason stop.
    func testBatchedGreedyIsDeterministicAndChatStopsAtEndOfTurn() throws {
        let params = Support.greedy(maxTokens: 8)
        let indices = [0, 1, 2]
        let first = try run(try engine { $0.maxNumBatchedTokens = 16 }, indices, params: params)
        let second = try run(try engine { $0.maxNumBatchedTokens = 16 }, indices, params: params)
        XCTAssertEqual(first, second)
        let solo = try engine { $0.enablePrefixCaching = false }
        for index in indices {
            XCTAssertEqual(try run(solo, [index], params: params)[0].first, first[index].first, prompts[index])
        }

        let engine = try engine()
        let bundle = engine.bundle
        let chat = try XCTUnwrap(bundle.chatTemplate).renderChat(
            messages: [["role": "user", "content": "What is 2+2?"]], addGenerationPrompt: true,
            bosToken: bundle.tokenizer.bosToken, eosToken: bundle.tokenizer.eosToken)
        let ids = bundle.tokenizer.encode(chat, addSpecialTokens: false)
        try engine.addRequest(requestId: "chat", prompt: .tokenIds(ids), params: Support.greedy(maxTokens: 40))
        let final = try XCTUnwrap(Support.runToCompletion(engine)["chat"])
        XCTAssertEqual(final.outputs[0].finishReason, .stop, final.outputs[0].text)
        XCTAssertFalse(final.outputs[0].text.contains("<|im_end|>"))
        XCTAssertFalse(final.outputs[0].text.isEmpty)
        XCTAssertEqual(engine.stats().kvCacheUsage, 0)
    }

    func testPrefixCacheAndCancellationOnTheDefaultModel() async throws {
        let llm = try engine()
        let prefix = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 5)
        try llm.addRequest(requestId: "first", prompt: .text(prefix + "Then"), params: Support.greedy(maxTokens: 2))
        let first = try XCTUnwrap(Support.runToCompletion(llm)["first"])
        try llm.addRequest(requestId: "second", prompt: .text(prefix + "Later"), params: Support.greedy(maxTokens: 2))
        let second = try XCTUnwrap(Support.runToCompletion(llm)["second"])
        let shared = zip(first.promptTokenIds, second.promptTokenIds).prefix { $0 == $1 }.count
        XCTAssertGreaterThan(shared, 32)
        XCTAssertEqual(second.numCachedTokens, shared / 16 * 16)

        let engine = AsyncLLMEngine(engine: llm)
        var params = Support.greedy(maxTokens: 200)
        params.ignoreEOS = true
        do {
            let stream = try engine.generate(requestId: "cancel", prompt: .text("Tell me a story"), params: params)
            var tokens = 0
            for try await output in stream {
                tokens += output.outputs.reduce(0) { $0 + $1.tokenIds.count }
                if tokens >= 3 { break }
            }
        }
        var freed = false
        for _ in 0..<2000 where !freed {
            let stats = engine.stats()
            freed = stats.kvCacheUsage == 0 && stats.requestSuccess["abort"] == 1
            if !freed { try await Task.sleep(nanoseconds: 5_000_000) }
        }
        XCTAssertTrue(freed, "releasing the stream must abort the request and free its blocks")
        await engine.shutdown(drainTimeout: 1)
    }
}
