import Foundation
import Logging

/// vLLM's periodic engine log line ("Engine 000: Avg prompt throughput: ...").
public enum EngineStatsLogLine {
    /// vLLM's "SpecDecoding metrics" line over the interval, or nil when no drafts were verified in it.
    public static func speculation(previous: EngineStats, current: EngineStats) -> String? {
        let drafts = current.specDecodeNumDrafts - previous.specDecodeNumDrafts
        let drafted = current.specDecodeNumDraftTokens - previous.specDecodeNumDraftTokens
        let accepted = current.specDecodeNumAcceptedTokens - previous.specDecodeNumAcceptedTokens
        guard drafts > 0, drafted > 0 else { return nil }
        let perPosition = current.specDecodeAcceptedPerPosition.indices.map { position -> String in
            let before = position < previous.specDecodeAcceptedPerPosition.count
                ? previous.specDecodeAcceptedPerPosition[position] : 0
            return String(format: "%.3f", Double(current.specDecodeAcceptedPerPosition[position] - before) / Double(drafts))
        }
        return String(format: "SpecDecoding metrics: Mean acceptance length: %.2f, Accepted: %d tokens, Drafted: %d "
                          + "tokens, Per-position acceptance rate: %@, Avg Draft acceptance rate: %.1f%%",
                      1 + Double(accepted) / Double(drafts), accepted, drafted, perPosition.joined(separator: ", "),
                      100 * Double(accepted) / Double(drafted))
    }

    /// The line for the `seconds` between two snapshots, or nil when nothing ran or waited in between.
    public static func make(previous: EngineStats, current: EngineStats, seconds: Double) -> String? {
        guard seconds > 0 else { return nil }
        let prompt = current.promptTokens - previous.promptTokens
        let generation = current.generationTokens - previous.generationTokens
        guard prompt > 0 || generation > 0 || current.numRunning > 0 || current.numWaiting > 0 else { return nil }
        let queries = current.prefixCacheQueries - previous.prefixCacheQueries
        let hits = current.prefixCacheHits - previous.prefixCacheHits
        let hitRate = queries > 0 ? 100 * Double(hits) / Double(queries) : 0
        return String(format: "Engine 000: Avg prompt throughput: %.1f tokens/s, Avg generation throughput: %.1f "
                          + "tokens/s, Running: %d reqs, Waiting: %d reqs, KV cache usage: %.1f%%, Prefix cache "
                          + "hit rate: %.1f%%",
                      Double(prompt) / seconds, Double(generation) / seconds, current.numRunning, current.numWaiting,
                      100 * current.kvCacheUsage, hitRate)
    }
}

/// Logs the line every `interval` seconds from the engine thread.
struct EngineThroughputLog {
    let interval: Double
    private var lastTime: Double
    private var lastStats: EngineStats

    init(interval: Double, now: Double, stats: EngineStats) {
        self.interval = interval
        lastTime = now
        lastStats = stats
    }

    mutating func logIfDue(_ stats: EngineStats, now: Double) {
        guard now - lastTime >= interval else { return }
        if let line = EngineStatsLogLine.make(previous: lastStats, current: stats, seconds: now - lastTime) {
            EngineLog.logger.info("\(line)")
        }
        if let line = EngineStatsLogLine.speculation(previous: lastStats, current: stats) {
            EngineLog.logger.info("\(line)")
        }
        lastTime = now
        lastStats = stats
    }
}

enum EngineLog {
    static let logger = Logger(label: "vllm.engine")
}
