// The per-request logits-processor pipeline: each request carries an ordered list of processors that
// edit its logits row in place before temperature, min_p, top-k and top-p (vLLM v1's order). The
// built-in sampling fields become processors (EngineCoreBuiltinProcessors.swift); a grammar matcher,
// an adapter or a test plugs in through `EngineCoreRequest.logitsProcessors` without touching the
// sampler.

/// What a processor may read about its request when it runs.
///
/// `outputTokenIds` always holds the request's whole generated history up to the token being
/// sampled, including draft tokens accepted earlier in the same step during speculative
/// verification. A stateful processor (a grammar matcher) must therefore sync to that history:
/// advance over tokens it has not seen and roll back when the history is shorter than what it saw.
public struct LogitsContext {
    let request: RequestState

    public var vocabSize: Int
    public var promptTokenIds: ArraySlice<Int> { request.promptTokens }
    public var outputTokenIds: ArraySlice<Int> { request.outputTokens }
    public var numOutputTokens: Int { request.numOutputTokens }
    /// The request's EOS ids (empty with ignore_eos).
    public var eosTokenIds: Set<Int> { request.eosTokenIds }
    public var params: SamplingParams { request.params }
}

/// Edits one logits row in place. Called on the engine thread only, once per sampled token, with the
/// row still holding raw (sanitized) model logits plus the edits of the processors before it.
///
/// The decode path promises zero heap allocations per step: `apply` must not allocate once warm.
public protocol LogitsProcessor: AnyObject, Sendable {
    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext)

    /// False while the processor cannot run yet (a grammar still compiling). The scheduler keeps the
    /// request in the waiting-for-grammar state, unscheduled, until every processor is ready.
    var isReady: Bool { get }
}

extension LogitsProcessor {
    public var isReady: Bool { true }
}

/// A set of allowed token ids as a bitmask over the vocabulary: what grammar matchers produce each
/// step (one bit per token, like xgrammar's and llguidance's masks).
public struct TokenMask {
    public let vocabSize: Int
    /// Word `i` holds tokens 64*i ..< 64*i + 64, lowest bit first.
    public private(set) var words: [UInt64]

    public init(vocabSize: Int, allowAll: Bool = false) {
        self.vocabSize = vocabSize
        words = [UInt64](repeating: allowAll ? ~0 : 0, count: (vocabSize + 63) / 64)
    }

    public mutating func clear() {
        words.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    public mutating func allow(_ token: Int) {
        guard token >= 0 && token < vocabSize else { return }
        words[token >> 6] |= 1 << UInt64(token & 63)
    }

    public func isAllowed(_ token: Int) -> Bool {
        token >= 0 && token < vocabSize && words[token >> 6] & (1 << UInt64(token & 63)) != 0
    }

    /// Sets every disallowed token's logit to -inf. Whole zero words are skipped 64 at a time.
    public func apply(to logits: UnsafeMutableBufferPointer<Float>) {
        let count = min(vocabSize, logits.count)
        words.withUnsafeBufferPointer { words in
            for wordIndex in 0..<words.count {
                let word = words[wordIndex]
                let base = wordIndex << 6
                let end = min(base + 64, count)
                guard base < end, word != ~0 else { continue }
                if word == 0 {
                    for token in base..<end { logits[token] = -.infinity }
                    continue
                }
                for token in base..<end where word & (1 << UInt64(token - base)) == 0 {
                    logits[token] = -.infinity
                }
            }
        }
    }
}
