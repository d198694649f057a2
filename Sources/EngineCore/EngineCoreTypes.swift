// Values that cross the engine-core boundary: requests in, per-step outputs and stats out.

public struct EngineCoreRequest: Sendable {
    /// Unique among unfinished requests.
    public var requestId: String
    public var promptTokenIds: [Int]
    public var params: SamplingParams
    /// Generation stops on any of these (unless `params.ignoreEOS`); stopReason stays nil.
    public var eosTokenIds: Set<Int>
    /// Seconds on any monotonic clock; orders requests of equal priority.
    public var arrivalTime: Double
    /// Lower value is served first under the `.priority` policy.
    public var priority: Int = 0
    /// Isolates prefix-cache sharing: requests only share cached blocks when their salts match.
    public var cacheSalt: String? = nil
    /// Processors of this request's own (a grammar matcher, ...), run after the built-in ones.
    public var logitsProcessors: [any LogitsProcessor] = []

    public init(requestId: String, promptTokenIds: [Int], params: SamplingParams = SamplingParams(),
                eosTokenIds: Set<Int> = [], arrivalTime: Double = 0, priority: Int = 0,
                cacheSalt: String? = nil, logitsProcessors: [any LogitsProcessor] = []) {
        self.logitsProcessors = logitsProcessors
        self.requestId = requestId
        self.promptTokenIds = promptTokenIds
        self.params = params
        self.eosTokenIds = eosTokenIds
        self.arrivalTime = arrivalTime
        self.priority = priority
        self.cacheSalt = cacheSalt
    }
}

/// vLLM's finish reasons: `stop` covers EOS and stop_token_ids (stop strings are the engine's).
public enum FinishReason: String, Sendable, Equatable {
    case stop, length, abort
}

/// One alternative token and its log-probability.
public struct TopLogprob: Sendable, Equatable {
    public var tokenId: Int
    public var logprob: Float

    public init(tokenId: Int, logprob: Float) {
        self.tokenId = tokenId
        self.logprob = logprob
    }
}

/// Log-probabilities (of the raw model logits, before any sampling processing) for one position.
public struct TokenLogprobs: Sendable, Equatable {
    /// The sampled (or, for prompt logprobs, the actual prompt) token.
    public var tokenId: Int
    public var logprob: Float
    /// 1 = most likely; the number of vocabulary entries whose logprob is >= this token's.
    public var rank: Int
    /// The requested number of most likely tokens, most likely first (ties: lower id first).
    public var top: [TopLogprob]

    public init(tokenId: Int, logprob: Float, rank: Int, top: [TopLogprob]) {
        self.tokenId = tokenId
        self.logprob = logprob
        self.rank = rank
        self.top = top
    }
}

public struct EngineCoreOutput: Sendable {
    public var requestId: String
    /// Tokens generated this step: one, or 1 + accepted drafts with speculative decoding.
    public var newTokenIds: [Int]
    /// One entry per new token when `params.logprobs != nil`.
    public var newLogprobs: [TokenLogprobs]?
    /// Once, on the first output after prefill, when `params.promptLogprobs != nil`; one entry per
    /// prompt token, the first nil (no context).
    public var promptLogprobs: [TokenLogprobs?]?
    public var finishReason: FinishReason?
    /// The stop_token_id that ended the request (nil for EOS, length and abort).
    public var stopReason: Int?
    /// Prompt tokens served from the prefix cache when the request was first scheduled.
    public var numCachedTokens: Int

    public init(requestId: String, newTokenIds: [Int], newLogprobs: [TokenLogprobs]? = nil,
                promptLogprobs: [TokenLogprobs?]? = nil, finishReason: FinishReason? = nil,
                stopReason: Int? = nil, numCachedTokens: Int = 0) {
        self.requestId = requestId
        self.newTokenIds = newTokenIds
        self.newLogprobs = newLogprobs
        self.promptLogprobs = promptLogprobs
        self.finishReason = finishReason
        self.stopReason = stopReason
        self.numCachedTokens = numCachedTokens
    }

    public var finished: Bool { finishReason != nil }
}

public enum SchedulingPolicy: String, Sendable, Equatable {
    /// First come, first served; the latest admitted running request is preempted first.
    case fcfs
    /// Lower `priority` first, then earlier arrival; the lowest-priority, latest request is preempted first.
    case priority
}

public struct SchedulerConfig: Sendable, Equatable {
    /// KV blocks the model allocates; block 0 is reserved as the null block (padding in block tables).
    public var numBlocks: Int
    public var blockSize = 16
    public var maxNumSeqs = 256
    public var maxNumBatchedTokens = 2048
    public var maxModelLen: Int
    public var enablePrefixCaching = true
    /// When false a prompt is only admitted if it fits whole in one step's token budget.
    public var enableChunkedPrefill = true
    /// Caps the tokens one request's prefill takes per step (vLLM `--long-prefill-token-threshold`).
    public var longPrefillTokenThreshold: Int? = nil
    /// `addRequest` throws `.queueFull` once this many requests wait (vLLM `--max-num-queued-reqs`).
    public var maxWaitingRequests: Int? = nil
    public var policy: SchedulingPolicy = .fcfs
    /// vLLM `--max-logprobs` (-1 = no limit).
    public var maxLogprobs = 20
    /// Seeds the generator shared by requests without their own seed.
    public var seed: UInt64 = 0
    /// Most draft tokens a `DraftProposer` may add per request and step (vLLM num_speculative_tokens).
    public var numSpeculativeTokens = 0
    /// No drafts are proposed while this many requests or more are running (vLLM disable_by_batch_size).
    public var speculativeDisableByBatchSize: Int? = nil

