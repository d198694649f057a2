import JSON
import Foundation
import XCTest
@testable import Server

final class ServerChatTests: XCTestCase {
    func testNonStreamingChatRendersTemplateAndAnswers() async throws {
        try await withTestServer { client, engine in
            let body = #"""
            {"model": "alias", "messages": [{"role": "system", "content": "be brief"},
              {"content": [{"type": "text", "text": "hello"}, {"type": "text", "text": "there"}], "role": "user", "name": "x"}],
             "max_completion_tokens": 3, "chat_template_kwargs": {"enable_thinking": false, "tokenize": true}}
            """#
            let result = try await client.postJSON("/v1/chat/completions", body)
            XCTAssertEqual(result.status, .ok, result.text)
            let json = try XCTUnwrap(result.json)
            XCTAssertEqual(json["object"], "chat.completion")
            XCTAssertEqual(json["model"], "alias")
            XCTAssertTrue(json["id"]?.stringValue?.hasPrefix("chatcmpl-") ?? false)
            XCTAssertEqual(json.path("choices", 0, "message", "role"), "assistant")
            XCTAssertEqual(json.path("choices", 0, "message", "content"), "abc")
            XCTAssertEqual(json.path("choices", 0, "finish_reason"), "length")
            let rendered = "system:be brief\nuser:hello\nthere\nassistant:"
            XCTAssertEqual(json.path("usage", "prompt_tokens")?.intValue, rendered.utf8.count)
            XCTAssertEqual(json.path("usage", "completion_tokens"), 3)

            let render = try XCTUnwrap(engine.renders.first)
            // Key order of the client's message is kept; text parts are joined for string templates.
            guard case .object(let members) = render.messages[1] else { return XCTFail("message is an object") }
            XCTAssertEqual(members.map(\.0), ["content", "role", "name"])
            XCTAssertEqual(render.messages[1]["content"], "hello\nthere")
            XCTAssertTrue(render.addGenerationPrompt)
            XCTAssertEqual(render.templateKwargs.map(\.0), ["enable_thinking"], "reserved kwargs are dropped")
            // Chat templates add BOS themselves: no special tokens added.
            XCTAssertEqual(engine.started.first?.prompt.first, Int(UInt8(ascii: "s")))
        }
    }

    func testChatMaxTokensDefaultsToRemainingContext() async throws {
        try await withTestServer(engine: FakeServingEngine(maxModelLen: 40)) { client, engine in
            let result = try await client.postJSON("/v1/chat/completions",
                                                   #"{"messages": [{"role": "user", "content": "hi"}]}"#)
            XCTAssertEqual(result.status, .ok, result.text)
            let promptLength = "user:hi\nassistant:".utf8.count
            XCTAssertEqual(engine.started.first?.params.maxTokens, 40 - promptLength)
        }
    }

    func testChatLogprobsShape() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON(
                "/v1/chat/completions",
                #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "logprobs": true, "top_logprobs": 2}"#)
            let content = try XCTUnwrap(result.json?.path("choices", 0, "logprobs", "content")?.arrayValue)
            XCTAssertEqual(content.count, 2)
            XCTAssertEqual(content[0]["token"], "a")
            XCTAssertEqual(content[0]["logprob"]?.doubleValue, -0.5)
            XCTAssertEqual(content[0]["bytes"], .array([97]))
            XCTAssertEqual(content[0]["top_logprobs"]?.arrayValue?.count, 2)
            XCTAssertEqual(content[0].path("top_logprobs", 1, "token"), "b")
        }
    }

    func testChatStreamingRoleChunkOneFinishPerChoiceAndUsage() async throws {
        try await withTestServer { client, _ in
            let body = #"""
            {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3, "n": 2, "stream": true,
             "stream_options": {"include_usage": true}}
            """#
            let result = try await client.postJSON("/v1/chat/completions", body)
            XCTAssertEqual(result.status, .ok)
            let events = sseEvents(result.text)
            XCTAssertEqual(events.last, "[DONE]")
            let chunks = try events.dropLast().map { try JSONParser.parse($0) }
            XCTAssertTrue(chunks.allSatisfy { $0["object"] == "chat.completion.chunk" })
            XCTAssertEqual(Set(chunks.compactMap { $0["created"]?.intValue }).count, 1)
            var texts = ["", ""]
            var finishes = [0, 0]
            var roles = [0, 0]
            for chunk in chunks.dropLast() {
                let index = try XCTUnwrap(chunk.path("choices", 0, "index")?.intValue)
                if chunk.path("choices", 0, "delta", "role") != nil {
                    roles[index] += 1
                    XCTAssertEqual(chunk.path("choices", 0, "delta", "content"), "")
                    XCTAssertEqual(texts[index], "", "role chunk comes first")
                }
                texts[index] += chunk.path("choices", 0, "delta", "content")?.stringValue ?? ""
                if chunk.path("choices", 0, "finish_reason") != .null { finishes[index] += 1 }
            }
            XCTAssertEqual(roles, [1, 1])
            XCTAssertEqual(texts, ["abc", "bcd"])
            XCTAssertEqual(finishes, [1, 1])
            XCTAssertEqual(chunks.last?["choices"], .array([]))
            XCTAssertEqual(chunks.last?.path("usage", "completion_tokens"), 6)
        }
    }

    func testEchoPrependsFinalAssistantMessage() async throws {
        try await withTestServer { client, engine in
            let body = #"""
            {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Sure: "}],
             "max_tokens": 2, "echo": true, "continue_final_message": true, "add_generation_prompt": false}
            """#
            let result = try await client.postJSON("/v1/chat/completions", body)
            XCTAssertEqual(result.status, .ok, result.text)
            XCTAssertEqual(result.json?.path("choices", 0, "message", "content"), "Sure: ab")
            XCTAssertEqual(engine.renders.first?.continueFinalMessage, true)
            XCTAssertEqual(engine.renders.first?.addGenerationPrompt, false)
        }
    }
}
