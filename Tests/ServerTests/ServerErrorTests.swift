import JSON
import Foundation
import HTTPTypes
import XCTest
@testable import Server

final class ServerErrorTests: XCTestCase {
    /// Each body must give 400 with OpenAI's error shape; `param` checked where given.
    func testValidationErrorsAre400WithOpenAIShape() async throws {
        let cases: [(String, String, String?)] = [
            ("/v1/completions", #"{"prompt": "a", "max_tokens": 0}"#, "max_tokens"),
            ("/v1/completions", #"{"prompt": "a", "max_tokens": "10"}"#, "max_tokens"),
            ("/v1/completions", #"{"prompt": "a", "max_tokens": 10.5}"#, "max_tokens"),
            ("/v1/completions", #"{"prompt": "a", "temperature": -0.1}"#, "temperature"),
            ("/v1/completions", #"{"prompt": "a", "top_p": 0}"#, "top_p"),
            ("/v1/completions", #"{"prompt": "a", "top_k": -2}"#, "top_k"),
            ("/v1/completions", #"{"prompt": "a", "min_p": 2}"#, "min_p"),
            ("/v1/completions", #"{"prompt": "a", "presence_penalty": 3}"#, "presence_penalty"),
            ("/v1/completions", #"{"prompt": "a", "repetition_penalty": 0}"#, "repetition_penalty"),
            ("/v1/completions", #"{"prompt": "a", "n": 0}"#, "n"),
            ("/v1/completions", #"{"prompt": "a", "n": 1000000}"#, "n"),
            ("/v1/completions", #"{"prompt": "a", "logprobs": 21}"#, "logprobs"),
            ("/v1/completions", #"{"prompt": "a", "stop": [""]}"#, "stop"),
            ("/v1/completions", #"{"prompt": "a", "seed": 9223372036854775808}"#, "seed"),
            ("/v1/completions", #"{"prompt": "a", "logit_bias": {"abc": 1}}"#, "logit_bias"),
            ("/v1/completions", #"{"prompt": "a", "logit_bias": {"300": 1}}"#, "logit_bias"),
            ("/v1/completions", #"{"prompt": "a", "logit_bias": {"5": "x"}}"#, "logit_bias"),
            ("/v1/completions", #"{"prompt": "a", "stop_token_ids": [-1]}"#, "stop_token_ids"),
            ("/v1/completions", #"{"prompt": ""}"#, "prompt"),
            ("/v1/completions", #"{"prompt": []}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [[]]}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [999999]}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [-5]}"#, "prompt"),
            ("/v1/completions", #"{"prompt": [1, "a"]}"#, nil),
            ("/v1/completions", #"{"prompt": 5}"#, "prompt"),
            ("/v1/completions", #"{"prompt": "a", "stream_options": {"include_usage": true}}"#, "stream_options"),
            ("/v1/completions", #"{"prompt": "a", "prompt_logprobs": 1, "stream": true}"#, "prompt_logprobs"),
            ("/v1/completions", #"{"prompt": "a", "min_tokens": 20, "max_tokens": 5}"#, "min_tokens"),
            ("/v1/completions", #"{"prompt": "a", "suffix": "b"}"#, "suffix"),
            ("/v1/completions", #"{"prompt": "a", "best_of": 3}"#, "best_of"),
            ("/v1/completions", #"{"prompt": "a", "cache_salt": ""}"#, "cache_salt"),
            ("/v1/completions", #"{"prompt": "a", "stream": "yes"}"#, "stream"),
            ("/v1/chat/completions", #"{"messages": []}"#, "messages"),
            ("/v1/chat/completions", #"{"messages": "hi"}"#, "messages"),
            ("/v1/chat/completions", #"{"messages": [123]}"#, "messages[0]"),
            ("/v1/chat/completions", #"{"messages": [{}]}"#, "messages[0].role"),
            ("/v1/chat/completions", #"{"messages": [{"role": 123, "content": "x"}]}"#, "messages[0].role"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user"}]}"#, "messages[0].content"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": 123}]}"#, "messages[0].content"),
            ("/v1/chat/completions", #"{"messages": [{"role": "tool", "content": "x"}]}"#, "messages[0].tool_call_id"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "top_logprobs": 5}"#, "top_logprobs"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "logprobs": true, "top_logprobs": 21}"#, "top_logprobs"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}"#, "tool_choice"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "chat_template": "{{ 1 }}"}"#, "chat_template"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema"}}"#, "response_format"),
            ("/v1/chat/completions", #"{"messages": [{"role": "user", "content": "x"}], "continue_final_message": true, "add_generation_prompt": true}"#, "continue_final_message"),
            ("/v1/completions", #""string""#, nil),
            ("/v1/completions", #"[1, 2]"#, nil),
            ("/v1/completions", #"42"#, nil),
            ("/v1/completions", #"null"#, nil),
            ("/v1/completions", #"{"prompt": "a""#, nil),
            ("/v1/completions", #"{"prompt": NaN}"#, nil),
            ("/v1/completions", #"{"prompt": "a", "temperature": 1e309}"#, nil),
        ]
        try await withTestServer { client, engine in
            for (uri, body, param) in cases {
                let result = try await client.postJSON(uri, body)
                XCTAssertEqual(result.status, .badRequest, "\(body) -> \(result.text)")
                let error = result.json?["error"]
                XCTAssertNotNil(error?["message"]?.stringValue, body)
                XCTAssertEqual(error?["type"], "invalid_request_error", body)
                XCTAssertNotNil(error?["code"], body)
                if let param { XCTAssertEqual(error?["param"], .string(param), body) }
            }
            XCTAssertTrue(engine.started.isEmpty, "nothing invalid reaches the engine")
        }
    }

    func testDeeplyNestedJSONIsRejectedWithoutCrashing() async throws {
        let depth = 100_000
        let body = #"{"messages": [{"role": "user", "content": "# + String(repeating: "[", count: depth)
            + String(repeating: "]", count: depth) + "}]}"
        try await withTestServer { client, _ in
            let result = try await client.postJSON("/v1/chat/completions", body)
            XCTAssertEqual(result.status, .badRequest)
            XCTAssertTrue(result.json?.path("error", "message")?.stringValue?.contains("nesting") ?? false, result.text)
        }
    }

    func testContextLengthMessages() async throws {
        try await withTestServer(engine: FakeServingEngine(maxModelLen: 16)) { client, _ in
            let long = try await client.postJSON("/v1/completions",
                                                 #"{"prompt": "\#(String(repeating: "x", count: 20))"}"#)
            XCTAssertEqual(long.status, .badRequest)
            let message = try XCTUnwrap(long.json?.path("error", "message")?.stringValue)
            XCTAssertTrue(message.hasPrefix("This model's maximum context length is 16 tokens"), message)
            XCTAssertEqual(long.json?.path("error", "code"), "context_length_exceeded")

            let tooMany = try await client.postJSON("/v1/completions", #"{"prompt": "abc", "max_tokens": 14}"#)
            XCTAssertEqual(tooMany.status, .badRequest)
            let second = try XCTUnwrap(tooMany.json?.path("error", "message")?.stringValue)
            XCTAssertTrue(second.hasPrefix("This model's maximum context length is 16 tokens"), second)
            XCTAssertTrue(second.contains("14 output tokens") && second.contains("4 input tokens"), second)

            let streamed = try await client.postJSON("/v1/completions",
                                                     #"{"prompt": "abc", "max_tokens": 14, "stream": true}"#)
            XCTAssertEqual(streamed.status, .badRequest, "errors before streaming are plain JSON")

            let huge = try await client.postJSON("/v1/completions",
                                                 #"{"prompt": "\#(String(repeating: "y", count: 16 * 200))"}"#)
            XCTAssertEqual(huge.status, .badRequest)
            XCTAssertEqual(huge.json?.path("error", "code"), "context_length_exceeded")
        }
    }

    func testUnknownModelIs404() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON("/v1/completions", #"{"model": "nope", "prompt": "a"}"#)
            XCTAssertEqual(result.status, .notFound)
            XCTAssertEqual(result.json?.path("error", "param"), "model")
            XCTAssertEqual(result.json?.path("error", "code"), "model_not_found")
            XCTAssertEqual(result.json?.path("error", "type"), "not_found_error")
            let card = try await client.getText("/v1/models/nope")
            XCTAssertEqual(card.status, .notFound)
            let route = try await client.getText("/no/such/route")
            XCTAssertEqual(route.status, .notFound)
            XCTAssertNotNil(try JSONParser.parse(route.text)["error"])
        }
    }

    func testOversizedBodyIs413AndWrongContentTypeIs415() async throws {
        try await withTestServer(maxBodyBytes: 1000) { client, _ in
            let big = #"{"prompt": "\#(String(repeating: "z", count: 5000))"}"#
            let result = try await client.postJSON("/v1/completions", big)
            XCTAssertEqual(result.status, .contentTooLarge)
            XCTAssertEqual(result.json?.path("error", "type"), "invalid_request_error")
            let form = try await client.postJSON("/v1/completions", "prompt=a",
                                                 headers: [.contentType: "application/x-www-form-urlencoded"])
            XCTAssertEqual(form.status, .unsupportedMediaType)
            XCTAssertNotNil(form.json?["error"])
        }
    }

    func testOverloadedEngineGives503WithRetryAfter() async throws {
        let engine = FakeServingEngine()
        engine.overloaded = true
        try await withTestServer(engine: engine) { client, _ in
            for stream in [false, true] {
                let result = try await client.postJSON("/v1/completions", #"{"prompt": "a", "stream": \#(stream)}"#)
                XCTAssertEqual(result.status, .serviceUnavailable)
                XCTAssertEqual(result.headers[.retryAfter], "1")
                XCTAssertEqual(result.json?.path("error", "code"), "server_overloaded")
            }
        }
    }

    func testMidStreamFailureSendsErrorEventThenDone() async throws {
        let engine = FakeServingEngine()
        engine.failMidStream = true
        try await withTestServer(engine: engine) { client, _ in
            let result = try await client.postJSON("/v1/chat/completions",
                                                   #"{"messages": [{"role": "user", "content": "x"}], "stream": true}"#)
            XCTAssertEqual(result.status, .ok)
            let events = sseEvents(result.text)
            XCTAssertEqual(events.last, "[DONE]")
            let error = try JSONParser.parse(events[events.count - 2])
            XCTAssertEqual(error.path("error", "type"), "server_error")
            XCTAssertTrue(error.path("error", "message")?.stringValue?.contains("Injected") ?? false)
        }
    }

    func testDrainingServerRefusesNewRequests() async throws {
        let state = ServerState()
        state.beginDraining()
        try await withTestServer(state: state) { client, _ in
            let result = try await client.postJSON("/v1/completions", #"{"prompt": "a"}"#)
            XCTAssertEqual(result.status, .serviceUnavailable)
            let health = try await client.getText("/health")
            XCTAssertEqual(health.status, .serviceUnavailable)
        }
    }
}
