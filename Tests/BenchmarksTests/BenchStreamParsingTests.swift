@testable import Benchmarks
import XCTest

final class BenchStreamParsingTests: XCTestCase {
    private let stream = """
        : keep-alive comment\r
        data: {"choices":[{"text":"Hé"}]}\r
        \r
        event: message
        data: {"choices":[{"delta":{"content":"llo"}}]}

        data: line one
        data: line two

        data: [DONE]


        """

    /// Every way of cutting the stream into two reads, and byte-by-byte, gives the same events.
    func testEventsSurviveAnySplitAcrossReads() {
        let bytes = Array(stream.utf8)
        let expected = [#"{"choices":[{"text":"Hé"}]}"#, #"{"choices":[{"delta":{"content":"llo"}}]}"#,
                        "line one\nline two", "[DONE]"]
        for cut in 0...bytes.count {
            var parser = BenchSSEParser()
            let events = parser.feed(bytes[..<cut]) + parser.feed(bytes[cut...])
            XCTAssertEqual(events, expected, "split at byte \(cut)")
            XCTAssertNil(parser.finish())
        }
        var parser = BenchSSEParser()
        var events: [String] = []
        for byte in bytes { events += parser.feed([byte]) }
        XCTAssertEqual(events, expected)
    }

    func testLastEventWithoutBlankLineIsFlushedAtEnd() {
        var parser = BenchSSEParser()
        XCTAssertEqual(parser.feed(Array("data: {\"a\":1}\n\ndata: tail".utf8)), ["{\"a\":1}"])
        XCTAssertEqual(parser.finish(), "tail")
        XCTAssertNil(parser.finish())
    }

    func testChunkParsingForCompletionsChatUsageAndErrors() throws {
        XCTAssertNil(try BenchStreamChunk.parse("[DONE]"))
        let completion = try XCTUnwrap(BenchStreamChunk.parse(#"{"choices":[{"index":0,"text":"ab"}]}"#))
        XCTAssertEqual(completion, BenchStreamChunk(hasChoices: true, text: "ab"))
        let chat = try XCTUnwrap(BenchStreamChunk.parse(#"{"choices":[{"delta":{"role":"assistant"}}]}"#))
        XCTAssertEqual(chat, BenchStreamChunk(hasChoices: true, text: ""))
        let usage = try XCTUnwrap(BenchStreamChunk.parse(
            #"{"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":12,"total_tokens":19}}"#))
        XCTAssertFalse(usage.hasChoices)
        XCTAssertEqual(usage.completionTokens, 12)
        XCTAssertEqual(usage.promptTokens, 7)
        let error = try XCTUnwrap(BenchStreamChunk.parse(#"{"error":{"message":"too long","code":400}}"#))
        XCTAssertEqual(error.error, "too long")
        XCTAssertThrowsError(try BenchStreamChunk.parse("not json")) { XCTAssertTrue("\($0)".contains("not JSON")) }
    }

    func testRecorderTimesChunksLikeVLLM() throws {
        let recorder = BenchStreamRecorder(promptLength: 3)
        recorder.start(at: 100, benchmarkStart: 99)
        try recorder.receive(status: 200, bytes: Array("data: {\"choices\":[{\"text\":\"a\"}]}\n\n".utf8), at: 100.5)
        // Two events in one read share its timestamp: the second gap is 0, as in vLLM's client.
        try recorder.receive(status: 200, bytes: Array(
            "data: {\"choices\":[{\"text\":\"b\"}]}\n\ndata: {\"choices\":[{\"text\":\"c\"}]}\n\n".utf8), at: 100.75)
        try recorder.receive(status: 200, bytes: Array(
            "data: {\"choices\":[],\"usage\":{\"completion_tokens\":3}}\n\ndata: [DONE]\n\n".utf8), at: 101)
        let result = recorder.finish(status: 200)
        XCTAssertTrue(result.success)
        XCTAssertEqual(result.generatedText, "abc")
        XCTAssertEqual(result.ttft, 0.5)
        XCTAssertEqual(result.itl, [0.25, 0])
        XCTAssertEqual(result.latency, 0.75)  // the usage chunk carries no choices: not a token chunk
        XCTAssertEqual(result.outputTokens, 3)
        XCTAssertEqual(result.startTime, 1)
        XCTAssertEqual(result.chunkTimes, [1.5, 1.75, 1.75])
    }

    func testRecorderReportsHTTPErrorsAndEmptyStreams() throws {
        let rejected = BenchStreamRecorder(promptLength: 3)
        rejected.start(at: 0, benchmarkStart: 0)
        try rejected.receive(status: 400, bytes: Array(#"{"error":{"message":"bad"}}"#.utf8), at: 1)
        let failed = rejected.finish(status: 400)
        XCTAssertFalse(failed.success)
        XCTAssertTrue(failed.error.hasPrefix("HTTP 400"), failed.error)
        XCTAssertTrue(failed.error.contains("bad"))

        let empty = BenchStreamRecorder(promptLength: 3)
        empty.start(at: 0, benchmarkStart: 0)
        try empty.receive(status: 200, bytes: Array("data: [DONE]\n\n".utf8), at: 1)
        XCTAssertFalse(empty.finish(status: 200).success)

        let streamError = BenchStreamRecorder(promptLength: 3)
        XCTAssertThrowsError(try streamError.receive(status: 200, bytes: Array(
            "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".utf8), at: 1)) {
            XCTAssertTrue("\($0)".contains("overloaded"))
        }
    }

    func testEndpointParsing() throws {
        let plain = try BenchEndpoint(baseURL: "http://127.0.0.1:8000")
        XCTAssertEqual(plain, BenchEndpoint(host: "127.0.0.1", port: 8000, pathPrefix: ""))
        let prefixed = try BenchEndpoint(baseURL: "http://localhost:9000/proxy/")
        XCTAssertEqual(prefixed.pathPrefix, "/proxy")
        XCTAssertEqual(try BenchEndpoint(baseURL: "example.org").port, 80)
        XCTAssertEqual(try BenchEndpoint(baseURL: "http://[::1]:81").host, "::1")
        XCTAssertThrowsError(try BenchEndpoint(baseURL: "https://example.org"))
        XCTAssertThrowsError(try BenchEndpoint(baseURL: "http://host:notaport"))
        XCTAssertThrowsError(try BenchEndpoint(baseURL: "http://:80"))
    }
}
