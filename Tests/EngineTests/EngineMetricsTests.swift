import Engine
import EngineCore
import XCTest

/// EngineStats is the one source of /metrics: counters move as the engine runs, finish reasons follow
/// vLLM, and per-request histograms are filled by the engine.
final class EngineMetricsTests: XCTestCase {
    typealias Support = EngineTestSupport

    func testGenerationTokensMoveEveryStepNotOnlyAtTheEnd() throws {
        let engine = try Support.engine(.script(Support.script))
        try engine.addRequest(requestId: "r", prompt: .text("go"), params: Support.greedy(maxTokens: 10))
        var seen: [Int] = []
        while engine.hasUnfinishedRequests {
            _ = try engine.step()
            if engine.hasUnfinishedRequests { seen.append(engine.stats().generationTokens) }
        }
        XCTAssertGreaterThan(seen.count, 3)
        XCTAssertEqual(seen, seen.sorted())
        XCTAssertGreaterThan(seen.last ?? 0, 1, "tokens counted while the request still runs: \(seen)")
        XCTAssertEqual(engine.stats().generationTokens, 10)
        XCTAssertEqual(engine.stats().requestSuccess["length"], 1)
    }

    func testAbortIsCountedAsAbortAndAStopStringAsStop() throws {
        let engine = try Support.engine(.script(Support.script))
        try engine.addRequest(requestId: "a", prompt: .text("go"), params: Support.greedy(maxTokens: 100))
        var stopped = Support.greedy(maxTokens: 100)
        stopped.stop = ["lazy"] // the engine aborts the core request itself, but the reason is stop
        try engine.addRequest(requestId: "s", prompt: .text("go"), params: stopped)
        for _ in 0..<3 { _ = try engine.step() }
        engine.abort(["a"])
        _ = try Support.runToCompletion(engine)
        let stats = engine.stats()
        XCTAssertEqual(stats.requestSuccess["abort"], 1, "\(stats.requestSuccess)")
        XCTAssertEqual(stats.requestSuccess["stop"], 1, "\(stats.requestSuccess)")
        XCTAssertEqual(stats.e2eRequestLatency.count, 2)
        XCTAssertEqual(stats.kvCacheUsage, 0)
    }

    func testMaxNumGenerationTokensIsOnePerParentRequest() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 7)
        params.n = 3
        try engine.addRequest(requestId: "n3", prompt: .text("go"), params: params)
        try engine.addRequest(requestId: "n1", prompt: .text("hi"), params: Support.greedy(maxTokens: 2))
        _ = try Support.runToCompletion(engine)
        let stats = engine.stats()
        XCTAssertEqual(stats.requestMaxNumGenerationTokens.count, 2)
        XCTAssertEqual(stats.requestMaxNumGenerationTokens.sum, 9)
        XCTAssertEqual(stats.requestMaxNumGenerationTokens.upperBounds,
                       EngineHistogram.oneTwoFiveBounds(upTo: engine.maxModelLen))
        XCTAssertEqual(stats.requestGenerationTokens.count, 4, "one per choice")
        XCTAssertEqual(stats.requestTimePerOutputToken.count, 4)
    }

    func testDifferentCacheSaltsDoNotSharePrefixCacheHits() throws {
        let prompt = PromptInput.text(String(repeating: "shared system prompt ", count: 8)) // several full blocks
        func hits(_ firstSalt: String?, _ secondSalt: String?) throws -> (first: Int, second: Int) {
            let engine = try Support.engine(.script(Support.script))
            try engine.addRequest(requestId: "1", prompt: prompt, params: Support.greedy(maxTokens: 2),
                                  cacheSalt: firstSalt)
            _ = try Support.runToCompletion(engine)
            let afterFirst = engine.stats().prefixCacheHits
            try engine.addRequest(requestId: "2", prompt: prompt, params: Support.greedy(maxTokens: 2),
                                  cacheSalt: secondSalt)
            _ = try Support.runToCompletion(engine)
            return (afterFirst, engine.stats().prefixCacheHits - afterFirst)
        }
        let same = try hits("tenant-a", "tenant-a")
        XCTAssertGreaterThan(same.second, 0, "the same salt shares the prefix")
        let different = try hits("tenant-a", "tenant-b")
        XCTAssertEqual(different.second, 0, "another salt must not hit tenant-a's blocks")
        let unsalted = try hits("tenant-a", nil)
        XCTAssertEqual(unsalted.second, 0)
    }

    func testCacheConfigReportsEveryAllocatedBlock() throws {
        let engine = try Support.engine(.script(Support.script), config: Support.config(kvTokens: 1024, blockSize: 16))
        XCTAssertEqual(engine.numKVBlocks, 64, "all blocks the memory holds (vLLM's num_gpu_blocks)")
        XCTAssertEqual(engine.stats().numKVBlocks, engine.numKVBlocks)
        XCTAssertEqual(engine.stats().blockSize, 16)
        XCTAssertEqual(engine.kvCacheTokens, 63 * 16, "the null block holds no tokens")
    }
}
