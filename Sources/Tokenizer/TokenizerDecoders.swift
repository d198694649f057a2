import Foundation

/// Turns token strings back into text (HF `decoders`); each step maps a token list to a token list.
indirect enum TokenDecoder {
    case byteLevel
    case metaspace(replacement: String, stripFirstSpace: Bool)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(String, String)
    case wordPiece(prefix: String, cleanup: Bool)
    case bpeSuffix(String)
    case sequence([TokenDecoder])

    func decode(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for token in tokens { bytes.append(contentsOf: ByteLevelTable.bytes(of: token)) }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .metaspace(replacement, stripFirstSpace):
            return tokens.enumerated().map { index, token in
                let text = replaceAll(token, replacement, " ")
                if index == 0, stripFirstSpace, text.utf8.first == 0x20 { return String(decoding: text.utf8.dropFirst(), as: UTF8.self) }
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
                var scalars = Substring(token).unicodeScalars
                var removed = 0
                while removed < start, scalars.first == content { scalars.removeFirst(); removed += 1 }
                removed = 0
                while removed < stop, scalars.last == content { scalars.removeLast(); removed += 1 }
                return String(scalars)
            }
        case let .replace(pattern, content):
            return tokens.map { replaceAll($0, pattern, content) }
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { index, token in
                var text = token
                if index != 0 {
                    if text.utf8.starts(with: prefix.utf8) {
                        text = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
                    } else {
                        text = " " + text
                    }
                }
                return cleanup ? cleanupTokenization(text) : text
            }
        case .bpeSuffix(let suffix):
            return tokens.enumerated().map { index, token in
                replaceAll(token, suffix, index == tokens.count - 1 ? "" : " ")
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
        result = replaceAll(result, from, to)
    }
    return result
}

/// Byte-exact replacement of every occurrence (Foundation's version compares canonically and
/// Character-based APIs see "#" + combining mark as one character).
func replaceAll(_ text: String, _ pattern: String, _ replacement: String) -> String {
    let needle = Array(pattern.utf8)
    guard !needle.isEmpty else { return text }
    let bytes = Array(text.utf8)
    guard bytes.count >= needle.count else { return text }
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var i = 0
    var changed = false
    while i < bytes.count {
        if bytes[i] == needle[0], i + needle.count <= bytes.count, bytes[i..<(i + needle.count)].elementsEqual(needle) {
            out.append(contentsOf: replacement.utf8)
            i += needle.count
            changed = true
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return changed ? String(decoding: out, as: UTF8.self) : text
}
