import Foundation

/// Finds the regex matches a `Split` pre-tokenizer cuts on, as byte ranges of UTF-8 text.
protocol SplitPattern: Sendable {
    func findMatches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into matches: inout [Range<Int>])
}

enum KnownPattern {
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// A hand-written matcher for the common patterns, else a general regex.
    static func make(_ pattern: String) throws -> SplitPattern {
        switch pattern {
        case gpt2, #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#:
            return ScannedPattern(flavor: .gpt2)
        case llama3: return ScannedPattern(flavor: .llama3)
        case qwen2: return ScannedPattern(flavor: .qwen2)
        default: return try RegexPattern(pattern)
        }
    }
}

/// Hand-written equivalent of the GPT-2, Llama-3 (cl100k) and Qwen2 split regexes.
/// Every position is covered by some alternative, so matches tile the input.
struct ScannedPattern: SplitPattern {
    enum Flavor { case gpt2, llama3, qwen2 }
    let flavor: Flavor

    func findMatches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into matches: inout [Range<Int>]) {
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let next = flavor == .gpt2 ? matchGPT2(bytes, i, end) : matchLlama3(bytes, i, end, maxDigits: flavor == .llama3 ? 3 : 1)
            matches.append(i..<next)
            i = next
        }
    }

    /// Length of `'s|'t|'re|'ve|'m|'ll|'d` at `i` (0 when none).
    @inline(__always)
    private func contraction(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, caseless: Bool) -> Int {
        guard bytes[i] == 0x27, i + 1 < end else { return 0 }
        func lower(_ b: UInt8) -> UInt8 { caseless && b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
        let c1 = lower(bytes[i + 1])
        if c1 == 0x73 || c1 == 0x74 || c1 == 0x6D || c1 == 0x64 { return 2 }  // s t m d
        guard i + 2 < end else { return 0 }
        let c2 = lower(bytes[i + 2])
        if (c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6C && c2 == 0x6C) { return 3 }  // re ve ll
        return 0
    }

    /// End of the run of scalars of class `cls` starting at `i`, at most `limit` scalars.
    @inline(__always)
    private func run(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, _ cls: ScalarClass, limit: Int = .max) -> Int {
        var j = i
        var count = 0
        while j < end, count < limit {
            let (value, length) = Scalars.decode(bytes, j, end)
            if Scalars.classify(value) != cls { break }
            j += length
            count += 1
        }
        return j
    }

    /// `\s+(?!\S)|\s+` at a whitespace scalar: a run followed by non-space leaves its last scalar
    /// to the next token (unless the run is a single scalar).
    @inline(__always)
    private func whitespaceRun(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        var j = i
        var lastStart = i
        var count = 0
        while j < end {
            let (value, length) = Scalars.decode(bytes, j, end)
            if Scalars.classify(value) != .whitespace { break }
            lastStart = j
            j += length
            count += 1
        }
        if j == end || count < 2 { return j }
        return lastStart
    }

    private func matchGPT2(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let contractionLength = contraction(bytes, i, end, caseless: false)
        if contractionLength > 0 { return i + contractionLength }
        let (value, length) = Scalars.decode(bytes, i, end)
        var cls = Scalars.classify(value)
        var start = i
        if value == 0x20, i + 1 < end {
            let (nextValue, _) = Scalars.decode(bytes, i + 1, end)
            let nextClass = Scalars.classify(nextValue)
            if nextClass != .whitespace {
                cls = nextClass
                start = i + 1
            }
        } else if cls != .whitespace {
            start = i + length
        }
        switch cls {
        case .letter, .number, .other:
            return run(bytes, start, end, cls)
        case .whitespace:
            return whitespaceRun(bytes, i, end)
        }
    }

    private func matchLlama3(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int, maxDigits: Int) -> Int {
        let contractionLength = contraction(bytes, i, end, caseless: true)
        if contractionLength > 0 { return i + contractionLength }
        let (value, length) = Scalars.decode(bytes, i, end)
        let cls = Scalars.classify(value)
        if cls == .letter { return run(bytes, i + length, end, .letter) }
        let isNewline = value == 0x0A || value == 0x0D
        var nextClass: ScalarClass? = nil
        if i + length < end { nextClass = Scalars.classify(Scalars.decode(bytes, i + length, end).value) }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if cls != .number, !isNewline, nextClass == .letter { return run(bytes, i + length, end, .letter) }
        if cls == .number { return run(bytes, i, end, .number, limit: maxDigits) }
        // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
        if cls == .other || (value == 0x20 && nextClass == .other) {
            let othersStart = cls == .other ? i : i + 1
            var j = run(bytes, othersStart, end, .other)
            while j < end, bytes[j] == 0x0A || bytes[j] == 0x0D { j += 1 }
            return j
        }
        // Whitespace: `\s*[\r\n]+` ends after the run's last newline, else `\s+(?!\S)|\s+`.
        var j = i
        var lastNewlineEnd = -1
        while j < end {
            let (v, l) = Scalars.decode(bytes, j, end)
            if Scalars.classify(v) != .whitespace { break }
            if v == 0x0A || v == 0x0D { lastNewlineEnd = j + 1 }
            j += l
        }
        if lastNewlineEnd > 0 { return lastNewlineEnd }
        return whitespaceRun(bytes, i, end)
    }
}

/// General regex via NSRegularExpression (ICU supports \p{..}, lookahead and inline flags).
struct RegexPattern: SplitPattern, @unchecked Sendable {
    let regex: NSRegularExpression

    init(_ pattern: String) throws {
        do {
            regex = try NSRegularExpression(pattern: pattern, options: [])
        } catch {
            throw TokenizerError("unsupported pre-tokenizer regex \(pattern): \(error)")
        }
    }

    func findMatches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into matches: inout [Range<Int>]) {
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        let utf16 = text.utf16
        // Map UTF-16 offsets back to byte offsets.
        var byteOffsets = [Int](repeating: 0, count: utf16.count + 1)
        var unitIndex = 0
        var byteIndex = 0
        for scalar in text.unicodeScalars {
            byteOffsets[unitIndex] = byteIndex
            let units = scalar.value > 0xFFFF ? 2 : 1
            if units == 2 { byteOffsets[unitIndex + 1] = byteIndex }
            unitIndex += units
            byteIndex += UTF8.width(scalar)
        }
        byteOffsets[unitIndex] = byteIndex
        let base = range.lowerBound
        for match in regex.matches(in: text, options: [], range: NSRange(location: 0, length: utf16.count)) {
            let r = match.range
            guard r.location != NSNotFound, r.length > 0 else { continue }
            matches.append((base + byteOffsets[r.location])..<(base + byteOffsets[r.location + r.length]))
        }
    }
}

/// Literal string delimiter (`Split` with `{"String": ...}`).
struct LiteralPattern: SplitPattern {
    let needle: [UInt8]

    func findMatches(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into matches: inout [Range<Int>]) {
        guard !needle.isEmpty else { return }
        var i = range.lowerBound
        while i + needle.count <= range.upperBound {
            var equal = true
            for k in 0..<needle.count where bytes[i + k] != needle[k] { equal = false; break }
            if equal {
                matches.append(i..<(i + needle.count))
                i += needle.count
            } else {
                i += 1
            }
        }
    }
}
