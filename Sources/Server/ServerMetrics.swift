import Foundation
import Prometheus

/// vLLM's Prometheus metrics (names, types, buckets and `model_name`/`engine` labels as vLLM v1 exposes them).
/// Per-request timings are recorded by the HTTP layer as it sees outputs; scheduler state is pulled from the
/// engine at scrape time.
public final class ServerMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let labels: [(String, String)]
    private let lock = NSLock()

    private let running: Gauge
    private let waiting: Gauge
    private let kvUsage: Gauge
    private let prefixQueries: Counter
    private let prefixHits: Counter
    private let preemptions: Counter
    private var lastStats = ServingStats()

    private let promptTokens: Counter
    private let generationTokens: Counter
    private var successByReason: [String: Counter] = [:]
    private let timeToFirstToken: ValueHistogram
    private let interTokenLatency: ValueHistogram
    private let e2eLatency: ValueHistogram
    private let requestPromptTokens: ValueHistogram
    private let requestGenerationTokens: ValueHistogram
    private let requestParamsN: ValueHistogram
    private let requestParamsMaxTokens: ValueHistogram

    static let ttftBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                              10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0]
    static let interTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                                    10.0, 20.0, 40.0, 80.0]
    static let requestLatencyBuckets = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                                        60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0]

    /// vLLM's 1-2-5 series up to `limit` (inclusive of the first value above it).
    static func oneTwoFiveBuckets(upTo limit: Int) -> [Double] {
        var buckets: [Double] = []
        var exponent = 1.0
        while true {
            for mantissa in [1.0, 2.0, 5.0] {
                let value = mantissa * exponent
                guard value <= Double(max(limit, 1)) else { return buckets }
                buckets.append(value)
            }
            exponent *= 10
        }
    }

    public init(modelName: String, maxModelLen: Int) {
        let labels = [("model_name", modelName), ("engine", "0")]
        let registry = PrometheusCollectorRegistry()
        self.labels = labels
        self.registry = registry
        func gauge(_ name: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func histogram(_ name: String, _ help: String, _ buckets: [Double]) -> ValueHistogram {
            registry.makeValueHistogram(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help),
                                        labels: labels, buckets: buckets)
        }
        running = gauge("vllm:num_requests_running", "Number of requests in model execution batches.")
        waiting = gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.")
        kvUsage = gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.")
        prefixQueries = counter("vllm:prefix_cache_queries_total",
                                "Prefix cache queries, in terms of number of queried tokens.")
        prefixHits = counter("vllm:prefix_cache_hits_total", "Prefix cache hits, in terms of number of cached tokens.")
        preemptions = counter("vllm:num_preemptions_total", "Cumulative number of preemption from the engine.")
        promptTokens = counter("vllm:prompt_tokens_total", "Number of prefill tokens processed.")
        generationTokens = counter("vllm:generation_tokens_total", "Number of generation tokens processed.")
        timeToFirstToken = histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                                     Self.ttftBuckets)
        interTokenLatency = histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
                                      Self.interTokenBuckets)
        e2eLatency = histogram("vllm:e2e_request_latency_seconds",
                               "Histogram of e2e request latency in seconds.", Self.requestLatencyBuckets)
        let tokenBuckets = Self.oneTwoFiveBuckets(upTo: maxModelLen)
        requestPromptTokens = histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.",
                                        tokenBuckets)
        requestGenerationTokens = histogram("vllm:request_generation_tokens",
                                            "Number of generation tokens processed.", tokenBuckets)
        requestParamsN = histogram("vllm:request_params_n", "Histogram of the n request parameter.",
                                   [1, 2, 5, 10, 20])
        requestParamsMaxTokens = histogram("vllm:request_params_max_tokens",
                                           "Histogram of the max_tokens request parameter.", tokenBuckets)
        for reason in ["stop", "length", "abort", "error"] { _ = successCounter(reason) }
    }

    private func successCounter(_ reason: String) -> Counter {
        if let existing = successByReason[reason] { return existing }
        let counter = registry.makeCounter(
            descriptor: MetricNameDescriptor(metricName: "vllm:request_success_total", unitName: "",
                                             helpText: "Count of successfully processed requests."),
            labels: labels + [("finished_reason", reason)])
        successByReason[reason] = counter
        return counter
    }

    /// Records one finished sequence (one choice of a request).
    public func recordFinished(reason: String, promptTokens prompt: Int, generationTokens generated: Int,
                               e2eSeconds: Double, timeToFirstToken ttft: Double?) {
        lock.lock()
        defer { lock.unlock() }
        let known = ["stop", "length", "abort", "error"].contains(reason) ? reason : "stop"
        successCounter(known).increment()
        promptTokens.increment(by: Int64(prompt))
        generationTokens.increment(by: Int64(generated))
        requestPromptTokens.record(Double(prompt))
        requestGenerationTokens.record(Double(generated))
        e2eLatency.record(e2eSeconds)
        if let ttft { timeToFirstToken.record(ttft) }
    }

    public func recordRequestParams(n: Int, maxTokens: Int) {
        requestParamsN.record(Double(n))
        requestParamsMaxTokens.record(Double(maxTokens))
    }

    public func recordInterTokenLatency(_ seconds: Double) { interTokenLatency.record(seconds) }

    /// Prometheus text exposition, refreshing gauges and counters from an engine snapshot.
    public func render(stats: ServingStats) -> String {
        lock.lock()
        running.set(Double(stats.numRunning))
        waiting.set(Double(stats.numWaiting))
        kvUsage.set(stats.kvCacheUsage)
        // Engine counters are cumulative; Prometheus counters only move forward, so add the difference.
        prefixQueries.increment(by: Int64(max(0, stats.prefixCacheQueries - lastStats.prefixCacheQueries)))
        prefixHits.increment(by: Int64(max(0, stats.prefixCacheHits - lastStats.prefixCacheHits)))
        preemptions.increment(by: Int64(max(0, stats.numPreemptions - lastStats.numPreemptions)))
        lastStats = stats
        lock.unlock()
        var text = registry.emitToString()
        for histogram in stats.engineHistograms { appendHistogram(histogram, to: &text) }
        return text
    }

    private func appendHistogram(_ histogram: HistogramSnapshot, to text: inout String) {
        let labelText = labels.map { "\($0.0)=\"\($0.1)\"" }.joined(separator: ",")
        text += "# HELP \(histogram.name) \(histogram.help)\n# TYPE \(histogram.name) histogram\n"
        for (bound, count) in zip(histogram.upperBounds, histogram.cumulativeCounts) {
            text += "\(histogram.name)_bucket{\(labelText),le=\"\(bound)\"} \(count)\n"
        }
        text += "\(histogram.name)_bucket{\(labelText),le=\"+Inf\"} \(histogram.count)\n"
        text += "\(histogram.name)_sum{\(labelText)} \(histogram.sum)\n"
        text += "\(histogram.name)_count{\(labelText)} \(histogram.count)\n"
    }
}
