import Foundation
import EngineCore

/// Limits the server enforces on request fields (documented choices where OpenAI and vLLM differ).
public struct RequestLimits: Sendable {
    public var maxN = 128
    public var maxLogprobs = 20
    public var maxStopStrings = 64
    public var maxStopStringLength = 1024
    public init() {}
}

/// Reads the sampling fields shared by /v1/completions and /v1/chat/completions, with vLLM's names, ranges
/// and messages, over the model's defaults. `maxTokens` is read by the caller (its name and default differ
/// per endpoint).
func parseSamplingFields(_ fields: FieldReader, engine: any ServingEngine, limits: RequestLimits) throws
    -> SamplingParams {
    var params = engine.defaultSamplingParams

    // Value ranges (temperature >= 0, top_p in (0, 1], penalties, min_tokens <= max_tokens, token ids in the
    // vocabulary, ...) have one home, the engine's SamplingParams validation, which offline `generate` runs
    // too; its EngineError becomes the 400. Here: JSON types, and limits that only the server imposes.
    if let n = try fields.int("n") {
        guard n <= limits.maxN else {
            throw APIError.badRequest("n must be at most \(limits.maxN), got \(n).", param: "n")
        }
        params.n = n
    }
    if let bestOf = try fields.int("best_of"), bestOf != params.n {
        throw APIError.badRequest("best_of is not supported (it must equal n).", param: "best_of")
    }
    if let temperature = try fields.double("temperature") { params.temperature = temperature }
    if let topP = try fields.double("top_p") { params.topP = topP }
    if let topK = try fields.int("top_k") { params.topK = topK == -1 ? 0 : topK }
    if let minP = try fields.double("min_p") { params.minP = minP }
    if let presence = try fields.double("presence_penalty") { params.presencePenalty = presence }
    if let frequency = try fields.double("frequency_penalty") { params.frequencyPenalty = frequency }
    if let repetition = try fields.double("repetition_penalty") { params.repetitionPenalty = repetition }
    if let seedValue = fields.value("seed") {
        guard case .int(let seed) = seedValue else {
            throw APIError.badRequest("seed must be an integer in [-2^63, 2^63 - 1] (greater_than_equal / less_than_equal).",
                                      param: "seed")
        }
        // vLLM treats -1 as "no seed".
        params.seed = seed == -1 ? nil : UInt64(bitPattern: seed)
    }
    if let minTokens = try fields.int("min_tokens") { params.minTokens = minTokens }
    params.ignoreEOS = try fields.bool("ignore_eos") ?? false
    params.includeStopStrInOutput = try fields.bool("include_stop_str_in_output") ?? false
    params.skipSpecialTokens = try fields.bool("skip_special_tokens") ?? true
    params.spacesBetweenSpecialTokens = try fields.bool("spaces_between_special_tokens") ?? true

    if let stop = try fields.stringOrStrings("stop") {
        guard stop.count <= limits.maxStopStrings else {
            throw APIError.badRequest("At most \(limits.maxStopStrings) stop strings are allowed, got \(stop.count).",
                                      param: "stop")
        }
        for text in stop {
            guard !text.isEmpty else { throw APIError.badRequest("stop strings must not be empty.", param: "stop") }
            guard text.count <= limits.maxStopStringLength else {
                throw APIError.badRequest("stop strings must be at most \(limits.maxStopStringLength) characters.",
                                          param: "stop")
            }
        }
        params.stop = stop
    }
    if let ids = try fields.ints("stop_token_ids") { params.stopTokenIds = ids }
    if let ids = try fields.ints("allowed_token_ids") { params.allowedTokenIds = ids }
    if let words = try fields.stringOrStrings("bad_words") {
        params.badWordsTokenIds = try badWordTokenIds(words, engine: engine)
    }
    if let bias = try fields.object("logit_bias") {
        var parsed: [Int: Double] = [:]
        for (key, value) in bias {
            guard let id = Int(key) else {
                throw APIError.badRequest("logit_bias keys must be token ids (integers as strings), got '\(key)'.",
                                          param: "logit_bias")
            }
            let amount: Double
            switch value {
            case .int(let number): amount = Double(number)
            case .double(let number): amount = number
            default:
                throw APIError.badRequest("logit_bias values must be numbers, got \(value.typeName) for '\(key)'.",
                                          param: "logit_bias")
            }
            // vLLM clamps to OpenAI's documented range instead of rejecting.
            parsed[id] = min(100, max(-100, amount))
        }
        params.logitBias = parsed
    }
    if let promptLogprobs = try fields.int("prompt_logprobs") {
        if try fields.bool("stream") == true {
            throw APIError.badRequest("`prompt_logprobs` are not available when `stream=True`.", param: "prompt_logprobs")
        }
        params.promptLogprobs = promptLogprobs
    }
    return params
}

