import Foundation

/// Which latency metrics the table shows, and which percentiles (vLLM's --percentile-metrics /
/// --metric-percentiles).
public struct BenchReportOptions: Sendable, Equatable {
    public var metrics: [String]
    public var percentiles: [Double]

    public static let knownMetrics = ["ttft", "tpot", "itl", "e2el"]

    public init(metrics: [String] = ["ttft", "tpot", "itl"], percentiles: [Double] = [99]) {
        self.metrics = metrics
        self.percentiles = percentiles
    }

    /// Parses "ttft,tpot,itl" and "50,99"; names the bad entry on error.
    public init(metricList: String, percentileList: String) throws {
        metrics = metricList.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        for metric in metrics where !Self.knownMetrics.contains(metric) {
            throw BenchError("--percentile-metrics: unknown metric '\(metric)' (known: \(Self.knownMetrics.joined(separator: ",")))")
        }
        percentiles = try percentileList.split(separator: ",").map { part in
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let value = Double(text), value >= 0, value <= 100 else {
                throw BenchError("--metric-percentiles: '\(text)' is not a number in [0, 100]")
            }
            return value
        }
    }
}

public enum BenchServeReport {
    /// vLLM's result block: 50-column banner, `{:<40} {:<10}` rows.
    public static func table(_ m: BenchServeMetrics, options: BenchReportOptions, maxConcurrency: Int?,
                             requestRate: Double) -> String {
        var lines: [String] = [banner(" Serving Benchmark Result ", fill: "=")]
        func row(_ label: String, _ value: String) { lines.append(pad(label, 40) + " " + pad(value, 10)) }
        func row(_ label: String, _ value: Double) { row(label, String(format: "%.2f", value)) }
        row("Successful requests:", "\(m.completed)")
        row("Failed requests:", "\(m.failed)")
        if let maxConcurrency { row("Maximum request concurrency:", "\(maxConcurrency)") }
        if requestRate.isFinite { row("Request rate configured (RPS):", requestRate) }
        row("Benchmark duration (s):", m.duration)
        row("Total input tokens:", "\(m.totalInput)")
        row("Total generated tokens:", "\(m.totalOutput)")
        row("Request throughput (req/s):", m.requestThroughput)
        row("Output token throughput (tok/s):", m.outputThroughput)
        row("Peak output token throughput (tok/s):", m.peakOutputThroughput)
        row("Peak concurrent requests:", "\(m.peakConcurrentRequests)")
        row("Total token throughput (tok/s):", m.totalTokenThroughput)
        let sections: [(String, String, String, BenchLatencySummary)] = [
            ("ttft", "TTFT", "Time to First Token", m.ttft),
            ("tpot", "TPOT", "Time per Output Token (excl. 1st token)", m.tpot),
            ("itl", "ITL", "Inter-token Latency", m.itl),
            ("e2el", "E2EL", "End-to-end Latency", m.e2el),
        ]
        for (key, short, header, summary) in sections where options.metrics.contains(key) {
            lines.append(banner(header, fill: "-"))
            row("Mean \(short) (ms):", summary.mean)
            row("Median \(short) (ms):", summary.median)
            for (p, value) in summary.percentiles { row("P\(percentileName(p)) \(short) (ms):", value) }
        }
        lines.append(String(repeating: "=", count: 50))
        return lines.joined(separator: "\n")
    }

    /// 99 -> "99", 99.9 -> "99.9".
    public static func percentileName(_ p: Double) -> String {
        p == p.rounded() ? String(Int(p)) : String(p)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func banner(_ title: String, fill: Character) -> String {
        let total = max(50 - title.count, 0)
        let left = total / 2
        return String(repeating: fill, count: left) + title + String(repeating: fill, count: total - left)
    }

    /// The --save-result document, with vLLM's field names.
    public static func json(_ m: BenchServeMetrics, options: BenchReportOptions, results: [BenchRequestResult],
                            settings: [String: Any]) -> [String: Any] {
        var document = settings
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        document["date"] = formatter.string(from: Date())
        document["duration"] = m.duration
        document["completed"] = m.completed
        document["failed"] = m.failed
        document["total_input_tokens"] = m.totalInput
        document["total_output_tokens"] = m.totalOutput
        document["request_throughput"] = m.requestThroughput
        document["output_throughput"] = m.outputThroughput
        document["total_token_throughput"] = m.totalTokenThroughput
        document["max_output_tokens_per_s"] = m.peakOutputThroughput
        document["max_concurrent_requests"] = m.peakConcurrentRequests
        document["input_lens"] = results.map(\.promptLength)
        document["output_lens"] = m.outputLengths
        document["ttfts"] = results.map(\.ttft)
        document["itls"] = results.map(\.itl)
        document["generated_texts"] = results.map(\.generatedText)
        document["errors"] = results.map(\.error)
        let sections: [(String, BenchLatencySummary)] = [("ttft", m.ttft), ("tpot", m.tpot), ("itl", m.itl),
                                                         ("e2el", m.e2el)]
        for (key, summary) in sections where options.metrics.contains(key) {
            document["mean_\(key)_ms"] = summary.mean
            document["median_\(key)_ms"] = summary.median
            document["std_\(key)_ms"] = summary.std
            for (p, value) in summary.percentiles { document["p\(percentileName(p))_\(key)_ms"] = value }
        }
        return document
    }
}

/// A benchmark failure with a message for the user.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
