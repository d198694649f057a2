import EngineCore
import Tokenizer

/// Decodes single tokens for logprobs, memoised: the same ids recur constantly across requests.
/// Used only from the engine thread.
final class TokenTextCache {
    private let tokenizer: Tokenizer
    private var cache: [Int: String] = [:]

    init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
    }

    func text(for id: Int) -> String {
        if let cached = cache[id] { return cached }
        let text = tokenizer.decode([id], skipSpecialTokens: false)
        cache[id] = text
        return text
    }

    func positionLogprobs(_ entry: TokenLogprobs) -> PositionLogprobs {
        let chosen = LogprobCandidate(tokenId: entry.tokenId, token: text(for: entry.tokenId),
                                      logprob: entry.logprob, rank: entry.rank)
        var top: [LogprobCandidate] = []
        top.reserveCapacity(entry.top.count)
        for (offset, candidate) in entry.top.enumerated() {
            top.append(LogprobCandidate(tokenId: candidate.tokenId, token: text(for: candidate.tokenId),
                                        logprob: candidate.logprob, rank: offset + 1))
        }
        return PositionLogprobs(chosen: chosen, top: top)
    }
}

/// One of the n completions of a request: turns the core's token ids into text with stop strings.
struct CompletionState {
    let index: Int
    /// The id this completion has in the engine core.
    let coreRequestId: String
    private var detokenizer: IncrementalDetokenizer
    private var stopMatcher: StopStringMatcher?
    private let minTokens: Int
    private let includeStopStringInOutput: Bool
    private let wantsLogprobs: Bool
    /// Final-only output and no stop strings: nobody looks at the text before the completion ends,
    /// so tokens are detokenized (by the same incremental detokenizer, in the same order) at finish
    /// instead of each step, which keeps the decode step free of the detokenizer's allocations.
    private let defersDetokenization: Bool
    /// Leading `tokenIds` already fed to the detokenizer (deferred mode only).
    private var detokenizedCount = 0
    /// The last id ended the completion as EOS / a stop token id and shows no text.
    private var lastTokenHasNoText = false

    private(set) var text = ""
    private(set) var tokenIds: [Int] = []
    private(set) var logprobs: [PositionLogprobs] = []
    private(set) var cumulativeLogprob: Double = 0
    private(set) var finishReason: FinishReason?
    private(set) var stopReason: StopReason?
    /// Text and token count not yet reported by a delta output.
    private var pendingText = ""
    private var deltaTokenStart = 0
    /// The tokenIds of the last delta output, refilled in place once the caller has released it.
    private var deltaTokenIds: [Int] = []
    /// Whether something changed since the last output was built.
    private(set) var changed = false
    var firstTokenTime: Double?
    var lastTokenTime: Double?
    var scheduledTime: Double?
    var numCachedTokens = 0

