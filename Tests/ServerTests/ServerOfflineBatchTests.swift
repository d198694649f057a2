import Foundation
import XCTest
@testable import Server

final class ServerOfflineBatchTests: XCTestCase {
    func testLinesKeepOrderAndReportErrorsPerLine() async throws {
        let engine = FakeServingEngine()
        let lines = [
            #"{"prompt": "a", "max_tokens": 3}"#,
            #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "n": 2}"#,
            #"{"prompt": "a", "temperature": -1}"#,
            "not json",
        ]
        let progress = ProgressLog()
        let results = await OfflineBatch.run(lines: lines, engine: engine, modelName: "m", maxInFlight: 2) {
            done, total, _ in progress.record(done, total)
        }
        XCTAssertEqual(results.map(\.index), [0, 1, 2, 3])
        XCTAssertEqual(results[0].json.path("outputs", 0, "text"), "abc")
        XCTAssertEqual(results[0].json.path("outputs", 0, "finish_reason"), "length")
        XCTAssertEqual(results[0].json.path("usage", "completion_tokens"), 3)
        XCTAssertEqual(results[1].json["outputs"]?.arrayValue?.count, 2)
        XCTAssertEqual(results[1].json.path("outputs", 1, "text"), "bc")
        XCTAssertTrue(results[2].json["error"]?.stringValue?.contains("temperature") ?? false)
        XCTAssertNotNil(results[3].json["error"])
        XCTAssertEqual(results.map(\.generatedTokens), [3, 4, 0, 0])
        XCTAssertEqual(progress.calls.last?.0, 4)
        XCTAssertEqual(progress.calls.count, 4)
    }
}

final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _calls: [(Int, Int)] = []
    var calls: [(Int, Int)] { lock.lock(); defer { lock.unlock() }; return _calls }
    func record(_ done: Int, _ total: Int) {
        lock.lock()
        _calls.append((done, total))
        lock.unlock()
    }
}
