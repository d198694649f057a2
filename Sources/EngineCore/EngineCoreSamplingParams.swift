// Per-request sampling parameters, named and defaulted like vLLM's `SamplingParams`.

/// A request's sampling parameters were out of range; `message` uses vLLM's wording.
public struct SamplingParamsError: Error, Equatable, CustomStringConvertible {
    public var message: String
    /// The request field at fault (vLLM/OpenAI name), for the error body's `param`.
    public var param: String?

    public init(_ message: String, param: String? = nil) {
        self.message = message
        self.param = param
    }

    public var description: String { message }
}

public struct SamplingParams: Sendable, Equatable {
    /// Number of completions. The core runs one sequence per request: the engine fans n > 1 out
    /// into n child requests (see `EngineCore` docs).
    public var n = 1
    public var temperature: Double = 1.0
    public var topP: Double = 1.0
    /// 0 or -1 disable top-k.
    public var topK = 0
    public var minP: Double = 0
    public var presencePenalty: Double = 0
    public var frequencyPenalty: Double = 0
    public var repetitionPenalty: Double = 1
    /// With a seed the request samples from its own generator, independent of the batch.
    public var seed: UInt64? = nil
    /// nil: as many as fit in the context (`maxModelLen - promptTokens`).
    public var maxTokens: Int? = 16
    public var minTokens = 0
    public var ignoreEOS = false
    public var stopTokenIds: [Int] = []
    /// Added to the raw logit of the token before sampling.
    public var logitBias: [Int: Double] = [:]
    /// Top logprobs per generated token (0 = only the sampled token, -1 = whole vocabulary).
    public var logprobs: Int? = nil
    /// Top logprobs per prompt token (0 = only the prompt token, -1 = whole vocabulary).
    public var promptLogprobs: Int? = nil
    /// vLLM `allowed_token_ids`: only these tokens can be sampled.
    public var allowedTokenIds: [Int]? = nil
    /// vLLM `bad_words`, already tokenized: a word's last token is banned after the rest of the word.
    public var badWordsTokenIds: [[Int]] = []

    // Carried for the engine's output processing; the core does not interpret these.
    public var stop: [String] = []
    public var includeStopStrInOutput = false
    public var skipSpecialTokens = true
    public var spacesBetweenSpecialTokens = true

    public init() {}

    /// Below this temperature sampling is greedy (vLLM `_SAMPLING_EPS`).
    public static let greedyTemperatureEpsilon = 1e-5

    public var isGreedy: Bool { temperature < SamplingParams.greedyTemperatureEpsilon }

    /// Checks every range vLLM checks; throws `SamplingParamsError` with vLLM's message.
    /// `maxLogprobs` is vLLM's `--max-logprobs` (-1 = no limit).
    public func validate(vocabSize: Int, maxLogprobs: Int = 20) throws {
        if n < 1 { throw SamplingParamsError("n must be at least 1, got \(n).", param: "n") }
        try requireFinite(presencePenalty, "presence_penalty")
        if !(-2.0...2.0).contains(presencePenalty) {
            throw SamplingParamsError("presence_penalty must be in [-2, 2], got \(presencePenalty).",
                                      param: "presence_penalty")
        }
        try requireFinite(frequencyPenalty, "frequency_penalty")
        if !(-2.0...2.0).contains(frequencyPenalty) {
            throw SamplingParamsError("frequency_penalty must be in [-2, 2], got \(frequencyPenalty).",
                                      param: "frequency_penalty")
        }
        try requireFinite(repetitionPenalty, "repetition_penalty")
        if repetitionPenalty <= 0 {
            throw SamplingParamsError("repetition_penalty must be greater than zero, got \(repetitionPenalty).",
                                      param: "repetition_penalty")
        }
        try requireFinite(temperature, "temperature")
        if temperature < 0 {
            throw SamplingParamsError("temperature must be non-negative, got \(temperature).", param: "temperature")
        }
        try requireFinite(topP, "top_p")
        if !(topP > 0 && topP <= 1) {
            throw SamplingParamsError("top_p must be in (0, 1], got \(topP).", param: "top_p")
        }
        if topK < -1 {
            throw SamplingParamsError("top_k must be 0 (disable), or at least 1, got \(topK).", param: "top_k")
        }
        try requireFinite(minP, "min_p")
        if !(0.0...1.0).contains(minP) {
            throw SamplingParamsError("min_p must be in [0, 1], got \(minP).", param: "min_p")
        }
        if let maxTokens, maxTokens < 1 {
            throw SamplingParamsError("max_tokens must be at least 1, got \(maxTokens).", param: "max_tokens")
        }
        if minTokens < 0 {
            throw SamplingParamsError("min_tokens must be greater than or equal to 0, got \(minTokens).",
                                      param: "min_tokens")
        }
        if let maxTokens, minTokens > maxTokens {
            throw SamplingParamsError(
                "min_tokens must be less than or equal to max_tokens=\(maxTokens), got \(minTokens).",
                param: "min_tokens")
        }
        try validateLogprobs(logprobs, name: "logprobs", vocabSize: vocabSize, maxLogprobs: maxLogprobs)
        try validateLogprobs(promptLogprobs, name: "prompt_logprobs", vocabSize: vocabSize, maxLogprobs: maxLogprobs)
        let badStopIds = stopTokenIds.filter { $0 < 0 || $0 >= vocabSize }
        if !badStopIds.isEmpty {
            throw SamplingParamsError(
                "stop_token_ids contain token ids out of vocabulary range: \(badStopIds). "
                    + "Vocabulary size: \(vocabSize)", param: "stop_token_ids")
        }
        let badBiasIds = logitBias.keys.filter { $0 < 0 || $0 >= vocabSize }.sorted()
        if !badBiasIds.isEmpty {
            throw SamplingParamsError(
                "token_id(s) \(badBiasIds) in logit_bias contain out-of-vocab token ids. "
                    + "Vocabulary size: \(vocabSize)", param: "logit_bias")
        }
        if let allowed = allowedTokenIds {
            if allowed.isEmpty {
                throw SamplingParamsError("allowed_token_ids is not None and empty!", param: "allowed_token_ids")
            }
            if allowed.contains(where: { $0 < 0 || $0 >= vocabSize }) {
                throw SamplingParamsError("allowed_token_ids contains out-of-vocab token id!",
                                          param: "allowed_token_ids")
            }
        }
        if badWordsTokenIds.contains(where: { $0.contains { $0 < 0 || $0 >= vocabSize } }) {
            throw SamplingParamsError("bad_words contain token ids out of vocabulary range.", param: "bad_words")
        }
        if let bad = logitBias.first(where: { !$0.value.isFinite }) {
            throw SamplingParamsError("logit_bias for token \(bad.key) must be a finite number, got \(bad.value).",
                                      param: "logit_bias")
        }
    }

    private func requireFinite(_ value: Double, _ name: String) throws {
        if !value.isFinite {
            throw SamplingParamsError("\(name) must be a finite number, got \(value).", param: name)
        }
    }

    private func validateLogprobs(_ value: Int?, name: String, vocabSize: Int, maxLogprobs: Int) throws {
        guard let value else { return }
        if value < -1 {
            throw SamplingParamsError("\(name) must be non-negative or -1, got \(value).", param: name)
        }
        let effective = value == -1 ? vocabSize : value
        if maxLogprobs != -1 && effective > maxLogprobs {
            let kind = name == "logprobs" ? "sample" : "prompt"
            throw SamplingParamsError(
                "Requested \(kind) logprobs of \(effective), which is greater than max allowed: \(maxLogprobs)",
                param: name)
        }
    }
}
