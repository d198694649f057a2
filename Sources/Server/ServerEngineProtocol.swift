import JSON
import Engine
import EngineCore
import Foundation

/// Everything the HTTP layer needs from an inference engine. The real engine is adapted to this in the
/// `vllm` executable; tests use a fake. Keeping it small keeps the HTTP layer testable without a model.
public protocol ServingEngine: Sendable {
    /// Largest prompt + output length in tokens.
    var maxModelLen: Int { get }
    /// Number of token ids the model accepts (ids must be in 0..<vocabSize).
    var vocabSize: Int { get }
    /// The model's sampling defaults (generation_config.json); a request's own fields go on top, as in vLLM.
    var defaultSamplingParams: SamplingParams { get }

    func tokenize(_ text: String, addSpecialTokens: Bool) throws -> [Int]
    func detokenize(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String
    /// The vocabulary string of each token (as in `tokens` of completions logprobs).
    func tokenStrings(_ tokenIds: [Int]) -> [String]

    /// Renders a chat with the model's template. `messages`/`tools` are in the client's key order.
    func renderChat(_ chat: ChatRenderRequest) throws -> String

    /// Starts one generation. Invalid requests throw before the stream starts (`ServingError`).
    /// The stream yields incremental outputs; cancelling its iteration must abort the request.
    func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, priority: Int) throws
        -> AsyncThrowingStream<GenerationOutput, Error>

    /// Aborts a request (all its choices) and frees its KV blocks. Unknown ids are ignored.
    func abort(requestId: String)

    /// Snapshot of scheduler and cache state for /metrics.
    func stats() -> ServingStats

    /// False once the engine thread has died; /health answers 503 then.
    var isHealthy: Bool { get }
}

public struct ChatRenderRequest: Sendable {
    public var messages: [JSONValue]
    public var tools: [JSONValue]?
    public var addGenerationPrompt: Bool
    public var continueFinalMessage: Bool
    /// Extra template variables (`chat_template_kwargs`), reserved names already removed.
    public var templateKwargs: [(String, JSONValue)]

    public init(messages: [JSONValue], tools: [JSONValue]? = nil, addGenerationPrompt: Bool = true,
                continueFinalMessage: Bool = false, templateKwargs: [(String, JSONValue)] = []) {
        self.messages = messages
        self.tools = tools
        self.addGenerationPrompt = addGenerationPrompt
        self.continueFinalMessage = continueFinalMessage
        self.templateKwargs = templateKwargs
    }
}

/// One incremental update for one choice of a request.
public struct GenerationOutput: Sendable {
    /// Choice index within the request (0..<n).
    public var index: Int
    /// Newly generated text since the previous output of this choice.
    public var textDelta: String
    public var tokenIds: [Int]
    /// One entry per token in `tokenIds` when logprobs were requested.
    public var logprobs: [PositionLogprobs]?
    /// Logprobs of the prompt tokens (first entry nil), sent once.
    public var promptLogprobs: [PositionLogprobs?]?
    public var finishReason: String?
    /// Matched stop string or stop token id.
    public var stopReason: StopReason?
    public var promptTokenCount: Int
    public var cachedTokenCount: Int

    public init(index: Int = 0, textDelta: String, tokenIds: [Int], logprobs: [PositionLogprobs]? = nil,
                promptLogprobs: [PositionLogprobs?]? = nil, finishReason: String? = nil, stopReason: StopReason? = nil,
                promptTokenCount: Int, cachedTokenCount: Int = 0) {
        self.index = index
        self.textDelta = textDelta
        self.tokenIds = tokenIds
        self.logprobs = logprobs
        self.promptLogprobs = promptLogprobs
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.promptTokenCount = promptTokenCount
        self.cachedTokenCount = cachedTokenCount
    }
}

// Stop reasons and logprob entries reuse the Engine target's value types (`StopReason`, `LogprobCandidate`,
// `PositionLogprobs`), so adapting the real engine needs no conversion.

/// Errors an engine reports for a request; mapped to HTTP statuses by the server.
public enum ServingError: Error, Sendable, CustomStringConvertible {
    /// Bad request parameters (400). `param` names the offending field when known.
    case invalidRequest(String, param: String?)
    /// Prompt (+ output) does not fit the context (400, code context_length_exceeded).
    case contextLengthExceeded(String)
    /// The waiting queue is full (503, retry later).
    case overloaded(String)
    /// The engine failed (500).
    case internalFailure(String)

    public var description: String {
        switch self {
        case .invalidRequest(let message, _), .contextLengthExceeded(let message), .overloaded(let message),
             .internalFailure(let message):
            return message
        }
    }
}

/// Engine state for /metrics. Counters are cumulative since start.
public struct ServingStats: Sendable, Equatable {
    public var numRunning = 0
    public var numWaiting = 0
    public var kvCacheUsage = 0.0
    public var prefixCacheQueries = 0
    public var prefixCacheHits = 0
    public var numPreemptions = 0
    /// Histograms only the engine can measure (queue, prefill, decode times...), exposed as they are.
    public var engineHistograms: [HistogramSnapshot] = []
    public init() {}
}

/// A Prometheus histogram measured elsewhere: bucket upper bounds with cumulative counts.
public struct HistogramSnapshot: Sendable, Equatable {
    public var name: String
    public var help: String
    public var upperBounds: [Double]
    /// Observations <= each bound (same length as `upperBounds`).
    public var cumulativeCounts: [Int]
    public var sum: Double
    public var count: Int

    public init(name: String, help: String, upperBounds: [Double], cumulativeCounts: [Int], sum: Double, count: Int) {
        self.name = name
        self.help = help
        self.upperBounds = upperBounds
        self.cumulativeCounts = cumulativeCounts
        self.sum = sum
        self.count = count
    }
}
