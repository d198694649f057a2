// The engine core: owns requests and KV blocks, and runs one iteration per `step()`: the scheduler
// decides it (`SchedulerOutput`), the model runner executes and samples it (`ModelRunnerOutput`), the
// scheduler applies the result, and an optional draft proposer guesses the next tokens.
// Single-threaded: callers serialize access (the async engine runs it on one thread).
//
// n > 1 (parallel sampling): the core runs one sequence per request. The engine adds n child
// requests with the same prompt and distinct ids (vLLM uses "<index>_<parentId>"), and for seeded
// requests gives child i the seed `seed &+ i` so the samples differ but stay reproducible. Children
// share the prompt's KV: a child whose next prompt block is still being computed by a running
// sibling waits for it and then takes it from the prefix cache, so the prompt is computed once.

import Models

public final class EngineCore {
    public let config: SchedulerConfig
    public let model: any CausalLanguageModel
    public let vocabSize: Int

    private let scheduler: Scheduler
    private let runner: ModelRunner
    private let proposer: (any DraftProposer)?
    private var requests: [String: RequestState] = [:]
    private var nextSequenceNumber = 0
    private var lastStep = (tokens: 0, seqs: 0, prefillTokens: 0)
    private var numSteps = 0
    /// Speculative decoding counters (cumulative), as in `SchedulerStats`.
    private var numDrafts = 0
    private var numDraftTokens = 0
    private var numAcceptedTokens = 0
    private var acceptedTokensPerPosition: [Int]

    /// Validates `config`, then sizes the model's KV cache to `config.numBlocks` blocks.
    public init(model: any CausalLanguageModel, config: SchedulerConfig, proposer: (any DraftProposer)? = nil) throws {
        try config.validate()
        let spec = model.spec
        guard spec.vocabSize > 0 else {
            throw EngineCoreError(.invalidConfig, "Model \(spec.architecture) reports vocab_size \(spec.vocabSize).")
        }
        if spec.maxPositionEmbeddings > 0 && config.maxModelLen > spec.maxPositionEmbeddings {
            throw EngineCoreError(.invalidConfig,
                "User-specified max_model_len (\(config.maxModelLen)) is greater than the derived max_model_len "
                    + "(max_position_embeddings=\(spec.maxPositionEmbeddings) in model's config.json).")
        }
        self.config = config
        self.model = model
        vocabSize = spec.vocabSize
        scheduler = Scheduler(config: config)
        runner = ModelRunner(model: model, blockSize: config.blockSize, maxModelLen: config.maxModelLen, seed: config.seed)
        self.proposer = config.numSpeculativeTokens > 0 ? proposer : nil
        acceptedTokensPerPosition = Array(repeating: 0, count: self.proposer == nil ? 0 : config.numSpeculativeTokens)
        do {
            try model.allocateKVCache(numBlocks: config.numBlocks, blockSize: config.blockSize)
        } catch {
            throw EngineCoreError(.modelFailure,
                "Allocating \(config.numBlocks) KV cache blocks of \(config.blockSize) tokens failed: \(error)")
        }
    }

    // MARK: - Requests

    /// Queues a request. Throws `EngineCoreError` (kind and vLLM-style message) for a duplicate id,
    /// an empty or out-of-vocabulary prompt, bad sampling params, a prompt (+ max_tokens) beyond
    /// max_model_len, a request too large for the whole KV cache, or a full waiting queue.
    public func addRequest(_ request: EngineCoreRequest) throws {
        if requests[request.requestId] != nil {
            throw EngineCoreError(.invalidRequest, "Request id \(request.requestId) is already in use.",
                                  param: "request_id")
        }
        let prompt = request.promptTokenIds
        if prompt.isEmpty {
            throw EngineCoreError(.invalidRequest, "The prompt cannot be empty.", param: "prompt")
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabSize }) {
            throw EngineCoreError(.invalidRequest,
                "Token id \(bad) is out of vocabulary (vocab size \(vocabSize)).", param: "prompt")
        }
        do {
            try request.params.validate(vocabSize: vocabSize, maxLogprobs: config.maxLogprobs)
        } catch let error as SamplingParamsError {
            throw EngineCoreError(.invalidRequest, error.message, param: error.param)
        }
        let maxTokens = try resolveMaxTokens(promptLength: prompt.count, requested: request.params.maxTokens)

