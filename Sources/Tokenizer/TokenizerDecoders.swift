import Foundation

/// Turns token strings back into text (HF `decoders`); each step maps a token list to a token list.
indirect enum Decoder {
    case byteLevel
    case metaspace(replacement: String, stripFirstSpace: Bool)
    case byteFallback
    case fuse
    case strip(content: Character, start: Int, stop: Int)
    case replace(String, String)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpeSuffix(String)
    case sequence([Decoder])

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens {
                if let raw = ByteLevelTable.decode(token) { bytes.append(contentsOf: raw) } else { bytes.append(contentsOf: token.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(replacement, stripFirstSpace):
            return tokens.enumerated().map { index, token in
                var text = token.replacingOccurrences(of: replacement, with: " ")
                if index == 0, stripFirstSpace, text.hasPrefix(" ") { text.removeFirst() }
                return text
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            var pendingCount = 0
            func flush() {
                guard pendingCount > 0 else { return }
                if let text = String(validating: pending, as: UTF8.self) {
                    out.append(text)
                } else {
                    out.append(contentsOf: repeatElement("\u{FFFD}", count: pendingCount))
                }
                pending.removeAll()
                pendingCount = 0
            }
            for token in tokens {
                if let byte = parseByteToken(token) {
                    pending.append(byte)
                    pendingCount += 1
                } else {
                    flush()
                    out.append(token)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { token in
                var characters = Substring(token)
                var removed = 0
                while removed < start, characters.first == content { characters.removeFirst(); removed += 1 }
                removed = 0
                while removed < stop, characters.last == content { characters.removeLast(); removed += 1 }
                return String(characters)
            }
        case let .replace(pattern, content):
            return tokens.map { $0.replacingOccurrences(of: pattern, with: content) }
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { index, token in
                var text = token
                if index != 0 {
                    if text.hasPrefix(prefix) { text.removeFirst(prefix.count) } else { text = " " + text }
                }
                return cleanup ? cleanupTokenization(text) : text
            }
        case .bpeSuffix(let suffix):
            return tokens.enumerated().map { index, token in
                token.replacingOccurrences(of: suffix, with: index == tokens.count - 1 ? "" : " ")
            }
        case .sequence(let steps):
            return steps.reduce(tokens) { $1.decode($0) }
        }
    }
}

/// HF `cleanup` of WordPiece output: glue punctuation and contractions back.
func cleanupTokenization(_ text: String) -> String {
    var result = text
    for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        result = result.replacingOccurrences(of: from, with: to)
    }
    return result
}
