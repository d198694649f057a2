/// UTF-8 text and the byte ranges ("words") the pre-tokenizers cut it into.
struct PieceList {
    var bytes: [UInt8]
    var ranges: [Range<Int>]

    /// Applies `transform` to every piece's bytes, rebuilding the buffer.
    mutating func rewrite(_ transform: (ArraySlice<UInt8>, Int, inout [UInt8]) -> Void) {
        var newBytes: [UInt8] = []
        newBytes.reserveCapacity(bytes.count + ranges.count * 3)
        var newRanges: [Range<Int>] = []
        newRanges.reserveCapacity(ranges.count)
        for (index, range) in ranges.enumerated() {
            let start = newBytes.count
            transform(bytes[range], index, &newBytes)
            newRanges.append(start..<newBytes.count)
        }
        bytes = newBytes
        ranges = newRanges
    }
}

/// How a `Split` keeps the delimiters it finds (HF `SplitDelimiterBehavior`).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// Context a pre-tokenizer may need about the text segment it sees.
struct SegmentContext {
    /// The segment begins at the start of the input (Metaspace `prepend_scheme: first`).
    var isFirst: Bool
}

indirect enum PreTokenizer {
    case split(SplitPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: [UInt8], prependAlways: Bool, prependFirst: Bool, split: Bool)
    case digits(individual: Bool)
    case whitespace
    case whitespaceSplit
    case bert
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    /// Whether the model sees byte-level (GPT-2 mapped) input.
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let steps): return steps.contains { $0.isByteLevel }
        default: return false
        }
    }

    func apply(_ pieces: inout PieceList, _ context: SegmentContext) {
        switch self {
        case let .split(pattern, behavior, invert):
            splitPieces(&pieces, behavior: behavior, invert: invert) { bytes, range, matches in
                pattern.findMatches(bytes, range, into: &matches)
            }
        case let .byteLevel(addPrefixSpace, useRegex):
            if addPrefixSpace {
                pieces.rewrite { slice, _, out in
                    if slice.first != 0x20 { out.append(0x20) }
                    out.append(contentsOf: slice)
                }
            }
            if useRegex {
                let pattern = ScannedPattern(flavor: .gpt2)
                splitPieces(&pieces, behavior: .isolated, invert: false) { bytes, range, matches in
                    pattern.findMatches(bytes, range, into: &matches)
                }
            }
        case let .metaspace(replacement, prependAlways, prependFirst, split):
            pieces.rewrite { slice, index, out in
                let startsWithReplacement = slice.first == 0x20 || slice.starts(with: replacement)
                if !startsWithReplacement, prependAlways || (prependFirst && context.isFirst && index == 0) {
                    out.append(contentsOf: replacement)
                }
                for byte in slice {
                    if byte == 0x20 { out.append(contentsOf: replacement) } else { out.append(byte) }
                }
            }
            if split {
                let pattern = LiteralPattern(needle: replacement)
                splitPieces(&pieces, behavior: .mergedWithNext, invert: false) { bytes, range, matches in
                    pattern.findMatches(bytes, range, into: &matches)
                }
            }
        case let .digits(individual):
            splitPieces(&pieces, behavior: individual ? .isolated : .contiguous, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: individual) { Scalars.classify($0) == .number }
            }
        case .whitespace:
            // `\w+|[^\w\s]+` kept, whitespace dropped.
            splitPieces(&pieces, behavior: .removed, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: false) { Scalars.classify($0) == .whitespace }
            }
            splitPieces(&pieces, behavior: .isolated, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: false) { isWordScalar($0) }
            }
        case .whitespaceSplit:
            splitPieces(&pieces, behavior: .removed, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: false) { Scalars.classify($0) == .whitespace }
            }
        case .bert:
            splitPieces(&pieces, behavior: .removed, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: false) { Scalars.classify($0) == .whitespace }
            }
            splitPieces(&pieces, behavior: .isolated, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: true) { Scalars.isPunctuation($0) }
            }
        case let .punctuation(behavior):
            splitPieces(&pieces, behavior: behavior, invert: false) { bytes, range, matches in
                scanClass(bytes, range, into: &matches, single: true) { Scalars.isPunctuation($0) }
            }
        case .sequence(let steps):
            for step in steps { step.apply(&pieces, context) }
        }
    }
}

