import EngineCore
import Tokenizer

/// A request as the engine tracks it: its n completions (each a core request) and what was reported.
/// A class so completions are updated in place (no copy-on-write of their growing text and ids).
final class EngineRequestState {
    let requestId: String
    let prompt: String?
    let promptTokenIds: [Int]
    let params: SamplingParams
    let outputKind: RequestOutputKind
    let arrivalTime: Double
    var completions: [CompletionState]
    var promptLogprobs: [PositionLogprobs?]?
    private var promptLogprobsReported = false
    /// The engine step that last gave this request a core output (dedupes within a step).
    var lastTouchedStep = -1
    /// The `outputs` of the last RequestOutput, refilled in place by the next `makeOutput`.
    private var completionOutputs: [CompletionOutput] = []

    init(requestId: String, prompt: String?, promptTokenIds: [Int], params: SamplingParams,
         outputKind: RequestOutputKind, arrivalTime: Double, tokenizer: Tokenizer) {
        self.requestId = requestId
        self.prompt = prompt
        self.promptTokenIds = promptTokenIds
        self.params = params
        self.outputKind = outputKind
        self.arrivalTime = arrivalTime
        let count = max(1, params.n)
        completions = (0..<count).map { index in
            CompletionState(index: index,
                            coreRequestId: EngineRequestState.coreRequestId(requestId, index: index, of: count),
                            tokenizer: tokenizer, promptTokenIds: promptTokenIds, params: params,
                            outputKind: outputKind)
        }
    }

    /// n == 1 keeps the caller's id; n > 1 fans out to "<id>-<i>" children that share the prompt's
    /// KV blocks through the prefix cache.
    static func coreRequestId(_ requestId: String, index: Int, of count: Int) -> String {
        count == 1 ? requestId : "\(requestId)-\(index)"
    }

    /// Sampling params of completion `index`: one sequence each; seeded children get seed + index
    /// (as vLLM does) so they differ from one another yet stay reproducible.
    func coreParams(index: Int) -> SamplingParams {
        var child = params
        child.n = 1
        if let seed = params.seed { child.seed = seed &+ UInt64(index) }
        return child
    }

    var finished: Bool { completions.allSatisfy(\.finished) }

    /// The most tokens any of the n completions generated (vllm:request_max_num_generation_tokens).
    var maxGenerationTokens: Int { completions.map(\.tokenIds.count).max() ?? 0 }

    /// Drops this state's share of the last reported outputs, so that once the caller has released
    /// them too the completions' text and ids grow in place and the array is reused.
    func releaseReportedOutputs() {
        completionOutputs.removeAll(keepingCapacity: true)
    }

    /// The output to report after a step, or nil when nothing is due (final-only, or no change).
    func makeOutput() -> RequestOutput? {
        let isFinished = finished
        let anyChanged = completions.contains(where: \.changed)
        guard anyChanged || isFinished else { return nil }
        if outputKind == .finalOnly && !isFinished { return nil }
        releaseReportedOutputs()
        for index in completions.indices {
            if outputKind == .delta && !completions[index].changed { continue }
            completionOutputs.append(completions[index].makeOutput(kind: outputKind))
        }
        var reportedPromptLogprobs: [PositionLogprobs?]? = nil
        if outputKind != .delta || !promptLogprobsReported {
            reportedPromptLogprobs = promptLogprobs
            if promptLogprobs != nil { promptLogprobsReported = true }
        }
        let first = completions[0]
        var firstToken: Double?
        var lastToken: Double?
        for completion in completions {
            if let time = completion.firstTokenTime { firstToken = min(firstToken ?? time, time) }
            if let time = completion.lastTokenTime { lastToken = max(lastToken ?? time, time) }
        }
        let timing = RequestTiming(arrival: arrivalTime, firstToken: firstToken, lastToken: lastToken,
                                   finished: isFinished ? lastToken : nil)
        return RequestOutput(requestId: requestId, prompt: prompt, promptTokenIds: promptTokenIds,
                             promptLogprobs: reportedPromptLogprobs, outputs: completionOutputs, finished: isFinished,
                             numCachedTokens: first.numCachedTokens, timing: timing)
    }
}
