/// A fixed-bucket histogram in Prometheus form (vLLM's bucket bounds).
public struct EngineHistogram: Sendable, Equatable {
    /// Upper bounds of the finite buckets, ascending; an implicit +Inf bucket follows.
    public let upperBounds: [Double]
    /// Observations per bucket (not cumulative); `upperBounds.count + 1` entries, the last for +Inf.
    public private(set) var bucketCounts: [Int]
    public private(set) var sum: Double = 0
    public private(set) var count = 0

    public init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        self.bucketCounts = Array(repeating: 0, count: upperBounds.count + 1)
    }

    public mutating func observe(_ value: Double) {
        var bucket = upperBounds.count
        for (index, bound) in upperBounds.enumerated() where value <= bound {
            bucket = index
            break
        }
        bucketCounts[bucket] += 1
        sum += value
        count += 1
    }

    /// Prometheus `le` counts: observations <= each bound, then the total for +Inf.
    public var cumulativeCounts: [Int] {
        var running = 0
        return bucketCounts.map { running += $0; return running }
    }

    // vLLM's buckets (vllm/v1/metrics/loggers.py).
    public static let timeToFirstTokenBounds: [Double] = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
        20.0, 40.0, 80.0, 160.0, 640.0, 2560.0,
    ]
    public static let interTokenLatencyBounds: [Double] = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
        40.0, 80.0,
    ]
    public static let requestLatencyBounds: [Double] = [
        0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0,
        480.0, 960.0, 1920.0, 7680.0,
    ]
    public static let iterationTokensBounds: [Double] = [
        1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384,
    ]
    public static let requestParamsNBounds: [Double] = [1, 2, 5, 10, 20]

    /// 1, 2, 5, 10, 20, 50, ... up to and including `maxValue` (vLLM build_1_2_5_buckets).
    public static func oneTwoFiveBounds(upTo maxValue: Int) -> [Double] {
        var bounds: [Double] = []
        var exponent = 1
        while true {
            for mantissa in [1, 2, 5] {
                let value = mantissa * exponent
                if value > maxValue { return bounds }
                bounds.append(Double(value))
            }
            if exponent > Int.max / 10 { return bounds }
            exponent *= 10
        }
    }
}

/// A snapshot of the engine's gauges, counters and histograms; the server exposes them with vLLM's
/// metric names (vllm:num_requests_running, vllm:time_to_first_token_seconds, ...).
public struct EngineStats: Sendable, Equatable {
    // Gauges.
    public var numRunning = 0
    public var numWaiting = 0
    /// Fraction 0...1 of KV blocks in use (vllm:kv_cache_usage_perc).
    public var kvCacheUsage: Double = 0
    // Cumulative counters.
    /// Prompt tokens looked up / found in the prefix cache.
    public var prefixCacheQueries = 0
    public var prefixCacheHits = 0
    public var numPreemptions = 0
    public var promptTokens = 0
    public var generationTokens = 0
    /// Finished (child) requests by finish reason: "stop", "length", "abort", "error".
    public var requestSuccess: [String: Int] = [:]
    public var numSteps = 0
    /// Speculative decoding (cumulative; vllm:spec_decode_*): verifications, draft tokens verified and
    /// accepted, and accepted tokens by draft position (empty when speculation is off).
    public var specDecodeNumDrafts = 0
    public var specDecodeNumDraftTokens = 0
    public var specDecodeNumAcceptedTokens = 0
    public var specDecodeAcceptedPerPosition: [Int] = []
    // Histograms, one observation per finished (child) request unless noted.
    public var timeToFirstToken = EngineHistogram(upperBounds: EngineHistogram.timeToFirstTokenBounds)
    /// One observation per generated token after the first.
    public var interTokenLatency = EngineHistogram(upperBounds: EngineHistogram.interTokenLatencyBounds)
    public var e2eRequestLatency = EngineHistogram(upperBounds: EngineHistogram.requestLatencyBounds)
    /// Arrival to the start of the step that produced the first token (exact when the prompt fits in one step).
    public var requestQueueTime = EngineHistogram(upperBounds: EngineHistogram.requestLatencyBounds)
    public var requestPrefillTime = EngineHistogram(upperBounds: EngineHistogram.requestLatencyBounds)
    public var requestDecodeTime = EngineHistogram(upperBounds: EngineHistogram.requestLatencyBounds)
    public var requestInferenceTime = EngineHistogram(upperBounds: EngineHistogram.requestLatencyBounds)
    public var requestTimePerOutputToken = EngineHistogram(upperBounds: EngineHistogram.interTokenLatencyBounds)
    public var requestPromptTokens: EngineHistogram
    public var requestGenerationTokens: EngineHistogram
    public var requestParamsMaxTokens: EngineHistogram
    /// One observation per parent request when its last choice ends: the most tokens any of its n choices
    /// generated (vllm:request_max_num_generation_tokens).
    public var requestMaxNumGenerationTokens: EngineHistogram
    /// One observation per parent request when it is added.
    public var requestParamsN = EngineHistogram(upperBounds: EngineHistogram.requestParamsNBounds)
    /// One observation per step: tokens in the batch.
    public var iterationTokens = EngineHistogram(upperBounds: EngineHistogram.iterationTokensBounds)
    // Cache configuration (vllm:cache_config_info labels).
    /// Every KV block allocated, the core's reserved null block included (vLLM's num_gpu_blocks).
    public var numKVBlocks = 0
    public var blockSize = 0
    public var enablePrefixCaching = false
    public var maxModelLen = 0

    public init(maxModelLen: Int) {
        let lengthBounds = EngineHistogram.oneTwoFiveBounds(upTo: max(1, maxModelLen))
        requestPromptTokens = EngineHistogram(upperBounds: lengthBounds)
        requestGenerationTokens = EngineHistogram(upperBounds: lengthBounds)
        requestParamsMaxTokens = EngineHistogram(upperBounds: lengthBounds)
        requestMaxNumGenerationTokens = EngineHistogram(upperBounds: lengthBounds)
        self.maxModelLen = maxModelLen
    }
}
