@testable import Benchmarks
import Engine
import XCTest

/// Tokenizer loading, synthetic prompts and the offline benchmarks on the real tiny models in ../shared/assets.
final class BenchRealModelTests: XCTestCase {
    private func asset(_ path: String) throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let full = root.appendingPathComponent("shared/assets").appendingPathComponent(path).path
        guard FileManager.default.fileExists(atPath: full) else {
            throw XCTSkip("\(full) is absent (shared assets are not checked out beside the repository)")
        }
        return full
    }

    func testRandomPromptsHaveTheAskedTokenCountWithRealTokenizers() throws {
        for path in ["stories260K-hf", "llama.cpp/models/ggml-vocab-gpt-2.gguf"] {
            let tokenizer = try BenchTokenizerLoading.load(try asset(path))
            var random = BenchRandom(seed: 0)
            let prompts = try BenchDatasetBuilder(tokenizer: tokenizer)
                .random(count: 8, inputLength: 64, outputLength: 16, rangeRatio: 0, random: &random)
            for prompt in prompts {
                let count = tokenizer.encode(prompt.text, addSpecialTokens: false).count
                XCTAssertEqual(prompt.promptLength, count, path)
                XCTAssertEqual(Double(count), 64, accuracy: 2, "\(path): \(prompt.text)")
            }
        }
    }

    func testMissingTokenizerPathIsAClearError() {
        XCTAssertThrowsError(try BenchTokenizerLoading.load("/nonexistent/model-folder")) {
            XCTAssertTrue("\($0)".contains("/nonexistent/model-folder"), "\($0)")
        }
    }

    func testOfflineThroughputAndLatencyCountEveryToken() throws {
        var config = EngineConfig(model: try asset("stories260K-hf"))
        config.threads = 1
        config.logStatsInterval = nil
        config.kvCacheMemoryBytes = 8 << 20
        let engine = try LLMEngine(config: config)
        let prompts = try BenchOffline.randomPrompts(count: 4, length: 8, engine: engine, seed: 1)
        XCTAssertEqual(prompts.map(\.count), [8, 8, 8, 8])
        let result = try BenchOffline.throughput(engine: engine, prompts: prompts, outputLength: 6)
        XCTAssertEqual(result.requests, 4)
        XCTAssertEqual(result.promptTokens, 32)
        XCTAssertEqual(result.outputTokens, 24)  // EOS ignored: exactly the asked length
        XCTAssertTrue(result.summary.hasPrefix("Throughput: "))
        let latency = try BenchOffline.latency(engine: engine, batch: prompts, outputLength: 4, warmup: 1, iterations: 3)
        XCTAssertEqual(latency.latencies.count, 3)
        XCTAssertTrue(latency.latencies.allSatisfy { $0 > 0 })
        XCTAssertTrue(latency.summary.contains("99% percentile latency: "))
        XCTAssertThrowsError(try BenchOffline.latency(engine: engine, batch: prompts, outputLength: 4, warmup: 0,
                                                      iterations: 0))
    }
}
