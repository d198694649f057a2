import Foundation

/// A text <-> token-id codec matching Hugging Face `tokenizers`. Immutable after load, so one
/// instance may be shared by all threads.
public final class Tokenizer: @unchecked Sendable {
    enum Model {
        case bpe(BPEModel)
        case wordPiece(WordPieceModel)
    }

    /// Everything a loader assembles; the tokenizer is a frozen copy of it.
    struct Parts {
        var model: Model
        var normalizer: Normalizer?
        var preTokenizer: PreTokenizer?
        var postProcessor: PostProcessor = .none
        var decoder: TokenDecoder?
        var idToToken: [String?]
        var addedTokens: [AddedToken] = []
        var bosToken: String?
        var eosToken: String?
        var padToken: String?
        var bosTokenId: Int?
        var eosTokenId: Int?
        var padTokenId: Int?
        var chatTemplate: String?
        var namedChatTemplates: [String: String] = [:]
    }

    private let model: Model
    private let normalizer: Normalizer?
    private let preTokenizer: PreTokenizer?
    private let postProcessor: PostProcessor
    private let decoder: TokenDecoder?
    private let idToToken: [String?]
    private let tokenBytesLock = NSLock()
    private var builtTokenBytes: TokenByteTable?
    private let tokenToId: ByteStringIndex
    private let specialIds: Set<Int>
    /// Added tokens matched on the raw input.
    private let addedTokenMatcher: AddedTokenMatcher
    private let hasAddedTokens: Bool
    /// Added tokens with `normalized: true`: HF matches them on the normalized text instead.
    private let normalizedTokenMatcher: AddedTokenMatcher?

    public let vocabSize: Int
    public let bosTokenId: Int?
    public let eosTokenId: Int?
    public let padTokenId: Int?
    public let bosToken: String?
    public let eosToken: String?
    public let addBosToken: Bool
    public let chatTemplate: String?
    public let namedChatTemplates: [String: String]

    init(parts: Parts) {
        model = parts.model
        normalizer = parts.normalizer
        preTokenizer = parts.preTokenizer
        postProcessor = parts.postProcessor
        decoder = parts.decoder
        var table = parts.idToToken
        for token in parts.addedTokens {
            if token.id >= table.count { table.append(contentsOf: repeatElement(nil, count: token.id - table.count + 1)) }
            // HF's id -> token map holds a normalized token's normalized text (what decoders see).
            if token.normalized, let normalizer = parts.normalizer {
                table[token.id] = normalizer.apply(token.content)
            } else {
                table[token.id] = token.content
            }
        }
        idToToken = table
        // Added tokens first so they win over a same-spelled model token.
        var lookup = ByteStringIndex(expectedCount: table.count)
        for token in parts.addedTokens { lookup.insert(token.content.utf8, id: Int32(token.id)) }
        for (id, token) in table.enumerated() {
            if let token { lookup.insert(token.utf8, id: Int32(id)) }
        }
        tokenToId = lookup
        specialIds = Set(parts.addedTokens.filter { $0.special }.map { $0.id })
        let matchNormalized = parts.normalizer != nil
        let rawTokens = parts.addedTokens.filter { !(matchNormalized && $0.normalized) }
        // HF also normalizes these tokens' own text (a Prepend normalizer makes "<pad>" match "▁<pad>").
        let normalizedTokens = parts.addedTokens.filter { matchNormalized && $0.normalized }.map { token -> AddedToken in
            var copy = token
            if let normalizer = parts.normalizer { copy.content = normalizer.apply(token.content) }
            return copy
        }
        addedTokenMatcher = AddedTokenMatcher(rawTokens)
        hasAddedTokens = !rawTokens.isEmpty
        normalizedTokenMatcher = normalizedTokens.isEmpty ? nil : AddedTokenMatcher(normalizedTokens)
        vocabSize = table.count

        func resolve(_ token: String?, _ id: Int?) -> (String?, Int?) {
            if let id, id >= 0, id < table.count { return (token ?? table[id], id) }
            if let token, let found = lookup.lookup(token) { return (token, Int(found)) }
            return (token, nil)
        }
        (bosToken, bosTokenId) = resolve(parts.bosToken, parts.bosTokenId)
        (eosToken, eosTokenId) = resolve(parts.eosToken, parts.eosTokenId)
        padTokenId = resolve(parts.padToken, parts.padTokenId).1
        let probe = parts.postProcessor.apply([])
        addBosToken = bosTokenId != nil && probe.first == bosTokenId
        chatTemplate = parts.chatTemplate
        namedChatTemplates = parts.namedChatTemplates
    }

