// What one step does, decided by the scheduler before the model runs (vLLM v1
// `vllm/v1/core/sched/output.py`): the model runner turns it into a ForwardBatch, and
// `Scheduler.update` applies the runner's result against it.

/// One request's share of a step.
public struct ScheduledRequest {
    let request: RequestState
    /// Tokens whose KV this step computes: a prompt chunk, one decode token, or one decode token
    /// followed by `numDraftTokens` draft tokens in lookahead slots.
    public let numNewTokens: Int
    /// The trailing draft tokens of `numNewTokens` (speculative decoding), verified this step.
    public let numDraftTokens: Int
    /// Where this request's newly allocated block ids sit in `SchedulerOutput.newBlockIds`.
    public internal(set) var newBlocks: Range<Int> = 0..<0

    /// KV already computed before this step (prefix-cache hits included).
    public let numComputedTokens: Int
    /// The step computes prompt tokens (a first prefill or a recompute after preemption).
    public let isPrefill: Bool

    /// Made once the request's slots are allocated, so prefix-cache hits count as computed.
    init(request: RequestState, numNewTokens: Int, numDraftTokens: Int = 0) {
        self.request = request
        self.numNewTokens = numNewTokens
        self.numDraftTokens = numDraftTokens
        numComputedTokens = request.numComputedTokens
        isPrefill = request.numComputedTokens < request.promptLength
    }

    public var requestId: String { request.id }
}

/// The scheduler's decision for one step. The arrays are refilled in place every step: hold a
/// `SchedulerOutput` only until the step's update has run, or the next step has to copy them.
public struct SchedulerOutput {
    /// Requests to run this step, in batch order.
    public internal(set) var scheduled: [ScheduledRequest] = []
    /// Block ids given to scheduled requests this step (prefix-cache hits of newly admitted ones
    /// included), each request's run at its `newBlocks`.
    public internal(set) var newBlockIds: [Int] = []
    /// Requests preempted (their KV freed) while scheduling this step.
    public internal(set) var preemptedRequestIds: [String] = []
    /// Requests finished or aborted since the previous step; a runner that caches per-request
    /// state drops theirs.
    public internal(set) var finishedRequestIds: [String] = []

    public var isEmpty: Bool { scheduled.isEmpty }
    public var numScheduledTokens: Int { scheduled.reduce(0) { $0 + $1.numNewTokens } }
    public var numPrefillTokens: Int { scheduled.reduce(0) { $0 + ($1.isPrefill ? $1.numNewTokens : 0) } }

    mutating func reset() {
        scheduled.removeAll(keepingCapacity: true)
        newBlockIds.removeAll(keepingCapacity: true)
        preemptedRequestIds.removeAll(keepingCapacity: true)
    }
}
