import EngineCore

/// What a request asks the model to continue.
public enum PromptInput: Sendable, Equatable {
    case text(String)
    case tokenIds([Int])
}

/// How much each `RequestOutput` carries (vLLM's RequestOutputKind).
public enum RequestOutputKind: Sendable, Equatable {
    /// Every output holds the full text/tokens so far.
    case cumulative
    /// Every output holds only what is new since the previous one (streaming).
    case delta
    /// One output, when the request has finished.
    case finalOnly
}

/// Why a completion stopped when finishReason is `.stop` and the cause was not EOS.
public enum StopReason: Sendable, Equatable {
    case tokenId(Int)
    case string(String)
}

/// One candidate token at a position, in text form.
public struct LogprobCandidate: Sendable, Equatable {
    public var tokenId: Int
    /// The token decoded alone (may contain U+FFFD for a partial UTF-8 sequence).
    public var token: String
    public var logprob: Float
    /// 1 = most likely.
    public var rank: Int

    public init(tokenId: Int, token: String, logprob: Float, rank: Int) {
        self.tokenId = tokenId
        self.token = token
        self.logprob = logprob
        self.rank = rank
    }
}

/// The chosen (generated or prompt) token at one position plus the most likely alternatives.
public struct PositionLogprobs: Sendable, Equatable {
    public var chosen: LogprobCandidate
    /// Most likely first; as many as the request asked for.
    public var top: [LogprobCandidate]

    public init(chosen: LogprobCandidate, top: [LogprobCandidate]) {
        self.chosen = chosen
        self.top = top
    }
}

/// One of the `n` completions of a request.
public struct CompletionOutput: Sendable, Equatable {
    public var index: Int
    /// Full text so far (cumulative/final) or the new text (delta).
    public var text: String
    /// All generated ids so far (cumulative/final) or the new ids (delta).
    public var tokenIds: [Int]
    /// Parallel to `tokenIds` when the request asked for logprobs.
    public var logprobs: [PositionLogprobs]?
    /// Sum of the chosen tokens' logprobs so far (only when logprobs were requested).
    public var cumulativeLogprob: Double?
    public var finishReason: FinishReason?
    public var stopReason: StopReason?
    /// Tokens generated so far, whatever the output kind (for usage counts).
    public var numGeneratedTokens: Int

    public var finished: Bool { finishReason != nil }

    public init(index: Int, text: String = "", tokenIds: [Int] = [], logprobs: [PositionLogprobs]? = nil,
                cumulativeLogprob: Double? = nil, finishReason: FinishReason? = nil,
                stopReason: StopReason? = nil, numGeneratedTokens: Int = 0) {
        self.index = index
        self.text = text
        self.tokenIds = tokenIds
        self.logprobs = logprobs
        self.cumulativeLogprob = cumulativeLogprob
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.numGeneratedTokens = numGeneratedTokens
    }
}

/// Monotonic timestamps (seconds) of one request, for per-request metrics.
public struct RequestTiming: Sendable, Equatable {
    public var arrival: Double
    public var firstToken: Double?
    public var lastToken: Double?
    public var finished: Double?

    public init(arrival: Double, firstToken: Double? = nil, lastToken: Double? = nil, finished: Double? = nil) {
        self.arrival = arrival
        self.firstToken = firstToken
        self.lastToken = lastToken
        self.finished = finished
    }
}

/// What the engine reports for a request after a step.
public struct RequestOutput: Sendable, Equatable {
    public var requestId: String
    /// The prompt text when the request came as text.
    public var prompt: String?
    public var promptTokenIds: [Int]
    /// One entry per prompt token (the first nil) when prompt logprobs were asked for. In delta mode
    /// only the first output carrying them has them.
    public var promptLogprobs: [PositionLogprobs?]?
    /// Delta mode: only the completions that changed in this step; otherwise all `n`, by index.
    public var outputs: [CompletionOutput]
    /// True once every completion has finished; this is the last output of the request.
    public var finished: Bool
    /// Prompt tokens served from the prefix cache (completion 0's count).
    public var numCachedTokens: Int
    public var timing: RequestTiming

    public init(requestId: String, prompt: String?, promptTokenIds: [Int],
                promptLogprobs: [PositionLogprobs?]?, outputs: [CompletionOutput], finished: Bool,
                numCachedTokens: Int, timing: RequestTiming) {
        self.requestId = requestId
        self.prompt = prompt
        self.promptTokenIds = promptTokenIds
        self.promptLogprobs = promptLogprobs
        self.outputs = outputs
        self.finished = finished
        self.numCachedTokens = numCachedTokens
        self.timing = timing
    }
}
