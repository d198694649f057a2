import EngineCore

/// Why the engine refused a request, failed to load, or failed while running.
/// The server maps `kind` to an HTTP status (invalid/context -> 400, overloaded -> 503, ...).
public struct EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Bad parameters, empty prompt, out-of-vocabulary ids, duplicate request id.
        case invalidRequest
        /// Prompt (+ max_tokens) longer than the context: message starts "This model's maximum context length is".
        case contextLengthExceeded
        /// The waiting queue is full; the client should retry later (HTTP 503).
        case overloaded
        /// The engine is shutting down or stopped; no new requests.
        case shuttingDown
        /// Model, tokenizer or chat template could not be loaded.
        case loadFailed
        /// Configuration values that cannot work together.
        case invalidConfig
        /// The model failed while running a step.
        case modelFailure
    }

    public var kind: Kind
    public var message: String
    /// The request field at fault (OpenAI/vLLM name), for the error body's `param`.
    public var param: String?

    public init(_ kind: Kind, _ message: String, param: String? = nil) {
        self.kind = kind
        self.message = message
        self.param = param
    }

    public var description: String { message }

    /// Translates the core's and the sampling validator's errors so callers see one error type.
    static func from(_ error: Error) -> EngineError {
        if let engineError = error as? EngineError { return engineError }
        if let paramsError = error as? SamplingParamsError {
            return EngineError(.invalidRequest, paramsError.message, param: paramsError.param)
        }
        if let coreError = error as? EngineCoreError {
            // if/else rather than a switch so new core error kinds default to "invalid request".
            let kind: Kind
            if coreError.kind == .contextLengthExceeded {
                kind = .contextLengthExceeded
            } else if coreError.kind == .queueFull {
                kind = .overloaded
            } else if coreError.kind == .invalidConfig {
                kind = .invalidConfig
            } else if coreError.kind == .modelFailure {
                kind = .modelFailure
            } else {
                kind = .invalidRequest
            }
            return EngineError(kind, coreError.message, param: coreError.param)
        }
        return EngineError(.modelFailure, "\(error)")
    }
}
