/// Streaming detokenizer: feed generated ids one at a time and get only complete UTF-8 text.
/// Decodes a short window (prefix tokens + new tokens) and emits the difference, the way vLLM
/// does, so decoders that look at neighbouring tokens (leading-space stripping, byte fallback)
/// give the same text as decoding everything at once.
public struct IncrementalDetokenizer {
    private let tokenizer: Tokenizer
    private let skipSpecialTokens: Bool
    private var ids: [Int]
    private var prefixOffset: Int
    private var readOffset: Int
    public private(set) var text: String = ""
    /// Byte-level tokenizers decode token by token: their text is the concatenation of each token's
    /// bytes, so the bytes not yet emitted are all the state needed, and a step allocates nothing
    /// once these buffers have grown (deltas of up to 15 bytes are stored inline in the String).
    private let tokenBytes: TokenByteTable?
    private var unemitted: [UInt8] = []

    /// Whether ids are decoded token by token (byte-level decoder) rather than by re-decoding a window.
    var decodesTokenByToken: Bool { tokenBytes != nil }

    /// `spacesBetweenSpecialTokens` is accepted for API parity; like HF fast tokenizers, special
    /// tokens are decoded by the tokenizer's own decoder.
    public init(tokenizer: Tokenizer, promptTokenIds: [Int] = [], skipSpecialTokens: Bool = true,
                spacesBetweenSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        // A few prompt tokens give the first generated token its left context.
        let context = promptTokenIds.suffix(5)
        ids = Array(context)
        prefixOffset = 0
        readOffset = ids.count
        tokenBytes = tokenizer.tokenBytes
        if tokenBytes != nil { unemitted.reserveCapacity(64) }
    }

    public mutating func append(_ id: Int) -> String {
        if let tokenBytes { return appendBytes(of: id, tokenBytes) }
        ids.append(id)
        let prefixText = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let fullText = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        // A trailing U+FFFD means a multi-byte character is still incomplete: wait for more ids.
        guard fullText.unicodeScalars.count > prefixText.unicodeScalars.count, fullText.unicodeScalars.last != "\u{FFFD}" else {
            return ""
        }
        let delta = String(fullText.unicodeScalars.dropFirst(prefixText.unicodeScalars.count))
        prefixOffset = readOffset
        readOffset = ids.count
        compact()
        text += delta
        return delta
    }

    /// Same contract as the window decode: text is emitted once it does not end in U+FFFD (an
    /// incomplete character, or invalid bytes that a later token may still complete).
    private mutating func appendBytes(of id: Int, _ table: TokenByteTable) -> String {
        if !(skipSpecialTokens && tokenizer.isSpecial(id)) { table.append(id, to: &unemitted) }
        let decoded = String(decoding: unemitted, as: UTF8.self)
        guard !decoded.isEmpty, decoded.unicodeScalars.last != "\u{FFFD}" else { return "" }
        unemitted.removeAll(keepingCapacity: true)
        text += decoded
        return decoded
    }

    /// Emits whatever is held back (incomplete UTF-8 becomes U+FFFD).
    public mutating func finish() -> String {
        if tokenBytes != nil {
            let rest = String(decoding: unemitted, as: UTF8.self)
            unemitted.removeAll(keepingCapacity: true)
            text += rest
            return rest
        }
        guard readOffset < ids.count else { return "" }
        let prefixText = tokenizer.decode(Array(ids[prefixOffset..<readOffset]), skipSpecialTokens: skipSpecialTokens)
        let fullText = tokenizer.decode(Array(ids[prefixOffset...]), skipSpecialTokens: skipSpecialTokens)
        let delta = String(fullText.unicodeScalars.dropFirst(prefixText.unicodeScalars.count))
        prefixOffset = readOffset
        readOffset = ids.count
        text += delta
        return delta
    }

    /// Ids before the window are never read again; drop them so memory stays bounded.
    private mutating func compact() {
        if prefixOffset > 64 {
            ids.removeFirst(prefixOffset)
            readOffset -= prefixOffset
            prefixOffset = 0
        }
    }
}

/// Every token's bytes in one buffer (ids index `offsets`), so looking one up allocates nothing.
struct TokenByteTable {
    private let offsets: [Int32]
    private let bytes: [UInt8]

    init(_ tokens: [[UInt8]]) {
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(tokens.count + 1)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.reduce(0) { $0 + $1.count })
        for token in tokens {
            bytes.append(contentsOf: token)
            offsets.append(Int32(bytes.count))
        }
        self.offsets = offsets
        self.bytes = bytes
    }

    /// Appends the bytes of token `id` (nothing for an id outside the vocabulary).
    func append(_ id: Int, to out: inout [UInt8]) {
        guard id >= 0, id + 1 < offsets.count else { return }
        out.append(contentsOf: bytes[Int(offsets[id])..<Int(offsets[id + 1])])
    }
}

/// Finds stop strings across token boundaries; holds back text that may still become a stop string.
public struct StopStringMatcher {
    private let stops: [[UInt8]]
    private let includeStopStringInOutput: Bool
    private var pending: [UInt8] = []
    public private(set) var isStopped = false

    public init(stopStrings: [String], includeStopStringInOutput: Bool = false) {
        stops = stopStrings.map { Array($0.utf8) }.filter { !$0.isEmpty }
        self.includeStopStringInOutput = includeStopStringInOutput
    }

    /// Returns the text safe to emit now, and the stop string if one completed (then generation must end;
    /// the emitted text is truncated before it, or after it when includeStopStringInOutput).
    public mutating func feed(_ delta: String) -> (emit: String, matched: String?) {
        guard !isStopped else { return ("", nil) }
        pending.append(contentsOf: delta.utf8)
        if let (start, stop) = earliestStop() {
            isStopped = true
            let end = includeStopStringInOutput ? start + stop.count : start
            let emit = String(decoding: pending[..<end], as: UTF8.self)
            pending.removeAll()
            return (emit, String(decoding: stop, as: UTF8.self))
        }
        let held = heldBackLength()
        let emitEnd = pending.count - held
        let emit = String(decoding: pending[..<emitEnd], as: UTF8.self)
        pending.removeFirst(emitEnd)
        return (emit, nil)
    }

    /// Held-back text at the end of generation.
    public mutating func flush() -> String {
        let rest = String(decoding: pending, as: UTF8.self)
        pending.removeAll()
        return rest
    }

    /// Earliest occurrence of any stop string (longest first when several start together).
    private func earliestStop() -> (Int, [UInt8])? {
        var best: (Int, [UInt8])? = nil
        for stop in stops where stop.count <= pending.count {
            var start = 0
            while start + stop.count <= pending.count {
                if let current = best, start > current.0 { break }
                if pending[start] == stop[0], pending[start..<(start + stop.count)].elementsEqual(stop) {
                    if let current = best, current.0 < start || (current.0 == start && current.1.count >= stop.count) {
                        break
                    }
                    best = (start, stop)
                    break
                }
                start += 1
            }
        }
        return best
    }

    /// Longest suffix of the pending text that is a proper prefix of some stop string.
    private func heldBackLength() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, pending.count)
            while length > longest {
                if pending[(pending.count - length)...].elementsEqual(stop[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}

public enum TokenizerBenchmark {
    /// Encodes `text` once (no special tokens) and reports the token count and wall time.
    public static func measureEncode(tokenizer: Tokenizer, text: String) -> (tokens: Int, seconds: Double) {
        let clock = ContinuousClock()
        var count = 0
        let elapsed = clock.measure { count = tokenizer.encode(text, addSpecialTokens: false).count }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return (count, seconds)
    }
}
