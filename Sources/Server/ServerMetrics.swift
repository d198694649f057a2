import Engine
import Foundation

/// vLLM's Prometheus metrics (names, types, buckets and `model_name`/`engine` labels as vLLM v1 exposes them),
/// rendered from the engine's `EngineStats`. Every number is measured once, in the engine; this type only
/// renders it, and keeps counters monotone across scrapes.
public final class ServerMetrics: @unchecked Sendable {
    private let labels: String
    private let lock = NSLock()
    /// Highest value rendered per counter (and finish reason), so a counter never goes backwards.
    private var counterHighWater: [String: Int] = [:]

    /// Finish reasons vLLM always exposes (at 0 until one occurs).
    static let finishReasons = ["stop", "length", "abort", "error"]

    public init(modelName: String) {
        labels = #"model_name="\#(Self.escape(modelName))",engine="0""#
    }

    /// Prometheus text exposition of one engine snapshot.
    public func render(stats: EngineStats) -> String {
        lock.lock()
        defer { lock.unlock() }
        var text = ""
        gauge(&text, "vllm:num_requests_running", "Number of requests in model execution batches.",
              Double(stats.numRunning))
        gauge(&text, "vllm:num_requests_waiting", "Number of requests waiting to be processed.",
              Double(stats.numWaiting))
        gauge(&text, "vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", stats.kvCacheUsage)
        info(&text, "vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
             [("block_size", "\(stats.blockSize)"), ("enable_prefix_caching", stats.enablePrefixCaching ? "True" : "False"),
              ("num_gpu_blocks", "\(stats.numKVBlocks)")])

        counter(&text, "vllm:prefix_cache_queries_total",
                "Prefix cache queries, in terms of number of queried tokens.", stats.prefixCacheQueries)
        counter(&text, "vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.",
                stats.prefixCacheHits)
        counter(&text, "vllm:num_preemptions_total", "Cumulative number of preemption from the engine.",
                stats.numPreemptions)
        counter(&text, "vllm:prompt_tokens_total", "Number of prefill tokens processed.", stats.promptTokens)
        counter(&text, "vllm:generation_tokens_total", "Number of generation tokens processed.",
                stats.generationTokens)
        let success = "vllm:request_success_total"
        text += "# HELP \(success) Count of successfully processed requests.\n# TYPE \(success) counter\n"
        let reasons = Self.finishReasons + stats.requestSuccess.keys.filter { !Self.finishReasons.contains($0) }.sorted()
        for reason in reasons {
            let value = monotone("\(success)/\(reason)", stats.requestSuccess[reason] ?? 0)
            text += "\(success){\(labels),finished_reason=\"\(Self.escape(reason))\"} \(value)\n"
        }

        if !stats.specDecodeAcceptedPerPosition.isEmpty { renderSpeculation(&text, stats) }

        for (name, help, histogram) in Self.histograms(stats) {
            render(&text, name, help, histogram)
        }
        return text
    }

    /// Every engine histogram, under vLLM's name and help text.
    static func histograms(_ stats: EngineStats) -> [(String, String, EngineHistogram)] {
        [
            ("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
             stats.timeToFirstToken),
            ("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
             stats.interTokenLatency),
            ("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.",
             stats.requestTimePerOutputToken),
            ("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
             stats.e2eRequestLatency),
            ("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
             stats.requestQueueTime),
            ("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
             stats.requestInferenceTime),
            ("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
             stats.requestPrefillTime),
            ("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
             stats.requestDecodeTime),
            ("vllm:request_prompt_tokens", "Number of prefill tokens processed.", stats.requestPromptTokens),
            ("vllm:request_generation_tokens", "Number of generation tokens processed.",
             stats.requestGenerationTokens),
            ("vllm:request_max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.",
             stats.requestMaxNumGenerationTokens),
            ("vllm:request_params_n", "Histogram of the n request parameter.", stats.requestParamsN),
            ("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.",
             stats.requestParamsMaxTokens),
            ("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.", stats.iterationTokens),
        ]
    }

    private func gauge(_ text: inout String, _ name: String, _ help: String, _ value: Double) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name){\(labels)} \(Self.number(value))\n"
    }

    private func info(_ text: inout String, _ name: String, _ help: String, _ extra: [(String, String)]) {
        let extraLabels = extra.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n\(name){\(labels),\(extraLabels)} 1\n"
    }

    private func counter(_ text: inout String, _ name: String, _ help: String, _ value: Int) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) counter\n\(name){\(labels)} \(monotone(name, value))\n"
    }

    /// vLLM's speculative-decoding counters, present only when speculation is configured (as in vLLM).
    private func renderSpeculation(_ text: inout String, _ stats: EngineStats) {
        counter(&text, "vllm:spec_decode_num_drafts_total", "Number of spec decoding drafts.", stats.specDecodeNumDrafts)
        counter(&text, "vllm:spec_decode_num_draft_tokens_total", "Number of draft tokens.",
                stats.specDecodeNumDraftTokens)
        counter(&text, "vllm:spec_decode_num_accepted_tokens_total", "Number of accepted tokens.",
                stats.specDecodeNumAcceptedTokens)
        let perPosition = "vllm:spec_decode_num_accepted_tokens_per_pos_total"
        text += "# HELP \(perPosition) Accepted tokens per draft position.\n# TYPE \(perPosition) counter\n"
        for (position, count) in stats.specDecodeAcceptedPerPosition.enumerated() {
            text += "\(perPosition){\(labels),position=\"\(position)\"} \(monotone("\(perPosition)/\(position)", count))\n"
        }
    }

    private func render(_ text: inout String, _ name: String, _ help: String, _ histogram: EngineHistogram) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for (bound, count) in zip(histogram.upperBounds, histogram.cumulativeCounts) {
            text += "\(name)_bucket{\(labels),le=\"\(bound)\"} \(count)\n"
        }
        text += "\(name)_bucket{\(labels),le=\"+Inf\"} \(histogram.count)\n"
        text += "\(name)_sum{\(labels)} \(Self.number(histogram.sum))\n"
        text += "\(name)_count{\(labels)} \(histogram.count)\n"
    }

    /// The engine's counters are cumulative already; this only guards against a smaller snapshot.
    private func monotone(_ key: String, _ value: Int) -> Int {
        let result = max(counterHighWater[key] ?? 0, value)
        counterHighWater[key] = result
        return result
    }

    /// Integers without a fraction ("3", not "3.0"); other values as Swift prints them.
    static func number(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