    // MARK: Encoding

    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        var ids: [Int] = []
        ids.reserveCapacity(text.utf8.count / 3 + 4)
        var scratch = BPEScratch()
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBufferPointer { mutableBuffer in
            let buffer = UnsafeBufferPointer(mutableBuffer)
            if !hasAddedTokens {
                if !buffer.isEmpty { encodeText(buffer, 0..<buffer.count, &scratch, &ids) }
                return
            }
            for segment in addedTokenMatcher.split(buffer) {
                switch segment {
                case .token(let id): ids.append(id)
                case .text(let range): encodeText(buffer, range, &scratch, &ids)
                }
            }
        }
        return addSpecialTokens ? postProcessor.apply(ids) : ids
    }

    /// Normalize, pre-tokenize and run the model over one segment between added tokens.
    private func encodeText(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>,
                            _ scratch: inout BPEScratch, _ ids: inout [Int]) {
        var segmentBytes: [UInt8]
        if let normalizer {
            let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self)
            segmentBytes = Array(normalizer.apply(text).utf8)
        } else {
            segmentBytes = Array(buffer[range])
        }
        guard let normalizedTokenMatcher else {
            encodeNormalized(segmentBytes, 0..<segmentBytes.count, isFirst: range.lowerBound == 0, &scratch, &ids)
            return
        }
        let segments = segmentBytes.withUnsafeBufferPointer { normalizedTokenMatcher.split($0) }
        for segment in segments {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let piece):
                encodeNormalized(segmentBytes, piece, isFirst: range.lowerBound == 0 && piece.lowerBound == 0, &scratch, &ids)
            }
        }
    }

    /// Pre-tokenize and run the model over normalized text.
    private func encodeNormalized(_ normalized: [UInt8], _ range: Range<Int>, isFirst: Bool,
                                  _ scratch: inout BPEScratch, _ ids: inout [Int]) {
        var pieces = PieceList(bytes: range.count == normalized.count ? normalized : Array(normalized[range]),
                               ranges: [0..<range.count])
        preTokenizer?.apply(&pieces, SegmentContext(isFirst: isFirst))
        pieces.bytes.withUnsafeBufferPointer { bytes in
            switch model {
            case .bpe(let bpe):
                for piece in pieces.ranges { bpe.encodeWord(bytes, piece, scratch: &scratch, into: &ids) }
            case .wordPiece(let wordPiece):
                for piece in pieces.ranges { wordPiece.encodeWord(bytes, piece, into: &ids) }
            }
        }
    }

    // MARK: Decoding

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            if skipSpecialTokens && specialIds.contains(id) { continue }
            if let token = token(forId: id) { tokens.append(token) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decode(tokens).joined()
    }

    /// Each token's bytes when the decoder is plain byte-level (GPT-2 style): a text is then the
    /// concatenation of its tokens' bytes, and a stream can be decoded token by token instead of
    /// re-decoding a window (see IncrementalDetokenizer). nil for decoders that look at neighbouring
    /// tokens. Built on first use, since only streaming needs it.
    var tokenBytes: TokenByteTable? {
        tokenBytesLock.lock()
        defer { tokenBytesLock.unlock() }
        if let built = builtTokenBytes { return built }
        guard decodesBytesPerToken else { return nil }
        let table = TokenByteTable(idToToken.map { token in token.map(ByteLevelTable.bytes(of:)) ?? [] })
        builtTokenBytes = table
        return table
    }

    /// Builds what streaming detokenization needs now (the byte table, ~25-40 ms for a 150k
    /// vocabulary), so that the first streamed request does not pay for it.
    public func prepareStreaming() { _ = tokenBytes }

    private var decodesBytesPerToken: Bool {
        switch decoder {
        case .byteLevel?: return true
        case .sequence(let steps)? where steps.count == 1:
            if case .byteLevel = steps[0] { return true }
            return false
        default: return false
        }
    }

    // MARK: Vocabulary

    public func token(forId id: Int) -> String? {
        guard id >= 0, id < idToToken.count else { return nil }
        return idToToken[id]
    }

    public func id(forToken token: String) -> Int? { tokenToId.lookup(token).map { Int($0) } }

    public func isSpecial(_ id: Int) -> Bool { specialIds.contains(id) }
}
