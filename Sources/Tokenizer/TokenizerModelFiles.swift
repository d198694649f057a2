import Foundation

/// Llama-3 style tokenizer.model: one `base64(token) rank` line per token.
enum TiktokenLoader {
    /// Llama-3 special tokens, appended after the ranked tokens (meta-llama/llama-models order).
    static let llama3SpecialTokens: [String] = {
        let named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                     "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>",
                     "<|eom_id|>", "<|eot_id|>", "<|python_tag|>", "<|image|>"]
        return named + (0..<(256 - named.count)).map { "<|reserved_special_token_\($0 + 2)|>" }
    }()

    static func looksLikeTiktoken(_ data: Data) -> Bool {
        guard let newline = data.firstIndex(of: 0x0A) else { return false }
        let firstLine = data[data.startIndex..<newline]
        guard let text = String(data: firstLine, encoding: .utf8) else { return false }
        let fields = text.split(separator: " ")
        return fields.count == 2 && Int(fields[1]) != nil && Data(base64Encoded: String(fields[0])) != nil
    }

    static func load(_ data: Data, path: String) throws -> Tokenizer.Parts {
        var tokens: [[UInt8]] = []
        let bytes = [UInt8](data)
        var lineStart = 0
        var lineNumber = 0
        while lineStart < bytes.count {
            var lineEnd = lineStart
            while lineEnd < bytes.count, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            lineNumber += 1
            defer { lineStart = lineEnd + 1 }
            var end = lineEnd
            if end > lineStart, bytes[end - 1] == 0x0D { end -= 1 }
            if end == lineStart { continue }
            guard let space = bytes[lineStart..<end].firstIndex(of: 0x20),
                  let rank = Int(String(decoding: bytes[(space + 1)..<end], as: UTF8.self)),
                  let token = decodeBase64(bytes[lineStart..<space]) else {
                throw TokenizerError("\(path): line \(lineNumber) is not \"base64 rank\"")
            }
            guard rank == tokens.count else { throw TokenizerError("\(path): line \(lineNumber) has rank \(rank), expected \(tokens.count)") }
            tokens.append(token)
        }
        let (model, vocab) = BPEBuilder.fromRankedBytes(tokens)
        var idToToken = [String?](repeating: nil, count: vocab.count)
        for (token, id) in vocab { idToToken[id] = token }
        let added = llama3SpecialTokens.enumerated().map { AddedToken(content: $0.element, id: tokens.count + $0.offset, special: true) }
        let bos = tokens.count
        return Tokenizer.Parts(
            model: .bpe(model), normalizer: nil,
            preTokenizer: .sequence([.split(ScannedPattern(flavor: .llama3), .isolated, invert: false),
                                     .byteLevel(addPrefixSpace: false, useRegex: false)]),
            postProcessor: .wrap(prefix: [bos], suffix: []), decoder: .byteLevel, idToToken: idToToken, addedTokens: added,
            bosToken: llama3SpecialTokens[0], eosToken: llama3SpecialTokens[1], bosTokenId: bos, eosTokenId: bos + 1)
    }
}

/// Standard base64 (with optional padding); nil on any other character.
func decodeBase64(_ text: ArraySlice<UInt8>) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(text.count * 3 / 4)
    var buffer: UInt32 = 0
    var bits = 0
    for char in text {
        let value: UInt32
        switch char {
        case 0x41...0x5A: value = UInt32(char - 0x41)
        case 0x61...0x7A: value = UInt32(char - 0x61 + 26)
        case 0x30...0x39: value = UInt32(char - 0x30 + 52)
        case 0x2B: value = 62
        case 0x2F: value = 63
        case 0x3D: continue
        default: return nil
        }
        buffer = buffer << 6 | value
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
        }
    }
    return out
}

/// SentencePiece BPE vocabularies (tokenizer.model protobuf, GGUF "llama"): pieces with scores and types.
enum SentencePieceVocabulary {
    static let typeNormal: Int32 = 1, typeUnknown: Int32 = 2, typeControl: Int32 = 3, typeUserDefined: Int32 = 4, typeByte: Int32 = 6

    static func parts(tokens: [String], scores: [Float], types: [Int32], addSpacePrefix: Bool,
                      bosId: Int?, eosId: Int?, unknownId: Int?, padId: Int?, addBos: Bool, addEos: Bool) -> Tokenizer.Parts {
        let mergeable = types.map { $0 == typeNormal || $0 == typeUserDefined }
        let unknownToken = unknownId.flatMap { $0 >= 0 && $0 < tokens.count ? tokens[$0] : nil }
        let model = BPEBuilder.fromScores(tokens: tokens, scores: scores, mergeable: mergeable, unknownToken: unknownToken)
        var added: [AddedToken] = []
        for (id, type) in types.enumerated() where type == typeControl || type == typeUserDefined || type == typeUnknown {
            added.append(AddedToken(content: tokens[id], id: id, special: type != typeUserDefined))
        }
        let space = "\u{2581}"
        var normalizers: [Normalizer] = []
        if addSpacePrefix { normalizers.append(.prepend(space)) }
        normalizers.append(.replace(LiteralPattern(needle: [0x20]), space))
        var decoders: [TokenDecoder] = [.replace(space, " "), .byteFallback, .fuse]
        if addSpacePrefix { decoders.append(.strip(content: " ", start: 1, stop: 0)) }
        func valid(_ id: Int?) -> Int? { id.flatMap { $0 >= 0 && $0 < tokens.count ? $0 : nil } }
        return Tokenizer.Parts(
            model: .bpe(model), normalizer: .sequence(normalizers), preTokenizer: nil,
            postProcessor: .wrap(prefix: addBos ? valid(bosId).map { [$0] } ?? [] : [], suffix: addEos ? valid(eosId).map { [$0] } ?? [] : []),
            decoder: .sequence(decoders), idToToken: tokens.map { Optional($0) }, addedTokens: added,
            bosTokenId: valid(bosId), eosTokenId: valid(eosId), padTokenId: valid(padId))
    }
}

