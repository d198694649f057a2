import JSON
import Foundation
import XCTest
@testable import Server

/// A client that disconnects shows up as a failing write; the request must be aborted in the engine.
final class ServerStreamingAbortTests: XCTestCase {
    struct Gone: Error {}

    private func plan(_ body: String, engine: FakeServingEngine) throws -> CompletionPlan {
        try CompletionPlan(body: try JSONParser.parse(body), engine: engine, servedModels: ["m"], limits: RequestLimits())
    }

    func testCompletionStreamAbortsWhenClientGoes() async throws {
        let engine = FakeServingEngine()
        engine.hangAfterTokens = 3
        let plan = try plan(#"{"prompt": "a", "max_tokens": 50, "stream": true}"#, engine: engine)
        let (run, stream) = try plan.start(engine: engine)
        var writes = 0
        do {
            try await streamCompletion(plan, run: run, stream: stream, engine: engine) { _ in
                writes += 1
                if writes == 2 { throw SSEWriteError(underlying: Gone()) }
            }
            XCTFail("the write failure propagates")
        } catch is SSEWriteError {}
        XCTAssertEqual(writes, 2)
        XCTAssertTrue(engine.aborted.contains(plan.id), "aborted: \(engine.aborted)")
    }

    func testChatStreamAbortsEveryPromptRequest() async throws {
        let engine = FakeServingEngine()
        engine.hangAfterTokens = 1
        let body = #"{"messages": [{"role": "user", "content": "x"}], "stream": true, "n": 2}"#
        let plan = try ChatPlan(body: try JSONParser.parse(body), engine: engine, servedModels: ["m"],
                                limits: RequestLimits())
        let (run, stream) = try plan.start(engine: engine)
        do {
            try await streamChat(plan, run: run, stream: stream) { _ in throw SSEWriteError(underlying: Gone()) }
            XCTFail("the write failure propagates")
        } catch is SSEWriteError {}
        XCTAssertTrue(engine.aborted.contains(plan.id))
    }

    func testFinishedStreamDoesNotAbort() async throws {
        let engine = FakeServingEngine()
        let plan = try plan(#"{"prompt": ["a", "b"], "max_tokens": 2, "stream": true}"#, engine: engine)
        let (run, stream) = try plan.start(engine: engine)
        var events: [String] = []
        try await streamCompletion(plan, run: run, stream: stream, engine: engine) { events.append($0) }
        XCTAssertEqual(events.last, sseDone)
        XCTAssertEqual(events.count, 5)
        XCTAssertTrue(engine.aborted.isEmpty, "aborted: \(engine.aborted)")
        XCTAssertEqual(Set(engine.started.map(\.id)), [plan.id + "-0", plan.id + "-1"])
    }

    func testCancelledNonStreamingRequestAborts() async throws {
        let engine = FakeServingEngine()
        engine.hangAfterTokens = 2
        let plan = try plan(#"{"prompt": "a", "max_tokens": 50}"#, engine: engine)
        let task = Task { try await completeNonStreaming(plan, engine: engine) }
        // The fake's outputs are all buffered at once, so wait until the request has started, then cancel.
        while engine.started.isEmpty { try await Task.sleep(nanoseconds: 1_000_000) }
        task.cancel()
        _ = try? await task.value
        XCTAssertTrue(engine.aborted.contains(plan.id), "aborted: \(engine.aborted)")
    }
}
