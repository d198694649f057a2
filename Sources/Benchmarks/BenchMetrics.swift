import Foundation

/// What the client observed for one request (vLLM's RequestFuncOutput). Times are seconds.
public struct BenchRequestResult: Sendable, Equatable {
    public var success: Bool
    /// Prompt length in tokens as the dataset built it.
    public var promptLength: Int
    /// Tokens generated, from the server's `usage`; nil when the server sent none (then the text is re-tokenized).
    public var outputTokens: Int?
    public var generatedText: String
    /// Sending the request -> first chunk with choices.
    public var ttft: Double
    /// Gaps between consecutive chunks after the first.
    public var itl: [Double]
    /// Sending the request -> last chunk.
    public var latency: Double
    /// Seconds since the benchmark started when the request was sent (for peak concurrency/throughput).
    public var startTime: Double
    /// Arrival of each content chunk, seconds since the benchmark started (first chunk included).
    public var chunkTimes: [Double]
    public var error: String

    public init(success: Bool = false, promptLength: Int, outputTokens: Int? = nil, generatedText: String = "",
                ttft: Double = 0, itl: [Double] = [], latency: Double = 0, startTime: Double = 0,
                chunkTimes: [Double] = [], error: String = "") {
        self.success = success
        self.promptLength = promptLength
        self.outputTokens = outputTokens
        self.generatedText = generatedText
        self.ttft = ttft
        self.itl = itl
        self.latency = latency
        self.startTime = startTime
        self.chunkTimes = chunkTimes
        self.error = error
    }
}

/// Mean, median, std and chosen percentiles of one latency metric, in milliseconds.
public struct BenchLatencySummary: Sendable, Equatable {
    public var mean: Double
    public var median: Double
    public var std: Double
    /// (percentile, value) in the order asked for.
    public var percentiles: [(Double, Double)]

    public static func == (a: Self, b: Self) -> Bool {
        a.mean == b.mean && a.median == b.median && a.std == b.std
            && a.percentiles.map(\.0) == b.percentiles.map(\.0) && a.percentiles.map(\.1) == b.percentiles.map(\.1)
    }

    /// Seconds in, milliseconds out; an empty sample summarises as zeros (as vLLM's `np.mean(x or 0)`).
    public init(seconds: [Double], percentiles: [Double]) {
        let ms = seconds.isEmpty ? [0] : seconds.map { $0 * 1000 }
        mean = BenchStatistics.mean(ms)
        median = BenchStatistics.percentile(ms, 50)
        std = BenchStatistics.standardDeviation(ms)
        self.percentiles = percentiles.map { ($0, BenchStatistics.percentile(ms, $0)) }
    }
}

public enum BenchStatistics {
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// Population standard deviation (numpy's default, ddof = 0).
    public static func standardDeviation(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let average = mean(values)
        return (values.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(values.count)).squareRoot()
    }

    /// numpy's default ("linear") percentile: interpolates between the two nearest ranks.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = min(max(p, 0), 100) / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = min(lower + 1, sorted.count - 1)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * (rank - Double(lower))
    }
}

/// The figures `vllm bench serve` reports, defined as in vLLM's `calculate_metrics`.
public struct BenchServeMetrics: Sendable, Equatable {
    public var completed: Int
    public var failed: Int
    public var totalInput: Int
    public var totalOutput: Int
    public var duration: Double
    public var requestThroughput: Double
    public var outputThroughput: Double
    public var totalTokenThroughput: Double
    /// Highest number of output tokens in any one-second window, and most requests in flight at once.
    public var peakOutputThroughput: Double
    public var peakConcurrentRequests: Int
    public var ttft: BenchLatencySummary
    /// Per request (e2el - ttft) / (output tokens - 1), only for requests with more than one output token.
    public var tpot: BenchLatencySummary
    /// Every inter-chunk gap of every request, pooled.
    public var itl: BenchLatencySummary
    public var e2el: BenchLatencySummary
    /// Output tokens per request (0 for failed ones), in request order.
    public var outputLengths: [Int]

    /// - Parameter countTokens: re-tokenizes generated text when the server reported no usage.
    public init(results: [BenchRequestResult], duration: Double, percentiles: [Double],
                countTokens: (String) -> Int) {
        var ttfts: [Double] = [], tpots: [Double] = [], itls: [Double] = [], e2els: [Double] = []
        var outputs: [Int] = []
        completed = 0
        totalInput = 0
        for result in results {
            guard result.success else {
                outputs.append(0)
                continue
            }
            let outputLength = result.outputTokens ?? countTokens(result.generatedText)
            outputs.append(outputLength)
            totalInput += result.promptLength
            if outputLength > 1 { tpots.append((result.latency - result.ttft) / Double(outputLength - 1)) }
            itls += result.itl
            ttfts.append(result.ttft)
            e2els.append(result.latency)
            completed += 1
        }
        failed = results.count - completed
        outputLengths = outputs
        totalOutput = outputs.reduce(0, +)
        self.duration = duration
        let seconds = max(duration, 1e-9)
        requestThroughput = Double(completed) / seconds
        outputThroughput = Double(totalOutput) / seconds
        totalTokenThroughput = Double(totalInput + totalOutput) / seconds
        ttft = BenchLatencySummary(seconds: ttfts, percentiles: percentiles)
        tpot = BenchLatencySummary(seconds: tpots, percentiles: percentiles)
        itl = BenchLatencySummary(seconds: itls, percentiles: percentiles)
        e2el = BenchLatencySummary(seconds: e2els, percentiles: percentiles)
        (peakOutputThroughput, peakConcurrentRequests) = Self.peaks(results)
    }

    /// Like vLLM: output tokens are counted in the one-second bucket where their chunk arrived (one token per
    /// chunk); concurrency is the most requests between send and last chunk at any instant.
    static func peaks(_ results: [BenchRequestResult]) -> (Double, Int) {
        var buckets: [Int: Int] = [:]
        var events: [(Double, Int)] = []
        for result in results where result.success {
            for time in result.chunkTimes { buckets[Int(time.rounded(.down)), default: 0] += 1 }
            events.append((result.startTime, 1))
            events.append((result.startTime + result.latency, -1))
        }
        // Ends sort before starts at the same instant so back-to-back requests do not overlap.
        events.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var current = 0, peak = 0
        for (_, change) in events {
            current += change
            peak = max(peak, current)
        }
        return (Double(buckets.values.max() ?? 0), peak)
    }
}
