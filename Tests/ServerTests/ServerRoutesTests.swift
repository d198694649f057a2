import Engine
import JSON
import Foundation
import HTTPTypes
import XCTest
@testable import Server

final class ServerRoutesTests: XCTestCase {
    func testHealthVersionAndModels() async throws {
        let engine = FakeServingEngine()
        try await withTestServer(engine: engine) { client, _ in
            let health = try await client.getText("/health")
            XCTAssertEqual(health.status, .ok)
            XCTAssertEqual(health.text, "")
            let version = try await client.getText("/version")
            XCTAssertEqual(try JSONParser.parse(version.text)["version"], "0.1.0")

            let models = try JSONParser.parse(try await client.getText("/v1/models").text)
            XCTAssertEqual(models["object"], "list")
            XCTAssertEqual(models.path("data", 0, "id"), "test-model")
            XCTAssertEqual(models.path("data", 1, "id"), "alias")
            XCTAssertEqual(models.path("data", 0, "object"), "model")
            XCTAssertEqual(models.path("data", 0, "owned_by"), "vllm")
            XCTAssertEqual(models.path("data", 0, "max_model_len"), 64)
            XCTAssertNotNil(models.path("data", 0, "created")?.intValue)
            let card = try await client.getText("/v1/models/alias")
            XCTAssertEqual(try JSONParser.parse(card.text)["id"], "alias")

            engine.healthy = false
            let dead = try await client.getText("/health")
            XCTAssertEqual(dead.status, .serviceUnavailable)
        }
    }

