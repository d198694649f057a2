import ChatTemplate
import Engine
import JSON
import Foundation
import HTTPTypes
import XCTest
@testable import Server

/// The server's side of the engine contract: vLLM's validation rules (checked once, by the engine), the one
/// EngineError -> HTTP mapping, cache_salt reaching the engine, and chat messages normalized as vLLM does.
final class ServerEngineContractTests: XCTestCase {
    func testTemperatureAboveTwoIsAllowedAndNegativeIsRefusedByTheEngine() async throws {
        try await withTestServer { client, engine in
            let hot = try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 2, "temperature": 3.5}"#)
            XCTAssertEqual(hot.status, .ok, hot.text)
            XCTAssertEqual(engine.started.last?.params.temperature, 3.5)
            let negative = try await client.postJSON("/v1/completions", #"{"prompt": "a", "temperature": -1}"#)
            XCTAssertEqual(negative.status, .badRequest)
            // The engine's (vLLM's) wording: the rule lives in SamplingParams.validate only.
            XCTAssertEqual(negative.json?.path("error", "message"), "temperature must be non-negative, got -1.0.")
            XCTAssertEqual(negative.json?.path("error", "param"), "temperature")
        }
    }

    func testEmptyToolsListIsAllowed() async throws {
        try await withTestServer { client, engine in
            let result = try await client.postJSON("/v1/chat/completions",
                                                   #"{"messages": [{"role": "user", "content": "x"}], "tools": [], "max_tokens": 2}"#)
            XCTAssertEqual(result.status, .ok, result.text)
            XCTAssertEqual(engine.renders.last?.tools?.count, 0)
        }
    }

    func testCacheSaltReachesTheEngine() async throws {
        try await withTestServer { client, engine in
            let completion = try await client.postJSON("/v1/completions",
                                                       #"{"prompt": "a", "max_tokens": 2, "cache_salt": "tenant-1"}"#)
            XCTAssertEqual(completion.status, .ok, completion.text)
            XCTAssertEqual(engine.started.last?.cacheSalt, "tenant-1")
            let chat = try await client.postJSON("/v1/chat/completions",
                                                 #"{"messages": [{"role": "user", "content": "x"}], "max_tokens": 2, "stream": true, "cache_salt": "tenant-2"}"#)
            XCTAssertEqual(chat.status, .ok, chat.text)
            XCTAssertEqual(engine.started.last?.cacheSalt, "tenant-2")
            _ = try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 2}"#)
            XCTAssertNil(engine.started.last?.cacheSalt ?? nil)
            let wrongType = try await client.postJSON("/v1/completions", #"{"prompt": "a", "cache_salt": 5}"#)
            XCTAssertEqual(wrongType.status, .badRequest)
            XCTAssertEqual(wrongType.json?.path("error", "param"), "cache_salt")
        }
    }

    /// Every EngineError kind maps to one status, type and code.
    func testEngineErrorKindsMapToHTTPOnce() {
        let cases: [(EngineError.Kind, Int, String, String?)] = [
            (.invalidRequest, 400, "invalid_request_error", nil),
            (.contextLengthExceeded, 400, "invalid_request_error", "context_length_exceeded"),
            (.overloaded, 503, "server_error", "server_overloaded"),
            (.shuttingDown, 503, "server_error", "server_overloaded"),
            (.loadFailed, 500, "server_error", "internal_error"),
            (.invalidConfig, 500, "server_error", "internal_error"),
            (.modelFailure, 500, "server_error", "internal_error"),
        ]
        for (kind, status, type, code) in cases {
            let error = APIError(any: EngineError(kind, "boom", param: "p"))
            XCTAssertEqual(error.status.code, status, "\(kind)")
            XCTAssertEqual(error.type, type, "\(kind)")
            XCTAssertEqual(error.code, code, "\(kind)")
            XCTAssertEqual(error.message, "boom", "\(kind)")
        }
        XCTAssertEqual(APIError(EngineError(.invalidRequest, "m", param: "top_p")).param, "top_p")
        XCTAssertEqual(APIError(EngineError(.contextLengthExceeded, "m")).param, "input_tokens")
        XCTAssertEqual(APIError(EngineError(.overloaded, "m")).retryAfter, 1)
    }

    /// What the openai SDK and LangChain send back in every tool loop.
    static let toolLoop = #"""
        [{"role": "user", "content": "Weather in Paris?"},
         {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
           "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
         {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]
        """#

    func testNullAssistantContentWithToolCallsBecomesEmptyString() throws {
        let messages = try normalizeChatMessages(JSONParser.parse(Self.toolLoop))
        XCTAssertEqual(messages[1]["content"], .string(""))
        XCTAssertNotNil(messages[1]["tool_calls"], "tool_calls are kept")
        let absent = try normalizeChatMessages(JSONParser.parse(
            #"[{"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]"#))
        XCTAssertEqual(absent[0]["content"], .string(""))
        XCTAssertThrowsError(try normalizeChatMessages(JSONParser.parse(#"[{"role": "user", "content": null}]"#)))
    }

    /// Real templates render the tool loop once null content is normalized; at least one of them fails on
    /// the raw null (so this test would catch the normalization going away).
    func testToolLoopRendersWithRealTemplates() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../shared/assets/llama.cpp/models/templates").standardized
        guard FileManager.default.fileExists(atPath: folder.path) else {
            throw XCTSkip("../shared/assets is absent; the real-template check needs it")
        }
        // Templates that render this tool loop at all (Hermes needs `tools`, Mistral 9-character call ids).
        let names = ["Qwen-Qwen2.5-7B-Instruct", "meta-llama-Llama-3.1-8B-Instruct",
                     "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B", "Qwen-QwQ-32B"]
        let raw = try JSONParser.parse(Self.toolLoop)
        guard case .array(let rawMessages) = raw else { return XCTFail("fixture") }
        let normalized = try normalizeChatMessages(raw)
        var rawFailures: [String] = []
        for name in names {
            let source = try String(contentsOf: folder.appendingPathComponent("\(name).jinja"), encoding: .utf8)
            let template = try ChatTemplate(source: source)
            func render(_ messages: [JSONValue]) throws -> String {
                try template.renderChat(messages: .array(messages.map(TemplateValue.init)), addGenerationPrompt: true,
                                        bosToken: "<s>", eosToken: "</s>")
            }
            XCTAssertNoThrow(try render(normalized), name)
            XCTAssertTrue((try? render(normalized))?.contains("18C") ?? false, name)
            if (try? render(rawMessages)) == nil { rawFailures.append(name) }
        }
        XCTAssertFalse(rawFailures.isEmpty, "no template failed on null content; the fixture no longer shows the bug")
    }
}

/// vLLM's spec-decode counters appear once speculation is configured, and only then.
final class ServerSpeculationMetricsTests: XCTestCase {
    func testSpecDecodeCountersRenderWithPositions() {
        let metrics = ServerMetrics(modelName: "m")
        var stats = EngineStats(maxModelLen: 64)
        XCTAssertFalse(metrics.render(stats: stats).contains("spec_decode"), "absent without speculation")
        stats.specDecodeNumDrafts = 7
        stats.specDecodeNumDraftTokens = 28
        stats.specDecodeNumAcceptedTokens = 9
        stats.specDecodeAcceptedPerPosition = [6, 2, 1, 0]
        let text = metrics.render(stats: stats)
        for line in [#"vllm:spec_decode_num_drafts_total{model_name="m",engine="0"} 7"#,
                     #"vllm:spec_decode_num_draft_tokens_total{model_name="m",engine="0"} 28"#,
                     #"vllm:spec_decode_num_accepted_tokens_total{model_name="m",engine="0"} 9"#,
                     #"vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",engine="0",position="0"} 6"#,
                     #"vllm:spec_decode_num_accepted_tokens_per_pos_total{model_name="m",engine="0",position="3"} 0"#] {
            XCTAssertTrue(text.contains(line + "\n"), line)
        }
    }
}