/// `stream`, `stream_options` validation shared by both generation endpoints.
struct StreamSettings {
    var stream = false
    var includeUsage = false
    var continuousUsage = false

    init(_ fields: FieldReader) throws {
        stream = try fields.bool("stream") ?? false
        if let options = try fields.object("stream_options") {
            guard stream else {
                throw APIError.badRequest("Stream options can only be defined when `stream=True`.",
                                          param: "stream_options")
            }
            let reader = try FieldReader(object: .object(options), path: "stream_options")
            includeUsage = try reader.bool("include_usage") ?? false
            continuousUsage = try reader.bool("continuous_usage_stats") ?? false
        }
    }
}

/// Checks that the named model is served (absent or empty means the default one, like vLLM).
func resolveModelName(_ fields: FieldReader, served: [String]) throws -> String {
    let requested = try fields.string("model") ?? ""
    if requested.isEmpty { return served.first ?? "" }
    guard served.contains(requested) else { throw APIError.modelNotFound(requested) }
    return requested
}

/// `priority`: lower runs earlier (vLLM); any int64 is accepted.
func parsePriority(_ fields: FieldReader) throws -> Int {
    try fields.int("priority") ?? 0
}

/// Rejects features this server does not implement with a clear 400 instead of silently ignoring them.
func rejectUnsupported(_ fields: FieldReader) throws {
    if fields.has("response_format") {
        let format = try FieldReader(object: fields.value("response_format") ?? .null, path: "response_format")
        let type = try format.string("type")
        switch type {
        case "text": break
        case "json_object", "json_schema":
            if type == "json_schema", !format.has("json_schema") {
                throw APIError.badRequest("When response_format type is 'json_schema', the 'json_schema' field must be provided.",
                                          param: "response_format")
            }
            throw APIError.badRequest("response_format type '\(type ?? "")' (structured output) is not supported by this server.",
                                      param: "response_format")
        default:
            throw APIError.badRequest("response_format type must be one of 'text', 'json_object', 'json_schema', got \(type.map { "'\($0)'" } ?? "none").",
                                      param: "response_format")
        }
    }
    for name in ["structured_outputs", "guided_json", "guided_regex", "guided_choice", "guided_grammar"]
    where fields.has(name) {
        throw APIError.badRequest("\(name) (structured output) is not supported by this server.", param: name)
    }
    if try fields.bool("use_beam_search") == true {
        throw APIError.badRequest("Beam search is not supported by this server.", param: "use_beam_search")
    }
}

/// vLLM's bad_words tokenization: each word as written (leading spaces dropped) and, when that gives a
/// different first token of the same length, with one leading space, so the word is banned at the
/// start of the text and inside it.
func badWordTokenIds(_ words: [String], engine: any ServingEngine) throws -> [[Int]] {
    var result: [[Int]] = []
    for word in words {
        let bare = String(word.drop { $0 == " " })
        let plain = try engine.tokenize(bare, addSpecialTokens: false)
        guard !plain.isEmpty else { continue }
        result.append(plain)
        let spaced = try engine.tokenize(" " + bare, addSpecialTokens: false)
        if let first = spaced.first, first != plain[0], spaced.count == plain.count { result.append(spaced) }
    }
    return result
}
