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

    /// Starts one generation. Requests that cannot start throw `EngineError` before the stream starts.
    /// The stream yields incremental outputs; cancelling its iteration must abort the request.
    /// `cacheSalt` keeps the request's prefix-cache entries apart from other salts' (vLLM cache_salt).
    func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, priority: Int,
                  cacheSalt: String?) throws -> AsyncThrowingStream<RequestOutput, Error>

    /// Aborts a request (all its choices) and frees its KV blocks. Unknown ids are ignored.
    func abort(requestId: String)

    /// The engine's gauges, counters and histograms; /metrics renders exactly these (one source of truth).
    func stats() -> EngineStats

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