    init(index: Int, coreRequestId: String, tokenizer: Tokenizer, promptTokenIds: [Int],
         params: SamplingParams, outputKind: RequestOutputKind = .cumulative) {
        self.index = index
        self.coreRequestId = coreRequestId
        detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, promptTokenIds: promptTokenIds,
                                             skipSpecialTokens: params.skipSpecialTokens,
                                             spacesBetweenSpecialTokens: params.spacesBetweenSpecialTokens)
        let stops = params.stop.filter { !$0.isEmpty }
        stopMatcher = stops.isEmpty ? nil
            : StopStringMatcher(stopStrings: stops, includeStopStringInOutput: params.includeStopStrInOutput)
        minTokens = params.minTokens
        includeStopStringInOutput = params.includeStopStrInOutput
        wantsLogprobs = params.logprobs != nil
        defersDetokenization = outputKind == .finalOnly && stopMatcher == nil
        // Bounded like the core's token storage: max_tokens may default to the whole context.
        tokenIds.reserveCapacity(min(params.maxTokens ?? 256, 256))
    }

    var finished: Bool { finishReason != nil }

    /// Applies one core output. Returns true when a stop string ended the completion, so the caller
    /// must abort it in the core (the core does not know about stop strings).
    mutating func apply(_ output: EngineCoreOutput, tokenTexts: TokenTextCache, now: Double) -> Bool {
        guard !finished else { return false }
        let newIds = output.newTokenIds
        if !newIds.isEmpty {
            if firstTokenTime == nil { firstTokenTime = now }
            lastTokenTime = now
            changed = true
        }
        // Like vLLM: a completion ended by EOS or a stop token id does not show that token's text
        // (unless include_stop_str_in_output), but keeps its id.
        let stopTokenEnded = output.finishReason == .stop
        for (offset, id) in newIds.enumerated() {
            tokenIds.append(id)
            if wantsLogprobs, let entries = output.newLogprobs, offset < entries.count {
                logprobs.append(tokenTexts.positionLogprobs(entries[offset]))
                cumulativeLogprob += Double(entries[offset].logprob)
            }
            let isLast = offset == newIds.count - 1
            if isLast && stopTokenEnded && !includeStopStringInOutput {
                lastTokenHasNoText = true
                continue
            }
            if defersDetokenization { continue }
            if let matched = appendText(detokenizer.append(id)) {
                finishReason = .stop
                stopReason = .string(matched)
                return true
            }
        }
        if let reason = output.finishReason {
            finish(reason, stopTokenId: output.stopReason)
        }
        return false
    }

    /// Ends the completion (core finish or abort), releasing text held back by the detokenizer/matcher.
    mutating func finish(_ reason: FinishReason, stopTokenId: Int? = nil) {
        guard !finished else { return }
        changed = true
        if defersDetokenization {
            let end = lastTokenHasNoText ? tokenIds.count - 1 : tokenIds.count
            while detokenizedCount < end {
                appendEmitted(detokenizer.append(tokenIds[detokenizedCount]))
                detokenizedCount += 1
            }
        }
        if let matched = appendText(detokenizer.finish()) {
            finishReason = .stop
            stopReason = .string(matched)
            return
        }
        if var matcher = stopMatcher {
            appendEmitted(matcher.flush())
            stopMatcher = matcher
        }
        finishReason = reason
        if let id = stopTokenId { stopReason = .tokenId(id) }
    }

    /// Feeds newly decoded text through the stop matcher (once past min_tokens, like vLLM).
    private mutating func appendText(_ delta: String) -> String? {
        guard var matcher = stopMatcher, tokenIds.count > minTokens else {
            appendEmitted(delta)
            return nil
        }
        let (emit, matched) = matcher.feed(delta)
        stopMatcher = matcher
        appendEmitted(emit)
        return matched
    }

    private mutating func appendEmitted(_ delta: String) {
        guard !delta.isEmpty else { return }
        text += delta
        pendingText += delta
    }

    /// Builds this completion's output and marks it as reported.
    mutating func makeOutput(kind: RequestOutputKind) -> CompletionOutput {
        changed = false
        var output = CompletionOutput(index: index, finishReason: finishReason, stopReason: stopReason,
                                      numGeneratedTokens: tokenIds.count)
        if wantsLogprobs { output.cumulativeLogprob = cumulativeLogprob }
        if kind == .delta {
            output.text = pendingText
            deltaTokenIds.removeAll(keepingCapacity: true)
            deltaTokenIds.append(contentsOf: tokenIds[deltaTokenStart...])
            output.tokenIds = deltaTokenIds
            if wantsLogprobs { output.logprobs = Array(logprobs[min(deltaTokenStart, logprobs.count)...]) }
            pendingText = ""
            deltaTokenStart = tokenIds.count
        } else {
            pendingText = ""
            output.text = text
            output.tokenIds = tokenIds
            if wantsLogprobs { output.logprobs = logprobs }
        }
        return output
    }
}