    func testTokenizeAndDetokenize() async throws {
        try await withTestServer { client, _ in
            let tokenized = try await client.postJSON("/tokenize", #"{"prompt": "hi", "return_token_strs": true}"#)
            XCTAssertEqual(tokenized.status, .ok, tokenized.text)
            XCTAssertEqual(tokenized.json?["tokens"], .array([256, 104, 105]))
            XCTAssertEqual(tokenized.json?["count"], 3)
            XCTAssertEqual(tokenized.json?["max_model_len"], 64)
            XCTAssertEqual(tokenized.json?["token_strs"], .array(["<s>", "h", "i"]))

            let plain = try await client.postJSON("/tokenize", #"{"content": "hi", "add_special": false}"#)
            XCTAssertEqual(plain.json?["tokens"], .array([104, 105]))

            let chat = try await client.postJSON("/tokenize", #"{"messages": [{"role": "user", "content": "x"}]}"#)
            XCTAssertEqual(chat.json?["count"]?.intValue, "user:x\nassistant:".utf8.count)

            let detok = try await client.postJSON("/detokenize", #"{"tokens": [104, 105]}"#)
            XCTAssertEqual(detok.json?["prompt"], "hi")
            let bad = try await client.postJSON("/detokenize", #"{"tokens": [100000]}"#)
            XCTAssertEqual(bad.status, .badRequest)
        }
    }

    func testAPIKeyGuardsV1AndLeavesUtilityRoutesOpen() async throws {
        try await withTestServer(apiKeys: ["k1", "k2"]) { client, _ in
            let missing = try await client.getText("/v1/models")
            XCTAssertEqual(missing.status, .unauthorized)
            let error = try JSONParser.parse(missing.text)
            XCTAssertEqual(error.path("error", "type"), "authentication_error")
            for header in ["Bearer wrong", "Basic k1", "Bearer K1", "Bearer k", "Bearer k11", "k1"] {
                let result = try await client.getText("/v1/models", headers: [.authorization: header])
                XCTAssertEqual(result.status, .unauthorized, header)
                XCTAssertFalse(result.text.contains("k1"), "401 does not echo keys")
            }
            for header in ["Bearer k1", "Bearer k2", "bearer k1"] {
                let result = try await client.getText("/v1/models", headers: [.authorization: header])
                XCTAssertEqual(result.status, .ok, header)
            }
            let post = try await client.postJSON("/v1/completions", #"{"prompt": "a"}"#)
            XCTAssertEqual(post.status, .unauthorized)
            for path in ["//v1/models", "/v1/./models", "/v1/../v1/models", "/%76%31/models", "/v1/models/", "/V1/models"] {
                let result = try await client.getText(path)
                XCTAssertNotEqual(result.status, .ok, path)
            }
            for path in ["/health", "/version", "/metrics"] {
                let result = try await client.getText(path)
                XCTAssertEqual(result.status, .ok, path)
            }
        }
    }

    /// /metrics renders the engine's EngineStats as they are (the HTTP layer measures nothing itself).
    func testMetricsRenderTheEngineStatsWithVLLMNamesAndLabels() async throws {
        let engine = FakeServingEngine()
        var stats = EngineStats(maxModelLen: 64)
        stats.numRunning = 3
        stats.numWaiting = 2
        stats.kvCacheUsage = 0.25
        stats.prefixCacheQueries = 100
        stats.prefixCacheHits = 40
        stats.numPreemptions = 1
        stats.promptTokens = 4
        stats.generationTokens = 5
        stats.requestSuccess = ["length": 1, "abort": 2]
        stats.numKVBlocks = 257
        stats.blockSize = 16
        stats.enablePrefixCaching = true
        stats.timeToFirstToken.observe(0.003)
        stats.timeToFirstToken.observe(0.3)
        stats.requestQueueTime.observe(0.4)
        stats.requestQueueTime.observe(0.9)
        stats.requestTimePerOutputToken.observe(0.02)
        stats.requestMaxNumGenerationTokens.observe(7)
        engine.currentStats = stats
        try await withTestServer(engine: engine) { client, _ in
            // Requests through the HTTP layer change nothing: only the engine's snapshot is rendered.
            _ = try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 3}"#)
            let metrics = try await client.getText("/metrics")
            XCTAssertEqual(metrics.status, .ok)
            let text = metrics.text
            let labels = #"model_name="test-model",engine="0""#
            for expected in [
                "vllm:num_requests_running{\(labels)} 3\n",
                "vllm:num_requests_waiting{\(labels)} 2\n",
                "vllm:kv_cache_usage_perc{\(labels)} 0.25\n",
                "vllm:prefix_cache_queries_total{\(labels)} 100\n",
                "vllm:prefix_cache_hits_total{\(labels)} 40\n",
                "vllm:num_preemptions_total{\(labels)} 1\n",
                "vllm:generation_tokens_total{\(labels)} 5\n",
                "vllm:prompt_tokens_total{\(labels)} 4\n",
                "vllm:request_success_total{\(labels),finished_reason=\"length\"} 1\n",
                "vllm:request_success_total{\(labels),finished_reason=\"abort\"} 2\n",
                "vllm:request_success_total{\(labels),finished_reason=\"stop\"} 0\n",
                #"vllm:cache_config_info{model_name="test-model",engine="0",block_size="16",enable_prefix_caching="True",num_gpu_blocks="257"} 1"#,
                "# TYPE vllm:time_to_first_token_seconds histogram",
                "vllm:time_to_first_token_seconds_bucket{\(labels),le=\"0.005\"} 1\n",
                "vllm:time_to_first_token_seconds_bucket{\(labels),le=\"+Inf\"} 2\n",
                "vllm:time_to_first_token_seconds_count{\(labels)} 2\n",
                "vllm:e2e_request_latency_seconds_count{\(labels)} 0\n",
                "vllm:inter_token_latency_seconds_count{\(labels)} 0\n",
                "vllm:request_queue_time_seconds_bucket{\(labels),le=\"0.5\"} 1\n",
                "vllm:request_queue_time_seconds_sum{\(labels)} 1.3\n",
                "vllm:request_time_per_output_token_seconds_count{\(labels)} 1\n",
                "vllm:request_max_num_generation_tokens_bucket{\(labels),le=\"10.0\"} 1\n",
                "# TYPE vllm:request_prefill_time_seconds histogram",
                "# TYPE vllm:request_decode_time_seconds histogram",
                "# TYPE vllm:request_inference_time_seconds histogram",
                "# TYPE vllm:request_params_n histogram",
                "# TYPE vllm:iteration_tokens_total histogram",
                "# TYPE vllm:prompt_tokens_total counter",
                "# TYPE vllm:num_requests_running gauge",
            ] {
                XCTAssertTrue(text.contains(expected), "missing: \(expected)\n\(text)")
            }
            // Histograms use the engine's bucket table (vLLM's), not a second copy.
            let ttftBuckets = text.split(separator: "\n").filter { $0.hasPrefix("vllm:time_to_first_token_seconds_bucket") }
            XCTAssertEqual(ttftBuckets.count, EngineHistogram.timeToFirstTokenBounds.count + 1)

            engine.currentStats.prefixCacheQueries = 150
            engine.currentStats.generationTokens = 3 // a smaller snapshot must not move a counter backwards
            let again = try await client.getText("/metrics").text
            XCTAssertTrue(again.contains("vllm:prefix_cache_queries_total{\(labels)} 150\n"), again)
            XCTAssertTrue(again.contains("vllm:generation_tokens_total{\(labels)} 5\n"), again)
        }
    }
}
