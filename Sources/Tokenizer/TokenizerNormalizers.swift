import Foundation

/// Text normalizers applied to each segment before pre-tokenization (HF `normalizers`).
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case strip(left: Bool, right: Bool)
    case replace(SplitPattern, String)
    case prepend(String)
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case sequence([Normalizer])

    func apply(_ text: String) -> String {
        switch self {
        case .nfc:
            // Scalars below U+0300 (lead bytes < 0xCC) are never changed by NFC: skip the costly call.
            if !text.utf8.contains(where: { $0 >= 0xCC }) { return text }
            return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case .stripAccents: return removeMarks(text, decomposeFirst: false, allMarks: true)
        case let .strip(left, right):
            var scalars = Substring(text).unicodeScalars[...]
            while left, let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
            while right, let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
            return String(String.UnicodeScalarView(scalars))
        case let .replace(pattern, content):
            var bytes = Array(text.utf8)
            var matches: [Range<Int>] = []
            bytes.withUnsafeBufferPointer { pattern.findMatches($0, 0..<$0.count, into: &matches) }
            guard !matches.isEmpty else { return text }
            var out: [UInt8] = []
            var cursor = 0
            for match in matches {
                out.append(contentsOf: bytes[cursor..<match.lowerBound])
                out.append(contentsOf: content.utf8)
                cursor = match.upperBound
            }
            out.append(contentsOf: bytes[cursor...])
            bytes = out
            return String(decoding: bytes, as: UTF8.self)
        case .prepend(let prefix):
            return text.isEmpty ? text : prefix + text
        case let .bert(cleanText, handleChineseChars, stripAccents, lowercase):
            var out = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                let value = scalar.value
                if cleanText {
                    if value == 0 || value == 0xFFFD || isControl(scalar) { continue }
                    if scalar.properties.isWhitespace { out.append(" "); continue }
                }
                if handleChineseChars && isChineseChar(value) {
                    out.append(" "); out.append(scalar); out.append(" ")
                } else {
                    out.append(scalar)
                }
            }
            var result = String(out)
            if stripAccents { result = removeMarks(result, decomposeFirst: true, allMarks: false) }
            if lowercase { result = result.lowercased() }
            return result
        case .sequence(let steps):
            return steps.reduce(text) { $1.apply($0) }
        }
    }
}

/// HF's `StripAccents` drops every combining mark (Mn, Mc, Me) without decomposing;
/// `BertNormalizer` decomposes (NFD) and drops nonspacing marks only.
private func removeMarks(_ text: String, decomposeFirst: Bool, allMarks: Bool) -> String {
    var out = String.UnicodeScalarView()
    for scalar in (decomposeFirst ? text.decomposedStringWithCanonicalMapping : text).unicodeScalars {
        switch scalar.properties.generalCategory {
        case .nonspacingMark: continue
        case .spacingMark, .enclosingMark: if allMarks { continue }
        default: break
        }
        out.append(scalar)
    }
    return String(out)
}

private func isControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .privateUse, .surrogate, .unassigned: return true
    default: return false
    }
}

private func isChineseChar(_ value: UInt32) -> Bool {
    (0x4E00...0x9FFF).contains(value) || (0x3400...0x4DBF).contains(value) || (0x20000...0x2A6DF).contains(value)
        || (0x2A700...0x2B73F).contains(value) || (0x2B740...0x2B81F).contains(value) || (0x2B820...0x2CEAF).contains(value)
        || (0xF900...0xFAFF).contains(value) || (0x2F800...0x2FA1F).contains(value)
}
