@testable import Benchmarks
import XCTest

final class BenchMetricsTests: XCTestCase {
    func testPercentileInterpolatesLikeNumpy() {
        let values = [4.0, 1, 3, 2]
        XCTAssertEqual(BenchStatistics.percentile(values, 50), 2.5, accuracy: 1e-12)
        XCTAssertEqual(BenchStatistics.percentile(values, 99), 3.97, accuracy: 1e-12)  // rank 2.97 -> 3 + 0.97
        XCTAssertEqual(BenchStatistics.percentile(values, 0), 1)
        XCTAssertEqual(BenchStatistics.percentile(values, 100), 4)
        XCTAssertEqual(BenchStatistics.percentile([7], 90), 7)
        XCTAssertEqual(BenchStatistics.percentile([], 90), 0)
        XCTAssertEqual(BenchStatistics.standardDeviation([2, 4, 4, 4, 5, 5, 7, 9]), 2, accuracy: 1e-12)
    }

    /// Two successful requests and one failure, hand-computed.
    func testServeMetricsFollowVLLMDefinitions() {
        let a = BenchRequestResult(success: true, promptLength: 10, outputTokens: 5, ttft: 0.1,
                                   itl: [0.02, 0.03, 0.05, 0.1], latency: 0.3, startTime: 0,
                                   chunkTimes: [0.1, 0.12, 0.15, 0.2, 0.3])
        // No usage from the server: 3 tokens by re-tokenizing (one token per character here).
        let b = BenchRequestResult(success: true, promptLength: 20, outputTokens: nil, generatedText: "xyz", ttft: 0.2,
                                   itl: [0.1], latency: 0.6, startTime: 0.5, chunkTimes: [0.7, 1.1])
        let failed = BenchRequestResult(success: false, promptLength: 30, error: "boom")
        let m = BenchServeMetrics(results: [a, b, failed], duration: 2, percentiles: [50, 99]) { $0.count }
        XCTAssertEqual(m.completed, 2)
        XCTAssertEqual(m.failed, 1)
        XCTAssertEqual(m.totalInput, 30)  // failed requests do not count
        XCTAssertEqual(m.totalOutput, 8)
        XCTAssertEqual(m.outputLengths, [5, 3, 0])
        XCTAssertEqual(m.requestThroughput, 1, accuracy: 1e-12)
        XCTAssertEqual(m.outputThroughput, 4, accuracy: 1e-12)
        XCTAssertEqual(m.totalTokenThroughput, 19, accuracy: 1e-12)
        // TTFT: 100 and 200 ms.
        XCTAssertEqual(m.ttft.mean, 150, accuracy: 1e-9)
        XCTAssertEqual(m.ttft.median, 150, accuracy: 1e-9)
        XCTAssertEqual(m.ttft.std, 50, accuracy: 1e-9)
        // TPOT excludes the first token: (0.3-0.1)/4 = 50 ms, (0.6-0.2)/2 = 200 ms.
        XCTAssertEqual(m.tpot.mean, 125, accuracy: 1e-9)
        XCTAssertEqual(m.tpot.percentiles[1].1, 50 + 150 * 0.99, accuracy: 1e-9)
        // ITL pools every gap: 20, 30, 50, 100, 100 ms.
        XCTAssertEqual(m.itl.mean, 60, accuracy: 1e-9)
        XCTAssertEqual(m.itl.median, 50, accuracy: 1e-9)
        XCTAssertEqual(m.itl.percentiles[0].0, 50)
        XCTAssertEqual(m.e2el.mean, 450, accuracy: 1e-9)
        // Second [0, 1) holds 5 + 1 chunks, [1, 2) one; a (0...0.3) and b (0.5...1.1) never overlap.
        XCTAssertEqual(m.peakOutputThroughput, 6)
        XCTAssertEqual(m.peakConcurrentRequests, 1)
    }

