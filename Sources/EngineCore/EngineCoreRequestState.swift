// The core's mutable view of one request: tokens so far, KV blocks, progress and sampling state.

final class RequestState {
    enum Status {
        case waiting
        /// Waiting, but a logits processor (a grammar still compiling) is not ready: not admitted yet.
        case waitingForGrammar
        case running
        case finished
    }

    let id: String
    let params: SamplingParams
    let eosTokenIds: Set<Int>
    let arrivalTime: Double
    let priority: Int
    /// Admission order; breaks ties between equal arrival times.
    let sequenceNumber: Int
    let promptLength: Int
    /// max_tokens resolved against max_model_len.
    let maxTokens: Int
    /// Prompt followed by generated tokens.
    private(set) var tokens: [Int]
    var status: Status = .waiting

    /// Tokens whose KV is in `blocks` (reset to 0 on preemption).
    var numComputedTokens = 0
    var blocks: [Int] = []
    /// `blocks.count` when the current step's scheduling began (what it added is the rest).
    var blocksBeforeStep = 0
    /// Leading `blocks` registered in the prefix cache.
    var numHashedBlocksCached = 0
    /// Hashes of the full blocks of `tokens`, computed lazily; kept across preemption.
    private var blockHashes: [BlockHash] = []
    private let saltBytes: [UInt8]?

    /// Prefix-cache hit at first admission, reported in every output.
    var numCachedTokens: Int?
    var numPreemptions = 0

    /// Per-request generator when `params.seed` is set.
    var generator: SeededGenerator?
    /// Built-in processors for `params`, then the request's own, applied in this order.
    let logitsProcessors: [any LogitsProcessor]
    /// Tokens a `DraftProposer` guessed after the last step; scheduled in lookahead slots next step.
    var draftTokenIds: [Int] = []
    /// Output token counts (presence/frequency/repetition penalties only).
    private(set) var outputTokenCounts: [Int: Int] = [:]
    private let tracksOutputCounts: Bool
    /// Distinct prompt tokens (repetition penalty only).
    private(set) lazy var promptTokenSet: Set<Int> = Set(tokens[0..<promptLength])

    /// The `newTokenIds` of this request's outputs, rewritten in place each step: no allocation
    /// once the previous step's output has been released.
    private var stepTokenIdsBuffer: [Int] = []

    /// Prompt logprobs gathered over prefill chunks; delivered once, then `promptLogprobsDelivered`.
    var pendingPromptLogprobs: [TokenLogprobs?] = []
    var promptLogprobsDelivered = false

    init(request: EngineCoreRequest, maxTokens: Int, sequenceNumber: Int, vocabSize: Int, maxDraftTokens: Int = 0) {
        id = request.requestId
        params = request.params
        eosTokenIds = request.params.ignoreEOS ? [] : request.eosTokenIds
        arrivalTime = request.arrivalTime
        priority = request.priority
        self.sequenceNumber = sequenceNumber
        promptLength = request.promptTokenIds.count
        self.maxTokens = maxTokens
        tokens = request.promptTokenIds
        // Bounded: max_tokens may default to the whole context, and many requests can wait at once.
        tokens.reserveCapacity(promptLength + min(maxTokens, 256))
        saltBytes = request.cacheSalt.map { Array($0.utf8) }
        generator = request.params.seed.map { SeededGenerator(seed: $0) }
        logitsProcessors = BuiltinLogitsProcessors.make(params: request.params, vocabSize: vocabSize)
            + request.logitsProcessors
        tracksOutputCounts = request.params.presencePenalty != 0 || request.params.frequencyPenalty != 0
            || request.params.repetitionPenalty != 1
        // One entry per distinct output token: sized like `tokens` so counting never rehashes.
        if tracksOutputCounts { outputTokenCounts.reserveCapacity(min(maxTokens, 256)) }
        stepTokenIdsBuffer.reserveCapacity(1 + maxDraftTokens)
        draftTokenIds.reserveCapacity(maxDraftTokens)
    }