    public init(numBlocks: Int, maxModelLen: Int, blockSize: Int = 16, maxNumSeqs: Int = 256,
                maxNumBatchedTokens: Int = 2048, enablePrefixCaching: Bool = true,
                enableChunkedPrefill: Bool = true, longPrefillTokenThreshold: Int? = nil,
                maxWaitingRequests: Int? = nil, policy: SchedulingPolicy = .fcfs,
                maxLogprobs: Int = 20, seed: UInt64 = 0, numSpeculativeTokens: Int = 0,
                speculativeDisableByBatchSize: Int? = nil) {
        self.numSpeculativeTokens = numSpeculativeTokens
        self.speculativeDisableByBatchSize = speculativeDisableByBatchSize
        self.numBlocks = numBlocks
        self.maxModelLen = maxModelLen
        self.blockSize = blockSize
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.enablePrefixCaching = enablePrefixCaching
        self.enableChunkedPrefill = enableChunkedPrefill
        self.longPrefillTokenThreshold = longPrefillTokenThreshold
        self.maxWaitingRequests = maxWaitingRequests
        self.policy = policy
        self.maxLogprobs = maxLogprobs
        self.seed = seed
    }

    func validate() throws {
        func bad(_ message: String) -> EngineCoreError { EngineCoreError(.invalidConfig, message) }
        if blockSize < 1 { throw bad("block_size must be at least 1, got \(blockSize).") }
        if numBlocks < 2 { throw bad("num_gpu_blocks must be at least 2 (block 0 is reserved), got \(numBlocks).") }
        if maxNumSeqs < 1 { throw bad("max_num_seqs must be at least 1, got \(maxNumSeqs).") }
        if maxNumBatchedTokens < 1 {
            throw bad("max_num_batched_tokens must be at least 1, got \(maxNumBatchedTokens).")
        }
        if maxModelLen < 2 { throw bad("max_model_len must be at least 2, got \(maxModelLen).") }
        if numSpeculativeTokens < 0 {
            throw bad("num_speculative_tokens must be at least 0, got \(numSpeculativeTokens).")
        }
        if let threshold = longPrefillTokenThreshold, threshold < 1 {
            throw bad("long_prefill_token_threshold must be at least 1, got \(threshold).")
        }
        if !enableChunkedPrefill && maxNumBatchedTokens < maxModelLen {
            throw bad("max_num_batched_tokens (\(maxNumBatchedTokens)) is smaller than max_model_len "
                + "(\(maxModelLen)). This effectively limits the maximum sequence length to "
                + "max_num_batched_tokens and makes the engine reject longer sequences. Please increase "
                + "max_num_batched_tokens or decrease max_model_len, or enable chunked prefill.")
        }
    }
}

/// Gauges and cumulative counters; the engine turns these into vLLM's Prometheus metrics.
public struct SchedulerStats: Sendable, Equatable {
    public var numRunning = 0
    public var numWaiting = 0
    /// Fraction of usable KV blocks (all but the null block) held by requests, 0...1.
    public var kvCacheUsage: Double = 0
    /// Prompt tokens looked up in the prefix cache (cumulative; vLLM `prefix_cache_queries`).
    public var prefixCacheQueries = 0
    /// Prompt tokens found in the prefix cache (cumulative; vLLM `prefix_cache_hits`).
    public var prefixCacheHits = 0
    public var numPreemptions = 0
    /// Prompt tokens of newly admitted requests (cumulative, counted once per request).
    public var promptTokens = 0
    public var generationTokens = 0
    /// Tokens in the last step's batch (vLLM `iteration_tokens_total` observations).
    public var lastStepNumTokens = 0
    /// Requests in the last step's batch.
    public var lastStepNumSeqs = 0
    /// Prefill tokens computed (not served from cache) in the last step.
    public var lastStepPrefillTokens = 0
    public var numSteps = 0
    /// Speculative decoding (cumulative): steps of one request that verified drafts (vLLM num_drafts),
    /// draft tokens verified, draft tokens accepted, and accepted tokens by draft position.
    public var numDrafts = 0
    public var numDraftTokens = 0
    public var numAcceptedTokens = 0
    public var acceptedTokensPerPosition: [Int] = []

    public init() {}
}

/// Why the core refused a request or configuration.
public struct EngineCoreError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Prompt (+ max_tokens) longer than max_model_len: HTTP 400, code context_length_exceeded.
        case contextLengthExceeded
        /// Bad sampling params, empty prompt, out-of-vocab ids, duplicate id: HTTP 400.
        case invalidRequest
        /// The request can never fit in the KV cache even alone: HTTP 400.
        case exceedsKVCacheCapacity
        /// Too many waiting requests: HTTP 503 (or 429) with Retry-After.
        case queueFull
        case invalidConfig
        /// The model failed in allocateKVCache/forward or returned unusable logits.
        case modelFailure
    }

    public var kind: Kind
    public var message: String
    public var param: String?

    public init(_ kind: Kind, _ message: String, param: String? = nil) {
        self.kind = kind
        self.message = message
        self.param = param
    }

    public var description: String { message }
}
