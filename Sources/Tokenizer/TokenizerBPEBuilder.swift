/// Assembles `BPEModel`s from the three ways vocabularies describe merges.
enum BPEBuilder {
    @inline(__always)
    static func pairKey(_ left: Int, _ right: Int) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    /// Merges listed in priority order (tokenizer.json, merges.txt, GGUF tokenizer.ggml.merges).
    static func fromMerges(vocab: [(String, Int)], merges: [(String, String)], byteLevel: Bool, unknownToken: String?,
                           fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, source: String) throws -> BPEModel {
        var lookup: [TokenKey: Int] = [:]
        lookup.reserveCapacity(vocab.count)
        for (token, id) in vocab { lookup[TokenKey(token)] = id }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftId = lookup[TokenKey(left)], let rightId = lookup[TokenKey(right)],
                  let mergedId = lookup[TokenKey(Array(left.utf8) + Array(right.utf8))] else {
                throw TokenizerError("\(source): merge \"\(left) \(right)\" uses a token missing from the vocabulary")
            }
            let key = pairKey(leftId, rightId)
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(mergedId) }
        }
        var wholeWords: [TokenKey: Int32]? = nil
        if ignoreMerges {
            var words: [TokenKey: Int32] = [:]
            for (token, id) in vocab {
                if byteLevel {
                    if let raw = ByteLevelTable.decode(token) { words[TokenKey(raw)] = Int32(id) }
                } else {
                    words[TokenKey(token)] = Int32(id)
                }
            }
            wholeWords = words
        }
        return make(lookup: lookup, vocab: vocab, merges: table, byteLevel: byteLevel, unknownToken: unknownToken,
                    fuseUnknown: fuseUnknown, byteFallback: byteFallback, wholeWords: wholeWords)
    }

    /// tiktoken: tokens are raw byte strings whose rank is their id; any two adjacent symbols whose
    /// concatenation is a token merge, lowest rank first.
    static func fromRankedBytes(_ tokens: [[UInt8]]) -> (model: BPEModel, vocab: [(String, Int)]) {
        var rawLookup: [TokenKey: Int32] = [:]
        rawLookup.reserveCapacity(tokens.count)
        for (id, bytes) in tokens.enumerated() { rawLookup[TokenKey(bytes)] = Int32(id) }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(tokens.count * 2)
        for (id, bytes) in tokens.enumerated() where bytes.count >= 2 {
            for cut in 1..<bytes.count {
                guard let left = rawLookup[TokenKey(slice: bytes[..<cut])],
                      let right = rawLookup[TokenKey(slice: bytes[cut...])] else { continue }
                table[pairKey(Int(left), Int(right))] = UInt64(id) << 32 | UInt64(id)
            }
        }
        let vocab = tokens.enumerated().map { (String(decoding: ByteLevelTable.encode($0.element), as: UTF8.self), $0.offset) }
        var lookup: [TokenKey: Int] = [:]
        for (token, id) in vocab { lookup[TokenKey(token)] = id }
        let model = make(lookup: lookup, vocab: vocab, merges: table, byteLevel: true, unknownToken: nil,
                         fuseUnknown: false, byteFallback: false, wholeWords: rawLookup)
        return (model, vocab)
    }

    /// SentencePiece BPE (GGUF "llama", tokenizer.model): the pair whose concatenation is the
    /// highest-scoring token merges first (leftmost on equal scores), like llama.cpp's SPM tokenizer.
    static func fromScores(tokens: [String], scores: [Float], mergeable: [Bool], unknownToken: String?) -> BPEModel {
        var lookup: [TokenKey: Int] = [:]
        lookup.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where lookup[TokenKey(token)] == nil { lookup[TokenKey(token)] = id }
        let distinctScores = Array(Set(scores)).sorted(by: >)
        var rankOfScore: [Float: Int] = [:]
        for (rank, score) in distinctScores.enumerated() { rankOfScore[score] = rank }
        var table: [UInt64: UInt64] = [:]
        for (id, token) in tokens.enumerated() where mergeable[id] {
            let bytes = Array(token.utf8)
            guard bytes.count >= 2 else { continue }
            let rank = UInt64(rankOfScore[scores[id]] ?? distinctScores.count)
            var cut = Scalars.sequenceLength(bytes[0])
            while cut < bytes.count {
                if let left = lookup[TokenKey(slice: bytes[..<cut])], let right = lookup[TokenKey(slice: bytes[cut...])],
                   mergeable[left], mergeable[right] {
                    let key = pairKey(left, right)
                    if table[key] == nil { table[key] = rank << 32 | UInt64(id) }
                }
                cut += Scalars.sequenceLength(bytes[cut])
            }
        }
        let vocab = tokens.enumerated().map { ($0.element, $0.offset) }
        return make(lookup: lookup, vocab: vocab, merges: table, byteLevel: false, unknownToken: unknownToken,
                    fuseUnknown: true, byteFallback: true, wholeWords: nil)
    }

    private static func make(lookup: [TokenKey: Int], vocab: [(String, Int)], merges: [UInt64: UInt64], byteLevel: Bool,
                             unknownToken: String?, fuseUnknown: Bool, byteFallback: Bool, wholeWords: [TokenKey: Int32]?) -> BPEModel {
        var byteIds = [Int32](repeating: -1, count: 256)
        var scalarIds: [UInt32: Int32] = [:]
        if byteLevel {
            for byte in 0..<256 {
                guard let scalar = Unicode.Scalar(ByteLevelTable.byteToScalar[byte]) else { continue }
                if let id = lookup[TokenKey(String(Character(scalar)))] { byteIds[byte] = Int32(id) }
            }
        } else {
            for (token, id) in vocab {
                if let byte = parseByteToken(token) { byteIds[Int(byte)] = Int32(id) }
                let scalars = token.unicodeScalars
                if scalars.count == 1, let scalar = scalars.first, scalarIds[scalar.value] == nil {
                    scalarIds[scalar.value] = Int32(id)
                }
            }
        }
        let unknownId = unknownToken.flatMap { lookup[TokenKey($0)] }.map { Int32($0) }
        return BPEModel(merges: merges, byteLevel: byteLevel, byteIds: byteIds, scalarIds: scalarIds,
                        unknownId: unknownId, fuseUnknown: fuseUnknown, byteFallback: byteFallback, wholeWordIds: wholeWords)
    }
}