/// Minimal protobuf reader for SentencePiece `ModelProto` files.
enum SentencePieceModelLoader {
    static func load(_ data: Data, path: String) throws -> Tokenizer.Parts {
        let bytes = [UInt8](data)
        var reader = ProtobufReader(bytes: bytes[...], path: path)
        var tokens: [String] = [], scores: [Float] = [], types: [Int32] = []
        var modelType = 1
        var addDummyPrefix = true
        var unknownId = 0, bosId = 1, eosId = 2, padId = -1
        while let (field, wire) = try reader.nextField() {
            switch (field, wire) {
            case (1, 2):
                var piece = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                var text = "", score: Float = 0, type: Int32 = 1
                while let (f, w) = try piece.nextField() {
                    switch (f, w) {
                    case (1, 2): text = String(decoding: try piece.lengthDelimited(), as: UTF8.self)
                    case (2, 5): score = try piece.fixed32Float()
                    case (3, 0): type = Int32(truncatingIfNeeded: try piece.varint())
                    default: try piece.skip(w)
                    }
                }
                tokens.append(text); scores.append(score); types.append(type)
            case (2, 2):
                var trainer = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                while let (f, w) = try trainer.nextField() {
                    switch (f, w) {
                    case (3, 0): modelType = Int(try trainer.varint())
                    case (40, 0): unknownId = Int(Int32(truncatingIfNeeded: try trainer.varint()))
                    case (41, 0): bosId = Int(Int32(truncatingIfNeeded: try trainer.varint()))
                    case (42, 0): eosId = Int(Int32(truncatingIfNeeded: try trainer.varint()))
                    case (43, 0): padId = Int(Int32(truncatingIfNeeded: try trainer.varint()))
                    default: try trainer.skip(w)
                    }
                }
            case (3, 2):
                var normalizer = ProtobufReader(bytes: try reader.lengthDelimited(), path: path)
                while let (f, w) = try normalizer.nextField() {
                    if f == 3, w == 0 { addDummyPrefix = try normalizer.varint() != 0 } else { try normalizer.skip(w) }
                }
            default:
                try reader.skip(wire)
            }
        }
        guard modelType == 2 else { throw TokenizerError("\(path): SentencePiece model type \(modelType) is not BPE (only BPE is supported)") }
        guard !tokens.isEmpty else { throw TokenizerError("\(path): no pieces found") }
        var parts = SentencePieceVocabulary.parts(tokens: tokens, scores: scores, types: types, addSpacePrefix: addDummyPrefix,
                                                  bosId: bosId, eosId: eosId, unknownId: unknownId, padId: padId,
                                                  addBos: true, addEos: false)
        parts.bosToken = bosId >= 0 && bosId < tokens.count ? tokens[bosId] : nil
        parts.eosToken = eosId >= 0 && eosId < tokens.count ? tokens[eosId] : nil
        return parts
    }
}

struct ProtobufReader {
    var bytes: ArraySlice<UInt8>
    let path: String

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.popFirst() {
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { break }
        }
        throw TokenizerError("\(path): truncated or malformed protobuf varint")
    }

    mutating func nextField() throws -> (Int, Int)? {
        guard !bytes.isEmpty else { return nil }
        let key = try varint()
        return (Int(key >> 3), Int(key & 7))
    }

    mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
        let length = Int(try varint())
        guard length >= 0, length <= bytes.count else { throw TokenizerError("\(path): protobuf field runs past the end") }
        let value = bytes.prefix(length)
        bytes = bytes.dropFirst(length)
        return value
    }

    mutating func fixed32Float() throws -> Float {
        guard bytes.count >= 4 else { throw TokenizerError("\(path): truncated protobuf float") }
        var raw: UInt32 = 0
        for (shift, byte) in bytes.prefix(4).enumerated() { raw |= UInt32(byte) << (8 * UInt32(shift)) }
        bytes = bytes.dropFirst(4)
        return Float(bitPattern: raw)
    }

    mutating func skip(_ wire: Int) throws {
        switch wire {
        case 0: _ = try varint()
        case 1: guard bytes.count >= 8 else { throw TokenizerError("\(path): truncated protobuf") }; bytes = bytes.dropFirst(8)
        case 2: _ = try lengthDelimited()
        case 5: guard bytes.count >= 4 else { throw TokenizerError("\(path): truncated protobuf") }; bytes = bytes.dropFirst(4)
        default: throw TokenizerError("\(path): unsupported protobuf wire type \(wire)")
        }
    }
}