    func testTPOTSkipsSingleTokenOutputsAndEmptyRunsAreZero() {
        let one = BenchRequestResult(success: true, promptLength: 4, outputTokens: 1, ttft: 0.05, latency: 0.05,
                                     chunkTimes: [0.05])
        let overlapping = BenchRequestResult(success: true, promptLength: 4, outputTokens: 3, ttft: 0.1,
                                             itl: [0.1, 0.1], latency: 0.3, startTime: 0.01,
                                             chunkTimes: [0.11, 0.21, 0.31])
        let m = BenchServeMetrics(results: [one, overlapping], duration: 1, percentiles: [99]) { _ in 0 }
        XCTAssertEqual(m.tpot.mean, 100, accuracy: 1e-9)  // only the 3-token request: 0.2 / 2
        XCTAssertEqual(m.peakConcurrentRequests, 2)
        let empty = BenchServeMetrics(results: [], duration: 1, percentiles: [99]) { _ in 0 }
        XCTAssertEqual(empty.ttft.mean, 0)
        XCTAssertEqual(empty.itl.percentiles[0].1, 0)
        XCTAssertEqual(empty.completed, 0)
    }

    func testTableUsesVLLMLayout() {
        let a = BenchRequestResult(success: true, promptLength: 10, outputTokens: 2, ttft: 0.1, itl: [0.05],
                                   latency: 0.15, chunkTimes: [0.1, 0.15])
        let m = BenchServeMetrics(results: [a], duration: 1, percentiles: [50, 99.9]) { _ in 0 }
        let options = BenchReportOptions(metrics: ["ttft", "tpot", "itl", "e2el"], percentiles: [50, 99.9])
        let lines = BenchServeReport.table(m, options: options, maxConcurrency: 4, requestRate: .infinity)
            .split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "============ Serving Benchmark Result ============")
        XCTAssertEqual(lines.last, String(repeating: "=", count: 50))
        XCTAssertTrue(lines.contains("Successful requests:                     1         "))
        XCTAssertTrue(lines.contains("Maximum request concurrency:             4         "))
        XCTAssertTrue(lines.contains("Mean TTFT (ms):                          100.00    "))
        XCTAssertTrue(lines.contains("P99.9 E2EL (ms):                         150.00    "))
        XCTAssertTrue(lines.contains("P50 TPOT (ms):                           50.00     "))
        XCTAssertTrue(lines.contains("-----Time per Output Token (excl. 1st token)------"))
        XCTAssertTrue(lines.contains("---------------Time to First Token----------------"))
        XCTAssertFalse(lines.contains { $0.hasPrefix("Request rate configured") })
        let json = BenchServeReport.json(m, options: options, results: [a], settings: ["model_id": "m"])
        XCTAssertEqual(json["p99.9_e2el_ms"] as? Double ?? -1, 150, accuracy: 1e-9)
        XCTAssertEqual(json["mean_tpot_ms"] as? Double ?? -1, 50, accuracy: 1e-9)
        XCTAssertEqual(json["output_lens"] as? [Int], [2])
        XCTAssertEqual(json["model_id"] as? String, "m")
        XCTAssertTrue(JSONSerialization.isValidJSONObject(json))
    }

    func testReportOptionsRejectUnknownMetricsAndBadPercentiles() throws {
        let options = try BenchReportOptions(metricList: "ttft, e2el", percentileList: "50,90,99")
        XCTAssertEqual(options.metrics, ["ttft", "e2el"])
        XCTAssertEqual(options.percentiles, [50, 90, 99])
        XCTAssertThrowsError(try BenchReportOptions(metricList: "ttft,speed", percentileList: "99")) {
            XCTAssertTrue("\($0)".contains("speed"))
        }
        XCTAssertThrowsError(try BenchReportOptions(metricList: "ttft", percentileList: "101"))
        XCTAssertThrowsError(try BenchReportOptions(metricList: "ttft", percentileList: "p99"))
    }
}
