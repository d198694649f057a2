extension Tokenizer {
    /// Builds the tokenizer a GGUF file describes (`tokenizer.ggml.*`).
    public convenience init(gguf: GGUFTokenizerData) throws {
        let tokens = gguf.tokens
        guard !tokens.isEmpty else { throw TokenizerError("GGUF tokenizer.ggml.tokens is empty") }
        let types = gguf.tokenTypes ?? [Int32](repeating: 1, count: tokens.count)
        guard types.count == tokens.count else {
            throw TokenizerError("GGUF tokenizer.ggml.token_type has \(types.count) entries for \(tokens.count) tokens")
        }
        var parts: Tokenizer.Parts
        switch gguf.model {
        case "llama":
            let scores = gguf.scores ?? [Float](repeating: 0, count: tokens.count)
            guard scores.count == tokens.count else {
                throw TokenizerError("GGUF tokenizer.ggml.scores has \(scores.count) entries for \(tokens.count) tokens")
            }
            parts = SentencePieceVocabulary.parts(tokens: tokens, scores: scores, types: types, addSpacePrefix: gguf.addSpacePrefix ?? true,
                                                  bosId: gguf.bosTokenId ?? 1, eosId: gguf.eosTokenId ?? 2,
                                                  unknownId: gguf.unknownTokenId ?? 0, padId: gguf.paddingTokenId,
                                                  addBos: gguf.addBosToken ?? true, addEos: gguf.addEosToken ?? false)
        case "gpt2":
            guard let mergeLines = gguf.merges else { throw TokenizerError("GGUF model gpt2 needs tokenizer.ggml.merges") }
            var merges: [(String, String)] = []
            merges.reserveCapacity(mergeLines.count)
            for line in mergeLines {
                guard let space = line.firstIndex(of: " ") else { throw TokenizerError("GGUF merge \"\(line)\" has no space") }
                merges.append((String(line[..<space]), String(line[line.index(after: space)...])))
            }
            let vocab = tokens.enumerated().map { ($0.element, $0.offset) }
            let model = try BPEBuilder.fromMerges(vocab: vocab, merges: merges, byteLevel: true, unknownToken: nil, fuseUnknown: false,
                                                  byteFallback: false, ignoreMerges: false, source: "GGUF tokenizer.ggml.merges")
            parts = Tokenizer.Parts(model: .bpe(model), normalizer: nil, preTokenizer: try Self.ggufPreTokenizer(gguf.pre),
                                    decoder: .byteLevel, idToToken: tokens.map { Optional($0) })
            parts.addedTokens = Self.ggufAddedTokens(tokens, types)
            let bos = (gguf.addBosToken ?? false) ? gguf.bosTokenId.map { [$0] } ?? [] : []
            let eos = (gguf.addEosToken ?? false) ? gguf.eosTokenId.map { [$0] } ?? [] : []
            parts.postProcessor = .wrap(prefix: bos, suffix: eos)
        case "bert":
            // llama.cpp stores word-initial pieces as "▁piece" and continuations bare; WordPiece wants "piece" / "##piece".
            let wordPieceTokens = tokens.enumerated().map { id, token -> String in
                guard types[id] == SentencePieceVocabulary.typeNormal else { return token }
                let marker = "\u{2581}".utf8
                return token.utf8.starts(with: marker) ? String(decoding: token.utf8.dropFirst(marker.count), as: UTF8.self) : "##" + token
            }
            var table: [TokenKey: Int32] = [:]
            for (id, token) in wordPieceTokens.enumerated() where table[TokenKey(token)] == nil { table[TokenKey(token)] = Int32(id) }
            let unknownId = gguf.unknownTokenId ?? table[TokenKey("[UNK]")].map { Int($0) } ?? 100
            let model = WordPieceModel(vocab: table, unknownId: Int32(unknownId), prefix: "##", maxInputCharsPerWord: 100)
            parts = Tokenizer.Parts(model: .wordPiece(model),
                                    normalizer: .bert(cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true),
                                    preTokenizer: .bert, decoder: .wordPiece(prefix: "##", cleanup: true),
                                    idToToken: wordPieceTokens.map { Optional($0) })
            parts.addedTokens = Self.ggufAddedTokens(tokens, types)
            let clsId = gguf.bosTokenId ?? table[TokenKey("[CLS]")].map { Int($0) }
            let sepId = gguf.eosTokenId ?? table[TokenKey("[SEP]")].map { Int($0) }
            let cls = (gguf.addBosToken ?? true) ? clsId.map { [$0] } ?? [] : []
            let sep = (gguf.addEosToken ?? true) ? sepId.map { [$0] } ?? [] : []
            parts.postProcessor = .wrap(prefix: cls, suffix: sep)
        default:
            throw TokenizerError("GGUF tokenizer model \"\(gguf.model)\" is not supported (llama, gpt2 and bert are)")
        }
        parts.bosTokenId = gguf.bosTokenId.flatMap { $0 >= 0 && $0 < tokens.count ? $0 : nil }
        parts.eosTokenId = gguf.eosTokenId.flatMap { $0 >= 0 && $0 < tokens.count ? $0 : nil }
        parts.padTokenId = gguf.paddingTokenId.flatMap { $0 >= 0 && $0 < tokens.count ? $0 : nil }
        parts.chatTemplate = gguf.chatTemplate
        self.init(parts: parts)
    }

    /// Control tokens are special; user-defined tokens are matched verbatim but are not special.
    private static func ggufAddedTokens(_ tokens: [String], _ types: [Int32]) -> [AddedToken] {
        types.enumerated().compactMap { id, type in
            guard type == SentencePieceVocabulary.typeControl || type == SentencePieceVocabulary.typeUserDefined else { return nil }
            return AddedToken(content: tokens[id], id: id, special: type == SentencePieceVocabulary.typeControl)
        }
    }

    /// The split rules llama.cpp uses for each `tokenizer.ggml.pre` value, as HF pre-tokenizers.
    /// Other types with bespoke regex sets (deepseek-llm, ...) fall back to the GPT-2 rules:
    /// usually the same ids, but not guaranteed.
    static func ggufPreTokenizer(_ pre: String?) throws -> PreTokenizer {
        let byteLevelOnly = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: false)
        switch pre ?? "default" {
        case "llama3", "llama-bpe", "llama-v3", "dbrx", "smaug-bpe", "falcon3", "pixtral", "bailingmoe", "chameleon":
            return .sequence([.split(ScannedPattern(flavor: .llama3), .isolated, invert: false), byteLevelOnly])
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez":
            return .sequence([.split(ScannedPattern(flavor: .qwen2), .isolated, invert: false), byteLevelOnly])
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva":
            return .sequence([.digits(individual: true), .byteLevel(addPrefixSpace: false, useRegex: true)])
        case "falcon":
            return .sequence([.split(try KnownPattern.make(#"[\p{P}\$\+<=>\^~\|`]+"#), .isolated, invert: false),
                              .split(ScannedPattern(flavor: .gpt2), .isolated, invert: false),
                              .split(try KnownPattern.make("[0-9][0-9][0-9]"), .isolated, invert: false), byteLevelOnly])
        case "deepseek-coder":
            let patterns = ["[\r\n]", #"\s?\p{L}+"#, #"\s?\p{P}+"#, #"[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+"#, #"\p{N}"#]
            return .sequence(try patterns.map { .split(try KnownPattern.make($0), .isolated, invert: false) } + [byteLevelOnly])
        default:
            return .byteLevel(addPrefixSpace: false, useRegex: true)
        }
    }
}
