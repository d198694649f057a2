import EngineCore
import Foundation

/// Monotonic seconds (the same clock for every timestamp the engine takes).
@inline(__always) func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// Accumulates per-request latency and length observations; merged with the core's counters in
/// `LLMEngine.stats()`. Engine-thread only.
struct EngineMetricsRecorder {
    private(set) var stats: EngineStats

    init(maxModelLen: Int) {
        stats = EngineStats(maxModelLen: maxModelLen)
    }

    mutating func requestAdded(params: SamplingParams, maxModelLen: Int, promptLength: Int) {
        stats.requestParamsN.observe(Double(max(1, params.n)))
        stats.requestParamsMaxTokens.observe(Double(params.maxTokens ?? (maxModelLen - promptLength)))
    }

    mutating func firstToken(arrival: Double, scheduled: Double, now: Double) {
        stats.timeToFirstToken.observe(max(0, now - arrival))
        stats.requestQueueTime.observe(max(0, scheduled - arrival))
    }

    mutating func interToken(_ seconds: Double) {
        stats.interTokenLatency.observe(max(0, seconds))
    }

    mutating func stepFinished(batchTokens: Int) {
        if batchTokens > 0 { stats.iterationTokens.observe(Double(batchTokens)) }
    }

    mutating func completionFinished(_ completion: CompletionState, arrival: Double, promptLength: Int,
                                     now: Double) {
        let reason = completion.finishReason?.rawValue ?? "abort"
        stats.requestSuccess[reason, default: 0] += 1
        stats.e2eRequestLatency.observe(max(0, now - arrival))
        stats.requestPromptTokens.observe(Double(promptLength))
        stats.requestGenerationTokens.observe(Double(completion.tokenIds.count))
        guard let first = completion.firstTokenTime, let last = completion.lastTokenTime else { return }
        let scheduled = completion.scheduledTime ?? first
        stats.requestPrefillTime.observe(max(0, first - scheduled))
        stats.requestDecodeTime.observe(max(0, last - first))
        stats.requestInferenceTime.observe(max(0, last - scheduled))
        if completion.tokenIds.count > 1 {
            stats.requestTimePerOutputToken.observe(max(0, last - first) / Double(completion.tokenIds.count - 1))
        }
    }

    /// A parent request ended (every choice finished or aborted).
    mutating func requestFinished(maxGenerationTokens: Int) {
        stats.requestMaxNumGenerationTokens.observe(Double(maxGenerationTokens))
    }

    /// This recorder's histograms with the core's gauges and counters filled in.
    func snapshot(core: SchedulerStats, numKVBlocks: Int, blockSize: Int, enablePrefixCaching: Bool) -> EngineStats {
        var result = stats
        result.numRunning = core.numRunning
        result.numWaiting = core.numWaiting
        result.kvCacheUsage = core.kvCacheUsage
        result.prefixCacheQueries = core.prefixCacheQueries
        result.prefixCacheHits = core.prefixCacheHits
        result.numPreemptions = core.numPreemptions
        result.promptTokens = core.promptTokens
        result.generationTokens = core.generationTokens
        result.numSteps = core.numSteps
        result.specDecodeNumDrafts = core.numDrafts
        result.specDecodeNumDraftTokens = core.numDraftTokens
        result.specDecodeNumAcceptedTokens = core.numAcceptedTokens
        result.specDecodeAcceptedPerPosition = core.acceptedTokensPerPosition
        result.numKVBlocks = numKVBlocks
        result.blockSize = blockSize
        result.enablePrefixCaching = enablePrefixCaching
        return result
    }
}
