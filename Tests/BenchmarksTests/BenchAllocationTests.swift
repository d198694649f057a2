import Benchmarks
import Engine
import XCTest

/// `vllm bench latency` reports heap allocations per engine decode step; on the real tiny model the
/// final-only decode path (the one `generate` and the offline benchmarks use) allocates nothing.
final class BenchAllocationTests: XCTestCase {
    func testEngineDecodeStepsAllocateNothing() throws {
        try XCTSkipUnless(BenchStepAllocations.isSupported, "heap allocation counting needs Linux with glibc")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let model = root.appendingPathComponent("shared/assets/stories260K-hf").path
        guard FileManager.default.fileExists(atPath: model) else {
            throw XCTSkip("\(model) is absent (shared assets are not checked out beside the repository)")
        }
        var config = EngineConfig(model: model)
        config.threads = 1
        config.logStatsInterval = nil
        config.kvCacheMemoryBytes = 8 << 20
        let engine = try LLMEngine(config: config)
        let batch = try BenchOffline.randomPrompts(count: 4, length: 8, engine: engine, seed: 3)
        let result = try XCTUnwrap(BenchStepAllocations.measure(engine: engine, batch: batch, outputLength: 16))
        XCTAssertEqual(result.steps, 16 - 2 - 3)
        XCTAssertEqual(result.total, 0, result.summary)
        XCTAssertTrue(result.summary.hasPrefix("Heap allocations per decode step: 0.00"), result.summary)
        XCTAssertFalse(engine.hasUnfinishedRequests)
        // Too short to have a steady step: nothing to report.
        XCTAssertNil(try BenchStepAllocations.measure(engine: engine, batch: batch, outputLength: 4))
    }
}