        // The last sampled token is never fed back, so KV holds at most prompt + max_tokens - 1.
        let blocksNeeded = (prompt.count + maxTokens - 1 + config.blockSize - 1) / config.blockSize
        let usableBlocks = config.numBlocks - 1
        if blocksNeeded > usableBlocks {
            throw EngineCoreError(.exceedsKVCacheCapacity,
                "The request needs \(blocksNeeded) KV cache blocks (\(prompt.count) prompt + \(maxTokens) output "
                    + "tokens at block size \(config.blockSize)) but the KV cache only has \(usableBlocks) blocks. "
                    + "Reduce the prompt or max_tokens.", param: "max_tokens")
        }
        if let limit = config.maxWaitingRequests, scheduler.waiting.count >= limit {
            throw EngineCoreError(.queueFull,
                "The waiting queue is full (\(limit) requests). Please retry later.")
        }
        let state = RequestState(request: request, maxTokens: maxTokens, sequenceNumber: nextSequenceNumber,
                                 vocabSize: vocabSize, maxDraftTokens: proposer == nil ? 0 : config.numSpeculativeTokens)
        nextSequenceNumber += 1
        requests[request.requestId] = state
        scheduler.enqueue(state)
    }

    private func resolveMaxTokens(promptLength: Int, requested: Int?) throws -> Int {
        let limit = config.maxModelLen
        if let requested {
            if promptLength + requested > limit {
                throw EngineCoreError(.contextLengthExceeded,
                    "This model's maximum context length is \(limit) tokens. However, you requested \(requested) "
                        + "output tokens and your prompt contains \(promptLength) input tokens, for a total of "
                        + "\(promptLength + requested) tokens. Please reduce the length of the input prompt or the "
                        + "number of requested output tokens.", param: "input_tokens")
            }
            return requested
        }
        if promptLength >= limit {
            throw EngineCoreError(.contextLengthExceeded,
                "This model's maximum context length is \(limit) tokens. However, your request has "
                    + "\(promptLength) input tokens. Please reduce the length of the input messages.",
                param: "input_tokens")
        }
        return limit - promptLength
    }

    /// Drops the requests (unknown ids are ignored) and frees their blocks now. No output is
    /// produced for them: the caller reports them as finish_reason "abort".
    public func abortRequests(_ ids: [String]) {
        for id in ids {
            guard let state = requests.removeValue(forKey: id) else { continue }
            scheduler.remove(state)
            proposer?.forget(requestId: id)
        }
    }

    public var hasUnfinishedRequests: Bool { !requests.isEmpty }

    public var numUnfinishedRequests: Int { requests.count }

    /// Forgets all cached prefixes; false (nothing changed) while any request holds blocks.
    public func resetPrefixCache() -> Bool { scheduler.kvCache.resetPrefixCache() }

    /// The block pool, for tests that check reference counts and the free queue.
    var blockPoolForTesting: BlockPool { scheduler.kvCache.pool }

    public var stats: SchedulerStats {
        var stats = SchedulerStats()
        stats.numRunning = scheduler.running.count
        stats.numWaiting = scheduler.waiting.count
        stats.kvCacheUsage = scheduler.kvCache.usage
        stats.prefixCacheQueries = scheduler.kvCache.prefixCacheQueries
        stats.prefixCacheHits = scheduler.kvCache.prefixCacheHits
        stats.numPreemptions = scheduler.numPreemptions
        stats.promptTokens = scheduler.promptTokens
        stats.generationTokens = scheduler.generationTokens
        stats.numDrafts = numDrafts
        stats.numDraftTokens = numDraftTokens
        stats.numAcceptedTokens = numAcceptedTokens
        stats.acceptedTokensPerPosition = acceptedTokensPerPosition
        stats.lastStepNumTokens = lastStep.tokens
        stats.lastStepNumSeqs = lastStep.seqs
        stats.lastStepPrefillTokens = lastStep.prefillTokens
        stats.numSteps = numSteps
        return stats
    }

    // MARK: - Step

    /// One iteration: schedule, run and sample, apply. Returns an output for every request that
    /// produced tokens (finished ones with their reason). On a model error nothing advances; the
    /// same work is scheduled again by the next call. The returned array is refilled by the next
    /// call: release it before stepping again, or that step copies it.
    public func step() throws -> [EngineCoreOutput] {
        let schedule = scheduler.schedule()
        lastStep = (0, 0, 0)
        guard !schedule.isEmpty else { return [] }
        numSteps += 1
        lastStep = (schedule.numScheduledTokens, schedule.scheduled.count, schedule.numPrefillTokens)
        let result = try runner.execute(schedule)
        for (item, outcome) in zip(schedule.scheduled, result.requests) where item.numDraftTokens > 0 {
            numDrafts += 1
            numDraftTokens += item.numDraftTokens
            numAcceptedTokens += outcome.numAcceptedDraftTokens
            for position in 0..<outcome.numAcceptedDraftTokens { acceptedTokensPerPosition[position] += 1 }
        }
        let outputs = scheduler.update(schedule, result)
        for output in outputs where output.finished {
            requests[output.requestId] = nil
            proposer?.forget(requestId: output.requestId)
        }
        if let proposer { proposeDrafts(proposer) }
        return outputs
    }

    /// Asks the proposer for the next tokens of every decoding request.
    private func proposeDrafts(_ proposer: any DraftProposer) {
        let limit = config.numSpeculativeTokens
        if let threshold = config.speculativeDisableByBatchSize, scheduler.running.count >= threshold {
            for request in scheduler.running { request.draftTokenIds.removeAll(keepingCapacity: true) }
            return
        }
        for request in scheduler.running where request.isDecoding {
            request.draftTokenIds.removeAll(keepingCapacity: true)
            proposer.propose(DraftContext(request: request), maxTokens: limit, into: &request.draftTokenIds)
            if request.draftTokenIds.count > limit { request.draftTokenIds.removeLast(request.draftTokenIds.count - limit) }
        }
    }
}
