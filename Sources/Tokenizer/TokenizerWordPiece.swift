/// WordPiece model (BERT): greedy longest-match-first with a continuation prefix.
final class WordPieceModel: @unchecked Sendable {
    let vocab: [TokenKey: Int32]
    let unknownId: Int32
    let prefix: [UInt8]
    let maxInputCharsPerWord: Int

    init(vocab: [TokenKey: Int32], unknownId: Int32, prefix: String, maxInputCharsPerWord: Int) {
        self.vocab = vocab
        self.unknownId = unknownId
        self.prefix = Array(prefix.utf8)
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    func encodeWord(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into out: inout [Int]) {
        let word = UnsafeBufferPointer(rebasing: bytes[range])
        guard !word.isEmpty else { return }
        // Scalar boundaries, so candidate pieces never split a character.
        var boundaries: [Int] = []
        var i = 0
        while i < word.count {
            boundaries.append(i)
            i += Scalars.decode(word, i, word.count).length
        }
        boundaries.append(word.count)
        if boundaries.count - 1 > maxInputCharsPerWord {
            out.append(Int(unknownId))
            return
        }
        var pieces: [Int] = []
        var startIndex = 0
        var key: [UInt8] = []
        while startIndex < boundaries.count - 1 {
            var endIndex = boundaries.count - 1
            var found: Int32? = nil
            while endIndex > startIndex {
                key.removeAll(keepingCapacity: true)
                if startIndex > 0 { key.append(contentsOf: prefix) }
                key.append(contentsOf: word[boundaries[startIndex]..<boundaries[endIndex]])
                if let id = vocab[TokenKey(key)] {
                    found = id
                    break
                }
                endIndex -= 1
            }
            guard let id = found else {
                out.append(Int(unknownId))
                return
            }
            pieces.append(Int(id))
            startIndex = endIndex
        }
        out.append(contentsOf: pieces)
    }
}
