import JSON
import Engine
import Foundation
import XCTest
@testable import Server

final class ServerCompletionsTests: XCTestCase {
    func testNonStreamingCompletionShapeAndUsage() async throws {
        try await withTestServer { client, engine in
            let result = try await client.postJSON("/v1/completions",
                                                   #"{"model": "test-model", "prompt": "hi", "max_tokens": 5}"#)
            XCTAssertEqual(result.status, .ok)
            let json = try XCTUnwrap(result.json)
            XCTAssertEqual(json["object"], "text_completion")
            XCTAssertTrue(json["id"]?.stringValue?.hasPrefix("cmpl-") ?? false)
            XCTAssertEqual(json["model"], "test-model")
            XCTAssertEqual(json.path("choices", 0, "text"), "abcde")
            XCTAssertEqual(json.path("choices", 0, "finish_reason"), "length")
            XCTAssertEqual(json.path("choices", 0, "index"), 0)
            XCTAssertEqual(json.path("choices", 0, "logprobs"), .null)
            // BOS + 2 bytes.
            XCTAssertEqual(json.path("usage", "prompt_tokens"), 3)
            XCTAssertEqual(json.path("usage", "completion_tokens"), 5)
            XCTAssertEqual(json.path("usage", "total_tokens"), 8)
            XCTAssertEqual(engine.started.first?.prompt, [FakeServingEngine.bos, 104, 105])
            XCTAssertEqual(result.headers[requestIdHeader], json["id"]?.stringValue)
        }
    }

    func testDefaultMaxTokensIsSixteenAndModelMayBeOmitted() async throws {
        try await withTestServer { client, engine in
            let result = try await client.postJSON("/v1/completions", #"{"prompt": "x"}"#)
            XCTAssertEqual(result.status, .ok)
            XCTAssertEqual(result.json?.path("usage", "completion_tokens"), 16)
            XCTAssertEqual(result.json?["model"], "test-model")
            XCTAssertEqual(engine.started.first?.params.maxTokens, 16)
        }
    }

    func testPromptListsAndNGroupChoicesByPrompt() async throws {
        try await withTestServer { client, engine in
            let result = try await client.postJSON("/v1/completions",
                                                   #"{"prompt": ["ab", "cde"], "n": 2, "max_tokens": 2, "temperature": 0.5}"#)
            XCTAssertEqual(result.status, .ok)
            let choices = try XCTUnwrap(result.json?["choices"]?.arrayValue)
            XCTAssertEqual(choices.map { $0["index"]?.intValue }, [0, 1, 2, 3])
            XCTAssertEqual(choices.map { $0["text"]?.stringValue }, ["ab", "bc", "ab", "bc"])
            XCTAssertEqual(result.json?.path("usage", "prompt_tokens")?.intValue, 3 + 4)
            XCTAssertEqual(result.json?.path("usage", "completion_tokens"), 8)
            XCTAssertEqual(engine.started.count, 2)
            XCTAssertEqual(engine.started.first?.params.n, 2)
            XCTAssertEqual(engine.started.first?.params.temperature, 0.5)

            let ids = try await client.postJSON("/v1/completions", #"{"prompt": [[1, 2], [3]], "max_tokens": 1}"#)
            XCTAssertEqual(ids.status, .ok)
            XCTAssertEqual(ids.json?["choices"]?.arrayValue?.count, 2)
            XCTAssertEqual(engine.started.suffix(2).map(\.prompt), [[1, 2], [3]])

            let flat = try await client.postJSON("/v1/completions", #"{"prompt": [7, 8, 9], "max_tokens": 1}"#)
            XCTAssertEqual(flat.status, .ok)
            XCTAssertEqual(engine.started.last?.prompt, [7, 8, 9])
        }
    }

    func testSamplingExtrasReachTheEngine() async throws {
        try await withTestServer { client, engine in
            let body = #"""
            {"prompt": "a", "max_tokens": 4, "top_k": 5, "min_p": 0.1, "repetition_penalty": 1.2, "min_tokens": 2,
             "ignore_eos": true, "stop_token_ids": [42], "skip_special_tokens": false, "seed": 7,
             "include_stop_str_in_output": true, "logit_bias": {"65": 150, "66": -5}, "priority": -3,
             "presence_penalty": 0.5, "frequency_penalty": -0.5, "top_p": 0.9, "unknown_field": 1}
            """#
            let result = try await client.postJSON("/v1/completions", body)
            XCTAssertEqual(result.status, .ok, result.text)
            let started = try XCTUnwrap(engine.started.first)
            XCTAssertEqual(started.params.topK, 5)
            XCTAssertEqual(started.params.minP, 0.1)
            XCTAssertEqual(started.params.repetitionPenalty, 1.2)
            XCTAssertEqual(started.params.minTokens, 2)
            XCTAssertTrue(started.params.ignoreEOS)
            XCTAssertEqual(started.params.stopTokenIds, [42])
            XCTAssertFalse(started.params.skipSpecialTokens)
            XCTAssertEqual(started.params.seed, 7)
            XCTAssertTrue(started.params.includeStopStrInOutput)
            XCTAssertEqual(started.params.logitBias, [65: 100, 66: -5])
            XCTAssertEqual(started.priority, -3)
            XCTAssertEqual(started.params.topP, 0.9)
            XCTAssertEqual(started.params.presencePenalty, 0.5)
        }
    }

    func testAllowedTokenIdsAndBadWordsReachTheEngine() async throws {
        try await withTestServer { client, engine in
            let body = #"{"prompt": "a", "max_tokens": 2, "allowed_token_ids": [97, 98], "bad_words": ["  bc", "d"]}"#
            let result = try await client.postJSON("/v1/completions", body)
            XCTAssertEqual(result.status, .ok, result.text)
            let started = try XCTUnwrap(engine.started.first)
            XCTAssertEqual(started.params.allowedTokenIds, [97, 98])
            // Leading spaces dropped; the fake's " bc" is one token longer, so no spaced variant is added.
            XCTAssertEqual(started.params.badWordsTokenIds, [[98, 99], [100]])
            let empty = try await client.postJSON("/v1/completions", #"{"prompt": "a", "allowed_token_ids": []}"#)
            XCTAssertEqual(empty.status, .badRequest)
            XCTAssertEqual(empty.json?.path("error", "param"), "allowed_token_ids")
        }
    }

    func testStopStringEndsWithStopReason() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 10, "stop": "d"}"#)
            XCTAssertEqual(result.json?.path("choices", 0, "text"), "abc")
            XCTAssertEqual(result.json?.path("choices", 0, "finish_reason"), "stop")
            XCTAssertEqual(result.json?.path("choices", 0, "stop_reason"), "d")
        }
    }

    func testLogprobsWithEchoHaveNullFirstEntryAndOffsets() async throws {
        try await withTestServer { client, engine in
            let result = try await client.postJSON(
                "/v1/completions", #"{"prompt": [104, 105], "max_tokens": 2, "logprobs": 2, "echo": true}"#)
            XCTAssertEqual(result.status, .ok, result.text)
            let choice = try XCTUnwrap(result.json?.path("choices", 0))
            XCTAssertEqual(choice["text"], "hiab")
            let logprobs = try XCTUnwrap(choice["logprobs"])
            XCTAssertEqual(logprobs["tokens"], .array(["h", "i", "a", "b"]))
            XCTAssertEqual(logprobs.path("token_logprobs", 0), .null)
            XCTAssertEqual(logprobs.path("top_logprobs", 0), .null)
            XCTAssertEqual(logprobs.path("token_logprobs", 2)?.doubleValue, -0.5)
            XCTAssertEqual(logprobs["text_offset"], .array([0, 1, 2, 3]))
            // logprobs=2: the top two (the sampled token is one of them here).
            XCTAssertEqual(logprobs.path("top_logprobs", 2), .object([("a", -0.5), ("b", -1.5)]))
            XCTAssertEqual(engine.started.first?.params.promptLogprobs, 2)
        }
    }

    func testStreamingFormatUsageAndDone() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON(
                "/v1/completions",
                #"{"prompt": "a", "max_tokens": 3, "stream": true, "n": 2, "stream_options": {"include_usage": true}}"#)
            XCTAssertEqual(result.status, .ok)
            XCTAssertEqual(result.headers[.contentType], "text/event-stream")
            let events = sseEvents(result.text)
            XCTAssertEqual(events.last, "[DONE]")
            let chunks = try events.dropLast().map { try JSONParser.parse($0) }
            let usageChunk = try XCTUnwrap(chunks.last)
            XCTAssertEqual(usageChunk["choices"], .array([]))
            XCTAssertEqual(usageChunk.path("usage", "completion_tokens"), 6)
            XCTAssertEqual(usageChunk.path("usage", "prompt_tokens"), 2)
            let ids = Set(chunks.compactMap { $0["id"]?.stringValue })
            XCTAssertEqual(ids.count, 1, "one id for the whole stream")
            var texts = ["", ""]
            var finishes = [0, 0]
            for chunk in chunks.dropLast() {
                XCTAssertEqual(chunk["usage"], .null, "usage is null on content chunks")
                XCTAssertEqual(chunk["choices"]?.arrayValue?.count, 1)
                let index = try XCTUnwrap(chunk.path("choices", 0, "index")?.intValue)
                texts[index] += chunk.path("choices", 0, "text")?.stringValue ?? ""
                if chunk.path("choices", 0, "finish_reason") != .null { finishes[index] += 1 }
            }
            XCTAssertEqual(texts, ["abc", "bcd"])
            XCTAssertEqual(finishes, [1, 1])
        }
    }

    func testStreamingWithoutUsageOptionHasNoUsageField() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 2, "stream": true}"#)
            let chunks = try sseEvents(result.text).dropLast().map { try JSONParser.parse($0) }
            XCTAssertEqual(chunks.count, 2)
            XCTAssertTrue(chunks.allSatisfy { $0["usage"] == nil })
        }
    }

    func testStreamingLogprobOffsetsContinueAcrossChunks() async throws {
        try await withTestServer { client, _ in
            let result = try await client.postJSON(
                "/v1/completions", #"{"prompt": "a", "max_tokens": 3, "stream": true, "logprobs": 0}"#)
            let chunks = try sseEvents(result.text).dropLast().map { try JSONParser.parse($0) }
            let offsets = chunks.flatMap { $0.path("choices", 0, "logprobs", "text_offset")?.arrayValue ?? [] }
            XCTAssertEqual(offsets, [0, 1, 2])
        }
    }
}
