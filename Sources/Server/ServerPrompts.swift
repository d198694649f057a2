import Engine
import Foundation

/// A prompt ready for the engine: its token ids and, when it came as text, the text itself (for `echo`).
struct PreparedPrompt: Sendable {
    var tokenIds: [Int]
    var text: String?
}

/// A prompt as the client sent it.
enum ClientPrompt: Sendable {
    case text(String)
    case tokenIds([Int])
}

/// A text longer than this many bytes per context token cannot fit, so it is refused before tokenizing
/// (bounds the work a huge prompt can cause; vLLM does the same with a chars-per-token bound).
let maxPromptBytesPerToken = 128

/// Parses completions' `prompt`: a string, a list of strings, a list of token ids, or a list of token-id lists.
func parseCompletionPrompts(_ fields: FieldReader) throws -> [ClientPrompt] {
    let emptyMessage = "Either prompt or prompt_embeds must be provided and non-empty."
    guard let value = fields.value("prompt") else { throw APIError.badRequest(emptyMessage, param: "prompt") }
    switch value {
    case .string(let text):
        guard !text.isEmpty else { throw APIError.badRequest(emptyMessage, param: "prompt") }
        return [.text(text)]
    case .array(let elements):
        guard let first = elements.first else { throw APIError.badRequest(emptyMessage, param: "prompt") }
        switch first {
        case .string:
            return try elements.enumerated().map { position, element in
                guard case .string(let text) = element, !text.isEmpty else {
                    throw APIError.badRequest("prompt[\(position)] must be a non-empty string.", param: "prompt")
                }
                return .text(text)
            }
        case .int, .double:
            return [.tokenIds(try elements.enumerated().map { try FieldReader.integer($1, name: "prompt[\($0)]") })]
        case .array:
            return try elements.enumerated().map { position, element in
                guard case .array(let inner) = element, !inner.isEmpty else {
                    throw APIError.badRequest("prompt[\(position)] must be a non-empty list of token ids.", param: "prompt")
                }
                return .tokenIds(try inner.enumerated().map {
                    try FieldReader.integer($1, name: "prompt[\(position)][\($0)]")
                })
            }
        default:
            throw APIError.badRequest("prompt must be a string, a list of strings, a list of token ids or a list of token-id lists.",
                                      param: "prompt")
        }
    default:
        throw APIError.badRequest("prompt must be a string, a list of strings, a list of token ids or a list of token-id lists, got \(value.typeName).",
                                  param: "prompt")
    }
}

extension ServingEngine {
    /// Tokenizes (or checks) one prompt, refusing hopelessly long texts before tokenizing them.
    func prepare(_ input: ClientPrompt, addSpecialTokens: Bool, param: String) throws -> PreparedPrompt {
        switch input {
        case .text(let text):
            let byteLimit = maxModelLen * maxPromptBytesPerToken
            guard text.utf8.count <= byteLimit else {
                throw APIError.badRequest(
                    "This model's maximum context length is \(maxModelLen) tokens. However, your prompt contains \(text.utf8.count) bytes (more than \(byteLimit), the upper bound for \(maxModelLen) input tokens). Please reduce the length of the input prompt.",
                    param: "input_text", code: "context_length_exceeded")
            }
            do {
                return PreparedPrompt(tokenIds: try tokenize(text, addSpecialTokens: addSpecialTokens), text: text)
            } catch let error as EngineError {
                throw APIError(error)
            } catch {
                throw APIError.badRequest("Could not tokenize the prompt: \(error)", param: param)
            }
        case .tokenIds(let ids):
            for id in ids where id < 0 || id >= vocabSize {
                throw APIError.badRequest("Token id \(id) is out of vocabulary (vocab size \(vocabSize)).", param: param)
            }
            return PreparedPrompt(tokenIds: ids, text: nil)
        }
    }
}

/// Applies vLLM's context-length rules and returns the effective max_tokens.
/// - requested: the client's max_tokens (nil = fill the remaining context).
func resolveMaxTokens(requested: Int?, promptLength: Int, maxModelLen: Int, param: String) throws -> Int {
    if let requested, requested < 1 {
        throw APIError.badRequest("max_tokens must be at least 1, got \(requested).", param: param)
    }
    if promptLength >= maxModelLen {
        throw APIError.badRequest(
            "This model's maximum context length is \(maxModelLen) tokens. However, your request has \(promptLength) input tokens. Please reduce the length of the input prompt.",
            param: "input_tokens", code: "context_length_exceeded")
    }
    guard let requested else { return maxModelLen - promptLength }
    if promptLength + requested > maxModelLen {
        throw APIError.badRequest(
            "This model's maximum context length is \(maxModelLen) tokens. However, you requested \(requested) output tokens and your prompt contains \(promptLength) input tokens, for a total of \(promptLength + requested) tokens. Please reduce the length of the input prompt or the number of requested output tokens.",
            param: param, code: "context_length_exceeded")
    }
    return requested
}

/// `truncate_prompt_tokens`: keep only the last k prompt tokens (-1: as many as the context allows).
func truncatePrompt(_ prompt: inout PreparedPrompt, fields: FieldReader, maxModelLen: Int) throws {
    guard let keep = try fields.int("truncate_prompt_tokens") else { return }
    guard keep >= -1 else {
        throw APIError.badRequest("truncate_prompt_tokens must be -1 or a positive integer, got \(keep).",
                                  param: "truncate_prompt_tokens")
    }
    let limit = keep == -1 ? maxModelLen - 1 : keep
    if prompt.tokenIds.count > limit {
        prompt.tokenIds = Array(prompt.tokenIds.suffix(limit))
        prompt.text = nil
    }
}