    var numTokens: Int { tokens.count }
    var numOutputTokens: Int { tokens.count - promptLength }
    var outputTokens: ArraySlice<Int> { tokens[promptLength...] }
    var promptTokens: ArraySlice<Int> { tokens[..<promptLength] }
    var allTokens: ArraySlice<Int> { tokens[...] }

    /// Every processor can run (none waits for a grammar to compile).
    var processorsReady: Bool { logitsProcessors.allSatisfy { $0.isReady } }

    /// All tokens but the last have KV: the next step feeds one decode token (plus any drafts).
    var isDecoding: Bool { numComputedTokens == tokens.count - 1 && tokens.count > promptLength }

    /// Prompt logprobs are wanted and not yet delivered: every prompt row needs logits, so the prompt
    /// cannot be served from the prefix cache.
    var needsPromptLogprobs: Bool { params.promptLogprobs != nil && !promptLogprobsDelivered }

    /// This step's new tokens, reusing the previous step's array when nobody holds it any more.
    func stepTokenIds<C: Collection>(_ newTokens: C) -> [Int] where C.Element == Int {
        stepTokenIdsBuffer.removeAll(keepingCapacity: true)
        stepTokenIdsBuffer.append(contentsOf: newTokens)
        return stepTokenIdsBuffer
    }

    /// Makes room for the blocks (and their hashes) of the tokens `tokens` has capacity for, so
    /// that decoding into the reserved length grows no array.
    func reserveBlockStorage(blockSize: Int) {
        let expectedBlocks = (tokens.capacity + blockSize - 1) / blockSize
        if blocks.capacity < expectedBlocks { blocks.reserveCapacity(expectedBlocks) }
        if blockHashes.capacity < expectedBlocks { blockHashes.reserveCapacity(expectedBlocks) }
    }

    func appendOutputToken(_ token: Int) {
        tokens.append(token)
        if tracksOutputCounts { outputTokenCounts[token, default: 0] += 1 }
    }

    /// Takes back the last `count` output tokens (tentatively accepted drafts during verification).
    func dropLastOutputTokens(_ count: Int) {
        precondition(count <= numOutputTokens, "cannot drop prompt tokens")
        for _ in 0..<count {
            let token = tokens.removeLast()
            guard tracksOutputCounts, let seen = outputTokenCounts[token] else { continue }
            if seen > 1 { outputTokenCounts[token] = seen - 1 } else { outputTokenCounts[token] = nil }
        }
        // No block hash covers them: hashes are taken only in scheduling, never between a tentative
        // append and this drop.
    }

    /// Hash of full block `index` (tokens index*blockSize ..< (index+1)*blockSize).
    func blockHash(at index: Int, blockSize: Int, root: BlockHash) -> BlockHash {
        while blockHashes.count <= index {
            let i = blockHashes.count
            let parent = i == 0 ? root : blockHashes[i - 1]
            let slice = tokens[(i * blockSize)..<((i + 1) * blockSize)]
            blockHashes.append(BlockHash.chained(parent: parent, tokens: slice, extra: i == 0 ? saltBytes : nil))
        }
        return blockHashes[index]
    }

    /// Orders preemption victims: the greatest is preempted first.
    func preemptsBefore(_ other: RequestState) -> Bool {
        if priority != other.priority { return priority > other.priority }
        if arrivalTime != other.arrivalTime { return arrivalTime > other.arrivalTime }
        return sequenceNumber > other.sequenceNumber
    }

    /// Orders the priority waiting queue: lower value first, then earlier arrival.
    func servedBefore(_ other: RequestState) -> Bool {
        if priority != other.priority { return priority < other.priority }
        if arrivalTime != other.arrivalTime { return arrivalTime < other.arrivalTime }
        return sequenceNumber < other.sequenceNumber
    }
}
