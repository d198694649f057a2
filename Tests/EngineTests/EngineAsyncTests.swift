import Engine
import EngineCore
import XCTest

/// AsyncLLMEngine: streams, cancellation, abort, overload and shutdown on the fake models.
final class EngineAsyncTests: XCTestCase {
    typealias Support = EngineTestSupport

    private func makeEngine(_ behavior: FakeModel.Behavior = .script(EngineTestSupport.script),
                            config: EngineConfig = EngineTestSupport.config(),
                            forwardDelay: Double = 0) throws -> AsyncLLMEngine {
        AsyncLLMEngine(engine: try Support.engine(behavior, config: config, forwardDelay: forwardDelay))
    }

    /// Polls the stats snapshot (updated by the engine thread) until `condition` holds or 10 s pass.
    private func eventually(_ engine: AsyncLLMEngine, _ condition: (EngineStats) -> Bool) async -> Bool {
        for _ in 0..<2000 {
            if condition(engine.stats()) { return true }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return false
    }

    func testStreamYieldsDeltasThenFinishes() async throws {
        let engine = try makeEngine()
        var params = Support.greedy(maxTokens: 20)
        params.stop = ["lazy"]
        let stream = try engine.generate(requestId: "s", prompt: .text("go"), params: params)
        var text = ""
        var outputs = 0
        var last: RequestOutput?
        for try await output in stream {
            outputs += 1
            text += output.outputs.map(\.text).joined()
            last = output
        }
        let full = Support.scripted(promptLength: 2, count: 20)
        let expected = full.range(of: "lazy").map { String(full[..<$0.lowerBound]) } ?? full
        XCTAssertEqual(text, expected)
        XCTAssertEqual(last?.finished, true)
        XCTAssertGreaterThan(outputs, 1)
        let idle = await engine.waitUntilIdle(timeout: 10)
        XCTAssertTrue(idle)
        await engine.shutdown(drainTimeout: 1)
    }

    func testManyConcurrentStreamsAllComplete() async throws {
        let engine = try makeEngine(.hash(eosModulo: 0))
        let texts = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for index in 0..<16 {
                let stream = try engine.generate(requestId: "c\(index)", prompt: .text("prompt \(index)"),
                                                 params: Support.greedy(maxTokens: 8))
                group.addTask {
                    var text = ""
                    for try await output in stream { text += output.outputs.map(\.text).joined() }
                    return (index, text)
                }
            }
            var results: [Int: String] = [:]
            for try await (index, text) in group { results[index] = text }
            return results
        }
        XCTAssertEqual(texts.count, 16)
        XCTAssertTrue(texts.values.allSatisfy { $0.utf8.count == 8 })
        let drained = await eventually(engine) { $0.requestSuccess["length"] == 16 && $0.kvCacheUsage == 0 }
        XCTAssertTrue(drained)
        await engine.shutdown(drainTimeout: 1)
    }

    func testCancellingTheConsumerAbortsAndFreesBlocks() async throws {
        let engine = try makeEngine()
        let stream = try engine.generate(requestId: "c", prompt: .text(String(repeating: "w", count: 50)),
                                         params: Support.greedy(maxTokens: 400))
        let consumer = Task {
            var seen = 0
            for try await _ in stream { seen += 1 }
            return seen
        }
        let started = await eventually(engine) { $0.kvCacheUsage > 0 && $0.generationTokens > 2 }
        XCTAssertTrue(started)
        consumer.cancel()
        _ = try? await consumer.value
        let freed = await eventually(engine) { $0.kvCacheUsage == 0 && $0.requestSuccess["abort"] == 1 }
        XCTAssertTrue(freed, "cancelled stream must abort the request: \(engine.stats())")
        let idle = await engine.waitUntilIdle(timeout: 10)
        XCTAssertTrue(idle)
        await engine.shutdown(drainTimeout: 1)
    }

    func testExplicitAbortEndsStreamWithAbortReason() async throws {
        let engine = try makeEngine()
        let stream = try engine.generate(requestId: "a", prompt: .text("abc"), params: Support.greedy(maxTokens: 400))
        var last: RequestOutput?
        var aborted = false
        for try await output in stream {
            last = output
            if !aborted && output.outputs.contains(where: { $0.numGeneratedTokens >= 3 }) {
                engine.abort(requestId: "a")
                aborted = true
            }
        }
        XCTAssertEqual(last?.finished, true)
        XCTAssertEqual(last?.outputs.first?.finishReason, .abort)
        let freed = await eventually(engine) { $0.kvCacheUsage == 0 }
        XCTAssertTrue(freed)
        await engine.shutdown(drainTimeout: 1)
    }

    func testInvalidRequestsThrowBeforeStreaming() async throws {
        var config = Support.config()
        config.maxModelLen = 32
        // 1 ms per step keeps the first "dup" request running while the second arrives.
        let engine = try makeEngine(config: config, forwardDelay: 0.001)
        XCTAssertThrowsError(try engine.generate(requestId: "x", prompt: .text(String(repeating: "y", count: 40)),
                                                 params: Support.greedy(maxTokens: 4))) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .contextLengthExceeded)
        }
        // A long request (abort ends it) so that it is surely still running at the second call.
        let running = try engine.generate(requestId: "dup", prompt: .text("a"), params: Support.greedy(maxTokens: nil))
        XCTAssertThrowsError(try engine.generate(requestId: "dup", prompt: .text("a"),
                                                 params: Support.greedy(maxTokens: 4))) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .invalidRequest)
        }
        engine.abort(requestId: "dup")
        for try await _ in running {}
        await engine.shutdown(drainTimeout: 1)
    }

    func testFullWaitingQueueIsOverloaded() async throws {
        var config = Support.config()
        config.maxWaitingRequests = 0
        let engine = try makeEngine(config: config)
        XCTAssertThrowsError(try engine.generate(requestId: "o", prompt: .text("a"),
                                                 params: Support.greedy(maxTokens: 4))) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .overloaded)
        }
        await engine.shutdown(drainTimeout: 1)
    }

    func testShutdownAbortsWhatDoesNotDrainAndRefusesNewWork() async throws {
        // 1 ms per step: the 500-token request is certainly unfinished when the 0-second drain ends.
        let engine = try makeEngine(forwardDelay: 0.001)
        let stream = try engine.generate(requestId: "long", prompt: .text("a"), params: Support.greedy(maxTokens: 500))
        let consumer = Task { () -> RequestOutput? in
            var last: RequestOutput?
            for try await output in stream { last = output }
            return last
        }
        await engine.shutdown(drainTimeout: 0)
        let last = try await consumer.value
        XCTAssertEqual(last?.finished, true)
        XCTAssertEqual(last?.outputs.first?.finishReason, .abort)
        XCTAssertFalse(engine.isAcceptingRequests)
        XCTAssertThrowsError(try engine.generate(requestId: "late", prompt: .text("a"),
                                                 params: Support.greedy(maxTokens: 4))) { error in
            XCTAssertEqual((error as? EngineError)?.kind, .shuttingDown)
        }
    }
}
