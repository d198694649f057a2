import Engine
import EngineCore
import XCTest

/// Requests and configurations the engine must refuse with clear errors.
final class EngineValidationTests: XCTestCase {
    typealias Support = EngineTestSupport

    private func expectError(_ kind: EngineError.Kind, containing text: String,
                             _ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let engineError = error as? EngineError else {
                return XCTFail("expected EngineError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(engineError.kind, kind, "\(engineError.message)", file: file, line: line)
            XCTAssertTrue(engineError.message.contains(text), engineError.message, file: file, line: line)
        }
    }

    func testPromptPlusMaxTokensOverContextIsRefused() throws {
        var config = Support.config()
        config.maxModelLen = 64
        let engine = try Support.engine(.script(Support.script), config: config)
        expectError(.contextLengthExceeded, containing: "This model's maximum context length is 64 tokens") {
            try engine.addRequest(requestId: "a", prompt: .text(String(repeating: "x", count: 60)),
                                  params: Support.greedy(maxTokens: 10))
        }
        expectError(.contextLengthExceeded, containing: "your request has 64 input tokens") {
            try engine.addRequest(requestId: "b", prompt: .text(String(repeating: "x", count: 64)),
                                  params: Support.greedy(maxTokens: nil))
        }
        // With max_tokens nil a fitting prompt runs to the end of the context.
        try engine.addRequest(requestId: "c", prompt: .text(String(repeating: "x", count: 60)),
                              params: Support.greedy(maxTokens: nil))
        let final = try XCTUnwrap(Support.runToCompletion(engine)["c"])
        XCTAssertEqual(final.outputs[0].tokenIds.count, 4)
        XCTAssertEqual(final.outputs[0].finishReason, .length)
    }

    func testBadRequestsAreRefused() throws {
        let engine = try Support.engine(.script(Support.script))
        expectError(.invalidRequest, containing: "empty") {
            try engine.addRequest(requestId: "a", prompt: .tokenIds([]), params: Support.greedy(maxTokens: 4))
        }
        expectError(.invalidRequest, containing: "out of vocabulary") {
            try engine.addRequest(requestId: "a", prompt: .tokenIds([1, 999]), params: Support.greedy(maxTokens: 4))
        }
        var params = Support.greedy(maxTokens: 4)
        params.topP = 0
        expectError(.invalidRequest, containing: "top_p") {
            try engine.addRequest(requestId: "a", prompt: .text("x"), params: params)
        }
        expectError(.invalidRequest, containing: "Priority scheduling is not enabled") {
            try engine.addRequest(requestId: "a", prompt: .text("x"), params: Support.greedy(maxTokens: 4), priority: 1)
        }
        try engine.addRequest(requestId: "dup", prompt: .text("x"), params: Support.greedy(maxTokens: 4))
        expectError(.invalidRequest, containing: "already running") {
            try engine.addRequest(requestId: "dup", prompt: .text("x"), params: Support.greedy(maxTokens: 4))
        }
    }

    func testContextLengthDefaultsToModelAndClampsToKVMemory() throws {
        let roomy = try Support.engine(.script(Support.script), config: Support.config(kvTokens: 4096),
                                       maxPositionEmbeddings: 512)
        XCTAssertEqual(roomy.maxModelLen, 512)
        let tight = try Support.engine(.script(Support.script), config: Support.config(kvTokens: 16 * 9),
                                       maxPositionEmbeddings: 512)
        XCTAssertEqual(tight.maxModelLen, 128, "8 usable blocks of 16 once the null block is reserved")

        var tooLong = Support.config(kvTokens: 16 * 9)
        tooLong.maxModelLen = 400
        expectError(.invalidConfig, containing: "estimated maximum model length is 128") {
            _ = try Support.engine(.script(Support.script), config: tooLong)
        }
        var overModel = Support.config()
        overModel.maxModelLen = 1000
        expectError(.invalidConfig, containing: "max_position_embeddings=512") {
            _ = try Support.engine(.script(Support.script), config: overModel)
        }
        expectError(.invalidConfig, containing: "not even one sequence fits") {
            _ = try Support.engine(.script(Support.script), config: Support.config(kvTokens: 16))
        }
    }

    func testChatTemplateOverrideIsFileOrInline() throws {
        let inline = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
        XCTAssertEqual(try ModelBundle.loadChatTemplateOverride(inline), inline)
        let path = NSTemporaryDirectory() + "engine-test-template-\(UUID().uuidString).jinja"
        try inline.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try ModelBundle.loadChatTemplateOverride(path), inline)
        expectError(.loadFailed, containing: "not found") {
            _ = try ModelBundle.loadChatTemplateOverride("/nonexistent/template.jinja")
        }
    }
}

/// The periodic throughput line.
final class EngineThroughputLogTests: XCTestCase {
    func testThroughputLineReportsRatesOverTheInterval() {
        var stats = EngineStats(maxModelLen: 128)
        stats.promptTokens = 100
        stats.generationTokens = 50
        stats.numRunning = 2
        stats.kvCacheUsage = 0.25
        stats.prefixCacheQueries = 40
        stats.prefixCacheHits = 10
        XCTAssertEqual(EngineStatsLogLine.make(previous: EngineStats(maxModelLen: 128), current: stats, seconds: 5),
                       "Engine 000: Avg prompt throughput: 20.0 tokens/s, Avg generation throughput: 10.0 tokens/s, "
                           + "Running: 2 reqs, Waiting: 0 reqs, KV cache usage: 25.0%, Prefix cache hit rate: 25.0%")
        var idle = stats
        idle.numRunning = 0
        XCTAssertNil(EngineStatsLogLine.make(previous: idle, current: idle, seconds: 5))
    }
}
