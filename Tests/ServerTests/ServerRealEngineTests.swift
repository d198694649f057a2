import JSON
import Engine
import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import Server

/// The HTTP layer over the real engine and the tiny stories260K Llama (skipped when the assets are absent).
final class ServerRealEngineTests: XCTestCase {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    private func loadEngine() throws -> AsyncLLMEngine {
        let model = Self.repoRoot.appendingPathComponent("../shared/assets/stories260K-hf").standardized.path
        guard FileManager.default.fileExists(atPath: model) else {
            throw XCTSkip("stories260K assets not found at \(model)")
        }
        var config = EngineConfig(model: model)
        config.servedModelName = "stories"
        config.maxModelLen = 256
        config.kvCacheMemoryBytes = 8 << 20
        config.chatTemplate = Self.repoRoot.appendingPathComponent("tests/e2e/simple_chat_template.jinja").path
        config.threads = 1
        return try AsyncLLMEngine.load(config)
    }

    func testCompletionsChatStreamingAndAbortOnRealModel() async throws {
        let engine = try loadEngine()
        let serving = AsyncEngineServing(engine: engine)
        var configuration = ServerConfiguration(servedModelNames: ["stories"])
        configuration.logRequests = false
        let server = OpenAIServer(engine: serving, configuration: configuration)
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in
            let body = #"{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "ignore_eos": true}"#
            let full = try await client.postJSON("/v1/completions", body)
            XCTAssertEqual(full.status, .ok, full.text)
            XCTAssertEqual(full.json?.path("usage", "completion_tokens"), 8)
            let text = try XCTUnwrap(full.json?.path("choices", 0, "text")?.stringValue)
            XCTAssertFalse(text.isEmpty)

            let streamed = try await client.postJSON(
                "/v1/completions", #"{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "ignore_eos": true, "stream": true}"#)
            let chunks = try sseEvents(streamed.text).dropLast().map { try JSONParser.parse($0) }
            XCTAssertEqual(chunks.compactMap { $0.path("choices", 0, "text")?.stringValue }.joined(), text,
                           "streamed deltas concatenate to the non-streamed text")

            let chat = try await client.postJSON(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4, "logprobs": true, "top_logprobs": 2, "ignore_eos": true}"#)
            XCTAssertEqual(chat.status, .ok, chat.text)
            XCTAssertEqual(chat.json?.path("choices", 0, "logprobs", "content")?.arrayValue?.count, 4)

            let tooLong = try await client.postJSON("/v1/completions",
                                                    #"{"prompt": "\#(String(repeating: "Once upon a time ", count: 200))"}"#)
            XCTAssertEqual(tooLong.status, .badRequest)
        }

        // A stream whose client goes away is aborted and its KV blocks are freed.
        let plan = try CompletionPlan(body: try JSONParser.parse(
            #"{"prompt": "Once upon a time", "max_tokens": 200, "ignore_eos": true, "stream": true}"#),
                                      engine: serving, servedModels: ["stories"], limits: RequestLimits())
        let (run, stream) = try plan.start(engine: serving)
        var writes = 0
        do {
            try await streamCompletion(plan, run: run, stream: stream, engine: serving) { _ in
                writes += 1
                if writes == 3 { throw SSEWriteError(underlying: CancellationError()) }
            }
        } catch is SSEWriteError {}
        var stats = serving.stats()
        for _ in 0..<500 where stats.numRunning + stats.numWaiting > 0 || stats.kvCacheUsage > 0 {
            try await Task.sleep(nanoseconds: 10_000_000)
            stats = serving.stats()
        }
        XCTAssertEqual(stats.numRunning, 0)
        XCTAssertEqual(stats.kvCacheUsage, 0)
        await engine.shutdown(drainTimeout: 0)
    }
}
