/// A token matched verbatim in the input before normal tokenization (HF `AddedToken`).
struct AddedToken {
    var content: String
    var id: Int
    var special: Bool
    var singleWord = false
    var lstrip = false
    var rstrip = false
    var normalized = false
}

/// Piece of the input: plain text to tokenize, or an added token.
enum InputSegment {
    case text(Range<Int>)
    case token(Int)
}

/// Splits input bytes on added tokens, leftmost-longest, honouring lstrip/rstrip/single_word.
struct AddedTokenMatcher {
    private let candidatesByFirstByte: [[(bytes: [UInt8], token: AddedToken)]]

    init(_ tokens: [AddedToken]) {
        var table = [[(bytes: [UInt8], token: AddedToken)]](repeating: [], count: 256)
        for token in tokens where !token.content.isEmpty {
            let bytes = Array(token.content.utf8)
            table[Int(bytes[0])].append((bytes, token))
        }
        for index in 0..<256 { table[index].sort { $0.bytes.count > $1.bytes.count } }
        candidatesByFirstByte = table
    }

    var isEmpty: Bool { candidatesByFirstByte.allSatisfy { $0.isEmpty } }

    func split(_ bytes: UnsafeBufferPointer<UInt8>) -> [InputSegment] {
        var segments: [InputSegment] = []
        var textStart = 0
        var position = 0
        let count = bytes.count
        while position < count {
            let candidates = candidatesByFirstByte[Int(bytes[position])]
            var matched: (token: AddedToken, end: Int)? = nil
            for candidate in candidates where position + candidate.bytes.count <= count {
                var equal = true
                for k in 1..<candidate.bytes.count where bytes[position + k] != candidate.bytes[k] {
                    equal = false
                    break
                }
                guard equal else { continue }
                let end = position + candidate.bytes.count
                if candidate.token.singleWord, !isWordBoundary(bytes, position, end) { continue }
                matched = (candidate.token, end)
                break
            }
            guard let match = matched else {
                position += 1
                continue
            }
            var start = position
            var end = match.end
            if match.token.lstrip {
                while start > textStart, let previous = previousScalar(bytes, start), previous.scalar.properties.isWhitespace {
                    start = previous.start
                }
            }
            if match.token.rstrip {
                while end < count {
                    let (value, length) = Scalars.decode(bytes, end, count)
                    guard let scalar = Unicode.Scalar(value), scalar.properties.isWhitespace else { break }
                    end += length
                }
            }
            if start > textStart { segments.append(.text(textStart..<start)) }
            segments.append(.token(match.token.id))
            textStart = end
            position = end
        }
        if textStart < count { segments.append(.text(textStart..<count)) }
        return segments
    }

    private func previousScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> (scalar: Unicode.Scalar, start: Int)? {
        var start = index - 1
        while start > 0, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0 else { return nil }
        let (value, _) = Scalars.decode(bytes, start, index)
        guard let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, start)
    }

    private func isWordBoundary(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        func isWord(_ value: UInt32) -> Bool {
            value == 0x5F || Scalars.classify(value) == .letter || Scalars.classify(value) == .number
        }
        if let previous = previousScalar(bytes, start), isWord(previous.scalar.value) { return false }
        if end < bytes.count, isWord(Scalars.decode(bytes, end, bytes.count).value) { return false }
        return true
    }
}
