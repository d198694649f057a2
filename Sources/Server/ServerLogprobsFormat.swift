import JSON
import Engine
import Foundation

/// Completions-style logprobs: four parallel arrays (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`).
/// Offsets count characters from the start of the returned text and continue across streamed chunks.
struct CompletionLogprobsBuilder {
    private(set) var tokens: [JSONValue] = []
    private(set) var tokenLogprobs: [JSONValue] = []
    private(set) var topLogprobs: [JSONValue] = []
    private(set) var textOffsets: [JSONValue] = []
    /// Character offset where the next token starts.
    var offset: Int

    init(startOffset: Int = 0) { offset = startOffset }

    var isEmpty: Bool { tokens.isEmpty }

    /// Prompt tokens for `echo`; the first token has no logprob (null), like vLLM and OpenAI.
    mutating func appendPrompt(tokenIds: [Int], entries: [PositionLogprobs?]?, firstTokenString: String?, topCount: Int) {
        for (position, _) in tokenIds.enumerated() {
            let entry = entries.flatMap { position < $0.count ? $0[position] : nil }
            if let entry {
                append(entry, topCount: topCount)
            } else {
                let token = position == 0 ? (firstTokenString ?? "") : ""
                appendRaw(token: token, logprob: .null, top: .null)
            }
        }
    }

    mutating func append(_ entry: PositionLogprobs, topCount: Int) {
        // A dict keyed by token text: duplicates collapse, the sampled token is always present.
        var top: [(String, JSONValue)] = [(entry.chosen.token, .number(entry.chosen.logprob))]
        for candidate in entry.top.prefix(topCount) where !top.contains(where: { $0.0 == candidate.token }) {
            top.append((candidate.token, .number(candidate.logprob)))
        }
        appendRaw(token: entry.chosen.token, logprob: .number(entry.chosen.logprob), top: .object(top))
    }

    private mutating func appendRaw(token: String, logprob: JSONValue, top: JSONValue) {
        tokens.append(.string(token))
        tokenLogprobs.append(logprob)
        topLogprobs.append(top)
        textOffsets.append(.number(offset))
        offset += token.unicodeScalars.count
    }

    /// Emits the accumulated arrays and starts a new chunk (offsets keep counting).
    mutating func take() -> JSONValue {
        let json = self.json
        tokens = []
        tokenLogprobs = []
        topLogprobs = []
        textOffsets = []
        return json
    }

    var json: JSONValue {
        .object([("text_offset", .array(textOffsets)), ("token_logprobs", .array(tokenLogprobs)),
                 ("tokens", .array(tokens)), ("top_logprobs", .array(topLogprobs))])
    }
}

/// Chat-style logprobs: `{"content": [{token, logprob, bytes, top_logprobs: [{token, logprob, bytes}]}]}`.
func chatLogprobsJSON(_ entries: [PositionLogprobs], topCount: Int) -> JSONValue {
    func bytes(_ token: String) -> JSONValue { .array(Array(token.utf8).map { .number(Int($0)) }) }
    let content: [JSONValue] = entries.map { entry in
        let top: [JSONValue] = entry.top.prefix(topCount).map { candidate in
            .object([("token", .string(candidate.token)), ("logprob", .number(candidate.logprob)),
                     ("bytes", bytes(candidate.token))])
        }
        return .object([("token", .string(entry.chosen.token)), ("logprob", .number(entry.chosen.logprob)),
                        ("bytes", bytes(entry.chosen.token)), ("top_logprobs", .array(top))])
    }
    return .object([("content", .array(content)), ("refusal", .null)])
}

/// vLLM's `prompt_logprobs` response field: one dict per prompt position (first null), keyed by token id.
func promptLogprobsJSON(_ entries: [PositionLogprobs?]?) -> JSONValue {
    guard let entries else { return .null }
    return .array(entries.map { entry in
        guard let entry else { return .null }
        var members: [(String, JSONValue)] = []
        func add(_ candidate: LogprobCandidate, rank: Int?) {
            guard !members.contains(where: { $0.0 == String(candidate.tokenId) }) else { return }
            members.append((String(candidate.tokenId), .object([
                ("logprob", .number(candidate.logprob)), ("rank", .optional(rank)),
                ("decoded_token", .string(candidate.token)),
            ])))
        }
        add(entry.chosen, rank: nil)
        for (position, candidate) in entry.top.enumerated() { add(candidate, rank: position + 1) }
        return .object(members)
    })
}
