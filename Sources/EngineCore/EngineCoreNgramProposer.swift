// Prompt-lookup speculation (vLLM's `ngram` method): the last n tokens of a request (n from
// prompt_lookup_max down to prompt_lookup_min) are looked up earlier in its prompt and output, and the
// tokens that followed a recent earlier occurrence are proposed. It costs no model and wins on
// input-grounded text (editing, quoting, summarising, code), where outputs repeat their inputs.

public final class NgramProposer: DraftProposer {
    public let minN: Int
    public let maxN: Int
    /// Only the last `maxLookback` tokens are searched, bounding the cost per step on long contexts.
    public let maxLookback: Int

    public init(minN: Int = 1, maxN: Int = 4, maxLookback: Int = 8192) {
        precondition(minN >= 1 && maxN >= minN, "prompt_lookup_min must be >= 1 and <= prompt_lookup_max")
        self.minN = minN
        self.maxN = maxN
        self.maxLookback = maxLookback
    }

    public func propose(_ context: DraftContext, maxTokens: Int, into drafts: inout [Int]) {
        context.tokenIds.withContiguousStorageIfAvailable { tokens in
            propose(tokens, maxTokens: maxTokens, into: &drafts)
        }
    }

    /// The drafts for `tokens` (the whole sequence so far): the longest suffix n-gram wins, and among
    /// its earlier occurrences the most recent one followed by `maxTokens` tokens (else the earliest,
    /// which is followed by the most).
    func propose(_ tokens: UnsafeBufferPointer<Int>, maxTokens: Int, into drafts: inout [Int]) {
        let count = tokens.count
        guard maxTokens > 0, count > minN else { return }
        let lowest = max(0, count - maxLookback)
        for n in stride(from: min(maxN, count - 1), through: minN, by: -1) {
            let suffix = count - n
            var chosen = -1
            // Candidate starts, latest first; each starts before the suffix does, so a token follows it.
            var start = suffix - 1
            while start >= lowest {
                if matches(tokens, start, suffix, n) {
                    chosen = start
                    if count - (start + n) >= maxTokens { break }
                }
                start -= 1
            }
            guard chosen >= 0 else { continue }
            let follow = chosen + n
            for offset in 0..<min(maxTokens, count - follow) { drafts.append(tokens[follow + offset]) }
            return
        }
    }

    @inline(__always)
    private func matches(_ tokens: UnsafeBufferPointer<Int>, _ a: Int, _ b: Int, _ n: Int) -> Bool {
        for i in 0..<n where tokens[a + i] != tokens[b + i] { return false }
        return true
    }
}