private func isWordScalar(_ value: UInt32) -> Bool {
    if value == 0x5F { return true }
    let cls = Scalars.classify(value)
    if cls == .letter || cls == .number { return true }
    guard let scalar = Unicode.Scalar(value) else { return false }
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .connectorPunctuation: return true
    default: return false
    }
}

/// Matches runs (or single scalars) satisfying `predicate`.
private func scanClass(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into matches: inout [Range<Int>],
                       single: Bool, _ predicate: (UInt32) -> Bool) {
    var i = range.lowerBound
    var runStart = -1
    while i < range.upperBound {
        let (value, length) = Scalars.decode(bytes, i, range.upperBound)
        if predicate(value) {
            if single {
                matches.append(i..<(i + length))
            } else if runStart < 0 {
                runStart = i
            }
        } else if runStart >= 0 {
            matches.append(runStart..<i)
            runStart = -1
        }
        i += length
    }
    if runStart >= 0 { matches.append(runStart..<range.upperBound) }
}

/// Cuts every piece at the matches `find` reports, keeping delimiters as `behavior` says.
private func splitPieces(_ pieces: inout PieceList, behavior: SplitBehavior, invert: Bool,
                         _ find: (UnsafeBufferPointer<UInt8>, Range<Int>, inout [Range<Int>]) -> Void) {
    var newRanges: [Range<Int>] = []
    newRanges.reserveCapacity(pieces.ranges.count * 2)
    var matches: [Range<Int>] = []
    pieces.bytes.withUnsafeBufferPointer { bytes in
        for range in pieces.ranges {
            matches.removeAll(keepingCapacity: true)
            find(bytes, range, &matches)
            // (segment, isDelimiter) in order, covering the piece.
            var segments: [(Range<Int>, Bool)] = []
            var cursor = range.lowerBound
            for match in matches {
                if match.lowerBound > cursor { segments.append((cursor..<match.lowerBound, invert)) }
                segments.append((match, !invert))
                cursor = match.upperBound
            }
            if cursor < range.upperBound { segments.append((cursor..<range.upperBound, invert)) }
            switch behavior {
            case .isolated:
                newRanges.append(contentsOf: segments.map { $0.0 })
            case .removed:
                newRanges.append(contentsOf: segments.filter { !$0.1 }.map { $0.0 })
            case .mergedWithPrevious:
                var current: Range<Int>? = nil
                for (segment, isDelimiter) in segments {
                    if isDelimiter {
                        if let piece = current {
                            newRanges.append(piece.lowerBound..<segment.upperBound)
                            current = nil
                        } else {
                            newRanges.append(segment)
                        }
                    } else {
                        if let piece = current { newRanges.append(piece) }
                        current = segment
                    }
                }
                if let piece = current { newRanges.append(piece) }
            case .mergedWithNext:
                var pendingStart: Int? = nil
                for (segment, isDelimiter) in segments {
                    if isDelimiter {
                        if let start = pendingStart { newRanges.append(start..<segment.lowerBound) }
                        pendingStart = segment.lowerBound
                    } else {
                        newRanges.append((pendingStart ?? segment.lowerBound)..<segment.upperBound)
                        pendingStart = nil
                    }
                }
                if let start = pendingStart { newRanges.append(start..<range.upperBound) }
            case .contiguous:
                var previousDelimiter: Range<Int>? = nil
                for (segment, isDelimiter) in segments {
                    if isDelimiter, let previous = previousDelimiter, previous.upperBound == segment.lowerBound {
                        previousDelimiter = previous.lowerBound..<segment.upperBound
                        newRanges[newRanges.count - 1] = previousDelimiter!
                    } else {
                        newRanges.append(segment)
                        previousDelimiter = isDelimiter ? segment : nil
                    }
                }
            }
        }
    }
    pieces.ranges = newRanges
}
