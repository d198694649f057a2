import EngineCore
import Tokenizer

/// A request tokenized and checked, ready for the core. Built on the caller's thread so bad requests
/// fail fast without touching the engine thread.
public struct PreparedRequest: Sendable {
    public var requestId: String
    public var prompt: String?
    public var promptTokenIds: [Int]
    public var params: SamplingParams
    public var priority: Int
    public var outputKind: RequestOutputKind
    public var cacheSalt: String?
    public var arrivalTime: Double
}

/// Tokenizes and validates requests; immutable, so safe to use from any thread.
struct RequestValidator: @unchecked Sendable {
    let tokenizer: Tokenizer
    let vocabSize: Int
    let maxModelLen: Int
    let maxLogprobs: Int
    let priorityScheduling: Bool

    func prepare(requestId: String, prompt: PromptInput, params: SamplingParams, priority: Int,
                 outputKind: RequestOutputKind, cacheSalt: String?, arrivalTime: Double) throws -> PreparedRequest {
        if requestId.isEmpty { throw EngineError(.invalidRequest, "The request id cannot be empty.") }
        if priority != 0 && !priorityScheduling {
            throw EngineError(.invalidRequest, "Got priority \(priority) but Priority scheduling is not enabled.",
                              param: "priority")
        }
        try EngineRequestChecks.validate(params: params, cacheSalt: cacheSalt, vocabSize: vocabSize,
                                         maxLogprobs: maxLogprobs)
        let text: String?
        let ids: [Int]
        switch prompt {
        case .text(let value):
            text = value
            ids = tokenizer.encode(value, addSpecialTokens: true)
        case .tokenIds(let value):
            text = nil
            ids = value
        }
        try validate(promptTokenIds: ids, params: params)
        return PreparedRequest(requestId: requestId, prompt: text, promptTokenIds: ids, params: params,
                               priority: priority, outputKind: outputKind, cacheSalt: cacheSalt,
                               arrivalTime: arrivalTime)
    }

    func validate(promptTokenIds ids: [Int], params: SamplingParams) throws {
        if ids.isEmpty { throw EngineError(.invalidRequest, "The decoder prompt cannot be empty.", param: "prompt") }
        for id in ids where id < 0 || id >= vocabSize {
            throw EngineError(.invalidRequest, "Token id \(id) is out of vocabulary (vocabulary size \(vocabSize)).",
                              param: "prompt")
        }
        let promptLength = ids.count
        if let maxTokens = params.maxTokens {
            if promptLength + maxTokens > maxModelLen {
                throw EngineError(
                    .contextLengthExceeded,
                    "This model's maximum context length is \(maxModelLen) tokens. However, you requested "
                        + "\(maxTokens) output tokens and your prompt contains \(promptLength) input tokens, "
                        + "for a total of \(promptLength + maxTokens) tokens. Please reduce the length of the "
                        + "input prompt or the number of requested output tokens.",
                    param: "input_tokens")
            }
        } else if promptLength >= maxModelLen {
            throw EngineError(
                .contextLengthExceeded,
                "This model's maximum context length is \(maxModelLen) tokens. However, your request has "
                    + "\(promptLength) input tokens. Please reduce the length of the input messages.",
                param: "input_tokens")
        }
    }
}

/// The checks that need only the request and the vocabulary size: sampling ranges (vLLM's
/// SamplingParams rules) and cache_salt. Their one home; `RequestValidator` runs them, and so can a
/// stand-in engine (the HTTP tests' fake) so that it refuses exactly what the real engine refuses.
public enum EngineRequestChecks {
    public static func validate(params: SamplingParams, cacheSalt: String?, vocabSize: Int, maxLogprobs: Int)
        throws {
        if let salt = cacheSalt, salt.isEmpty {
            throw EngineError(.invalidRequest, "Parameter 'cache_salt' must be a non-empty string if provided.",
                              param: "cache_salt")
        }
        do {
            try params.validate(vocabSize: vocabSize, maxLogprobs: maxLogprobs)
        } catch {
            throw EngineError.from(error)
        }
    }
}
