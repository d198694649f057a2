// What the model runner hands back for one step (vLLM v1 `vllm/v1/outputs.py`): per scheduled
// request the sampled tokens (one, or 1 + accepted drafts after verification) and their logprobs.

/// One scheduled request's result, in `SchedulerOutput.scheduled` order.
public struct RunnerRequestOutput {
    /// Where this request's sampled tokens sit in `ModelRunnerOutput.sampledTokenIds`; empty for a
    /// prompt chunk that does not reach the end of the prompt.
    public var sampled: Range<Int>
    /// Draft tokens the target model agreed with (the sampled tokens are these plus one more).
    public var numAcceptedDraftTokens: Int
    /// One entry per sampled token when `params.logprobs != nil`.
    public var logprobs: [TokenLogprobs]?
    /// Logprobs of the prompt tokens this chunk predicts, when `params.promptLogprobs != nil`.
    public var promptLogprobs: [TokenLogprobs?]?
}

/// Refilled in place every step, like `SchedulerOutput`.
public struct ModelRunnerOutput {
    public internal(set) var requests: [RunnerRequestOutput] = []
    public internal(set) var sampledTokenIds: [Int] = []

    mutating func reset() {
        requests.removeAll(keepingCapacity: true)
        sampledTokenIds.removeAll(keepingCapacity: true)
    }
}
