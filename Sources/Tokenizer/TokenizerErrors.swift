import Foundation

/// Errors raised while loading a tokenizer; messages name the file and field at fault.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "TokenizerError: \(message)" }
}

/// Tokenizer metadata read from a GGUF file's `tokenizer.ggml.*` keys (filled by the engine's GGUF reader).
public struct GGUFTokenizerData: Sendable {
    public var model: String
    public var pre: String?
    public var tokens: [String]
    public var scores: [Float]?
    /// 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public var tokenTypes: [Int32]?
    public var merges: [String]?
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var unknownTokenId: Int?
    public var paddingTokenId: Int?
    public var addBosToken: Bool?
    public var addEosToken: Bool?
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece models; llama.cpp defaults it to true).
    public var addSpacePrefix: Bool?
    public var chatTemplate: String?

    public init(model: String, tokens: [String]) {
        self.model = model
        self.tokens = tokens
    }
}
