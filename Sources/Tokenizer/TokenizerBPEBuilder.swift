/// Assembles `BPEModel`s from the three ways vocabularies describe merges.
enum BPEBuilder {
    @inline(__always)
    static func pairKey(_ left: Int, _ right: Int) -> UInt64 { UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)) }

    static func index(_ vocab: [(String, Int)]) -> ByteStringIndex {
        var index = ByteStringIndex(expectedCount: vocab.count)
        for (token, id) in vocab { index.insert(token.utf8, id: Int32(id)) }
        return index
    }

    /// Merges listed in priority order (tokenizer.json, merges.txt, GGUF tokenizer.ggml.merges).
    static func fromMerges(vocab: [(String, Int)], merges: [(String, String)], byteLevel: Bool, unknownToken: String?,
                           fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, source: String) throws -> BPEModel {
        let lookup = index(vocab)
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let leftId = lookup.lookup(left), let rightId = lookup.lookup(right),
                  let mergedId = lookup.lookup(left, right) else {
                throw TokenizerError("\(source): merge \"\(left) \(right)\" uses a token missing from the vocabulary")
            }
            let key = pairKey(Int(leftId), Int(rightId))
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(mergedId) }
        }
        var wholeWords: ByteStringIndex? = nil
        if ignoreMerges {
            var words = ByteStringIndex(expectedCount: vocab.count)
            for (token, id) in vocab {
                if byteLevel {
                    if let raw = ByteLevelTable.decode(token) { words.insert(raw, id: Int32(id)) }
                } else {
                    words.insert(token.utf8, id: Int32(id))
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
        var rawLookup = ByteStringIndex(expectedCount: tokens.count)
        for (id, bytes) in tokens.enumerated() { rawLookup.insert(bytes, id: Int32(id)) }
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(tokens.count * 2)
        for (id, bytes) in tokens.enumerated() where bytes.count >= 2 {
            bytes.withUnsafeBufferPointer { buffer in
                for cut in 1..<buffer.count {
                    guard let left = rawLookup.lookup(UnsafeBufferPointer(rebasing: buffer[..<cut])),
                          let right = rawLookup.lookup(UnsafeBufferPointer(rebasing: buffer[cut...])) else { continue }
                    table[pairKey(Int(left), Int(right))] = UInt64(id) << 32 | UInt64(id)
                }
            }
        }
        let vocab = tokens.enumerated().map { (String(decoding: ByteLevelTable.encode($0.element), as: UTF8.self), $0.offset) }
        let model = make(lookup: index(vocab), vocab: vocab, merges: table, byteLevel: true, unknownToken: nil,
                         fuseUnknown: false, byteFallback: false, wholeWords: rawLookup)
        return (model, vocab)
    }

    /// SentencePiece BPE (GGUF "llama", tokenizer.model): the pair whose concatenation is the
    /// highest-scoring token merges first (leftmost on equal scores), like llama.cpp's SPM tokenizer.
    static func fromScores(tokens: [String], scores: [Float], mergeable: [Bool], unknownToken: String?) -> BPEModel {
        let vocab = tokens.enumerated().map { ($0.element, $0.offset) }
        let lookup = index(vocab)
        let distinctScores = Array(Set(scores)).sorted(by: >)
        var rankOfScore: [Float: Int] = [:]
        for (rank, score) in distinctScores.enumerated() { rankOfScore[score] = rank }
        var table: [UInt64: UInt64] = [:]
        for (id, token) in tokens.enumerated() where mergeable[id] {
            let bytes = Array(token.utf8)
            guard bytes.count >= 2 else { continue }
            let rank = UInt64(rankOfScore[scores[id]] ?? distinctScores.count)
            bytes.withUnsafeBufferPointer { buffer in
                var cut = Scalars.sequenceLength(buffer[0])
                while cut < buffer.count {
                    if let left = lookup.lookup(UnsafeBufferPointer(rebasing: buffer[..<cut])),
                       let right = lookup.lookup(UnsafeBufferPointer(rebasing: buffer[cut...])),
                       mergeable[Int(left)], mergeable[Int(right)] {
                        let key = pairKey(Int(left), Int(right))
                        if table[key] == nil { table[key] = rank << 32 | UInt64(id) }
                    }
                    cut += Scalars.sequenceLength(buffer[cut])
                }
            }
        }
        return make(lookup: lookup, vocab: vocab, merges: table, byteLevel: false, unknownToken: unknownToken,
                    fuseUnknown: true, byteFallback: true, wholeWords: nil)
    }

    private static func make(lookup: ByteStringIndex, vocab: [(String, Int)], merges: [UInt64: UInt64], byteLevel: Bool,
                             unknownToken: String?, fuseUnknown: Bool, byteFallback: Bool, wholeWords: ByteStringIndex?) -> BPEModel {
        var byteIds = [Int32](repeating: -1, count: 256)
        var scalarIds: [UInt32: Int32] = [:]
        if byteLevel {
            for byte in 0..<256 {
                guard let scalar = Unicode.Scalar(ByteLevelTable.byteToScalar[byte]) else { continue }
                if let id = lookup.lookup(String(Character(scalar))) { byteIds[byte] = id }
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
        let unknownId = unknownToken.flatMap { lookup.lookup($0) }
        return BPEModel(merges: merges, byteLevel: byteLevel, byteIds: byteIds, scalarIds: scalarIds,
                        unknownId: unknownId, fuseUnknown: fuseUnknown, byteFallback: byteFallback, wholeWordIds: wholeWords)
    }
}
