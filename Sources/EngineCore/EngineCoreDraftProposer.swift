// The seam for speculative decoding: after each step a proposer may guess the next tokens of every
// decoding request; the scheduler gives those guesses lookahead KV slots in the next step, the
// runner verifies them against the target model, and the update rolls back the rejected ones.

/// What a proposer sees of one decoding request.
public struct DraftContext {
    let request: RequestState

    public var requestId: String { request.id }
    /// Prompt followed by every generated token.
    public var tokenIds: ArraySlice<Int> { request.allTokens }
    public var numPromptTokens: Int { request.promptLength }
}

/// Guesses up to `maxTokens` next tokens (an n-gram matcher over the prompt, a draft model, ...).
/// Called on the engine thread; `drafts` arrives empty and must not grow beyond `maxTokens`.
public protocol DraftProposer: AnyObject {
    func propose(_ context: DraftContext, maxTokens: Int, into drafts: inout [Int])
    /// The request finished or was aborted: drop whatever is kept for it.
    func forget(requestId: String)
}

extension DraftProposer {
    public func forget(requestId: String) {}
}
