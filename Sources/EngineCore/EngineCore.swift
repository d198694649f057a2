// The engine core: owns requests and KV blocks, and runs one schedule -> forward -> sample ->
// update iteration per `step()`. Single-threaded: callers serialize access (the async engine
// runs it on one thread or actor).
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
    private let sampler: Sampler
    private var requests: [String: RequestState] = [:]
    private var nextSequenceNumber = 0
    private var generationTokens = 0
    private var lastStep = (tokens: 0, seqs: 0, prefillTokens: 0)
    private var numSteps = 0

    // Reused every step so a warmed-up decode step allocates nothing.
    private var batch = ForwardBatch()
    private var logits: [Float] = []
    private var plans: [RowPlan] = []
    /// The array `step()` returns: refilled in place once the caller has released the previous one.
    private var outputs: [EngineCoreOutput] = []

    /// Where a scheduled request's rows and logits sit in this step's batch.
    private struct RowPlan {
        var firstRow: Int
        var firstLogitRow: Int
        var numPromptLogitRows: Int
        /// Logit row to sample from, or -1 for a prefill chunk that does not reach the end.
        var sampleLogitRow: Int
    }

    /// Validates `config`, then sizes the model's KV cache to `config.numBlocks` blocks.
    public init(model: any CausalLanguageModel, config: SchedulerConfig) throws {
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
        sampler = Sampler(vocabSize: spec.vocabSize, seed: config.seed)
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
        let state = RequestState(request: request, maxTokens: maxTokens, sequenceNumber: nextSequenceNumber)
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
        stats.generationTokens = generationTokens
        stats.lastStepNumTokens = lastStep.tokens
        stats.lastStepNumSeqs = lastStep.seqs
        stats.lastStepPrefillTokens = lastStep.prefillTokens
        stats.numSteps = numSteps
        return stats
    }

    // MARK: - Step

    /// One iteration: schedule, run the model on the batch, sample, and update requests. Returns an
    /// output for every request that produced a token (and finished ones, with their reason). On a
    /// model error nothing advances; the same work is scheduled again by the next call.
    public func step() throws -> [EngineCoreOutput] {
        let chunks = scheduler.schedule()
        lastStep = (0, 0, 0)
        guard !chunks.isEmpty else { return [] }
        numSteps += 1
        buildBatch(chunks)
        lastStep = (batch.numTokens, chunks.count,
                    chunks.reduce(0) { $0 + ($1.request.numComputedTokens < $1.request.promptLength ? $1.numNewTokens : 0) })

        let rows = batch.logitRows.count
        let needed = rows * vocabSize
        if logits.count < needed { logits = [Float](repeating: 0, count: needed) }
        do {
            try logits.withUnsafeMutableBufferPointer { buffer in
                try model.forward(batch, logits: UnsafeMutableBufferPointer(rebasing: buffer[0..<needed]))
            }
        } catch {
            throw EngineCoreError(.modelFailure, "Model forward failed on a batch of \(batch.numTokens) tokens "
                + "from \(chunks.count) requests: \(error)")
        }

        // Before any update: releases last step's outputs, and with them each request's token buffer.
        outputs.removeAll(keepingCapacity: true)
        outputs.reserveCapacity(chunks.count)
        logits.withUnsafeBufferPointer { allLogits in
            for (index, chunk) in chunks.enumerated() {
                if let output = update(chunk, plan: plans[index], logits: allLogits) { outputs.append(output) }
            }
        }
        return outputs
    }

    private func buildBatch(_ chunks: [ScheduledChunk]) {
        batch.reset()
        plans.removeAll(keepingCapacity: true)
        let blockSize = config.blockSize
        var maxBlocks = 0
        for chunk in chunks { maxBlocks = max(maxBlocks, chunk.request.blocks.count) }
        batch.maxBlocksPerSeq = maxBlocks
        // Sized like vLLM's block table (every sequence at full length), so sequences growing into
        // new blocks never reallocate it during decode.
        let tableCapacity = chunks.count * ((config.maxModelLen + blockSize - 1) / blockSize)
        if batch.blockTables.capacity < tableCapacity { batch.blockTables.reserveCapacity(tableCapacity) }

        for chunk in chunks {
            let request = chunk.request
            let start = request.numComputedTokens
            let end = start + chunk.numNewTokens
            let firstRow = batch.tokenIds.count
            for position in start..<end {
                batch.tokenIds.append(Int32(truncatingIfNeeded: request.tokens[position]))
                batch.positions.append(Int32(position))
                let block = request.blocks[position / blockSize]
                batch.slotMapping.append(Int32(block * blockSize + position % blockSize))
            }
            batch.queryStart.append(Int32(batch.tokenIds.count))
            batch.seqLens.append(Int32(end))
            for block in request.blocks { batch.blockTables.append(Int32(block)) }
            for _ in request.blocks.count..<maxBlocks { batch.blockTables.append(Int32(BlockPool.nullBlockId)) }

            var plan = RowPlan(firstRow: firstRow, firstLogitRow: batch.logitRows.count,
                               numPromptLogitRows: 0, sampleLogitRow: -1)
            if request.needsPromptLogprobs {
                // Row p predicts token p + 1: every prompt row of the chunk is needed.
                let promptEnd = min(end, request.promptLength)
                for position in start..<promptEnd {
                    batch.logitRows.append(Int32(firstRow + position - start))
                }
                plan.numPromptLogitRows = max(0, promptEnd - start)
            }
            if end == request.numTokens {
                if plan.numPromptLogitRows > 0 && end - 1 < request.promptLength {
                    plan.sampleLogitRow = batch.logitRows.count - 1
                } else {
                    batch.logitRows.append(Int32(firstRow + end - 1 - start))
                    plan.sampleLogitRow = batch.logitRows.count - 1
                }
            }
            plans.append(plan)
        }
    }

    private func update(_ chunk: ScheduledChunk, plan: RowPlan, logits: UnsafeBufferPointer<Float>) -> EngineCoreOutput? {
        let request = chunk.request
        let start = request.numComputedTokens
        request.numComputedTokens += chunk.numNewTokens
        func row(_ logitRow: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: logits[(logitRow * vocabSize)..<((logitRow + 1) * vocabSize)])
        }

        if plan.numPromptLogitRows > 0, let topCount = request.params.promptLogprobs {
            if start == 0 { request.pendingPromptLogprobs.append(nil) }
            for i in 0..<plan.numPromptLogitRows {
                let nextPosition = start + i + 1
                guard nextPosition < request.promptLength else { continue }
                request.pendingPromptLogprobs.append(
                    sampler.logprobs(row: row(plan.firstLogitRow + i), token: request.tokens[nextPosition],
                                     topCount: topCount))
            }
        }
        guard plan.sampleLogitRow >= 0 else {
            scheduler.kvCache.cacheComputedBlocks(of: request)
            return nil
        }

        let sampleRow = row(plan.sampleLogitRow)
        let token = sampler.sample(row: sampleRow, request: request)
        let newLogprobs = request.params.logprobs.map {
            [sampler.logprobs(row: sampleRow, token: token, topCount: $0)]
        }
        var promptLogprobs: [TokenLogprobs?]?
        if request.needsPromptLogprobs {
            promptLogprobs = request.pendingPromptLogprobs
            request.pendingPromptLogprobs = []
            request.promptLogprobsDelivered = true
        }
        scheduler.kvCache.cacheComputedBlocks(of: request)
        request.appendOutputToken(token)
        generationTokens += 1

        let stop = stopCondition(request, lastToken: token)
        let output = EngineCoreOutput(requestId: request.id, newTokenIds: request.stepTokenIds(token), newLogprobs: newLogprobs,
                                      promptLogprobs: promptLogprobs, finishReason: stop?.reason,
                                      stopReason: stop?.stopTokenId, numCachedTokens: request.numCachedTokens ?? 0)
        if stop != nil {
            requests[request.id] = nil
            scheduler.remove(request)
        }
        return output
    }

    /// vLLM check_stop: EOS (unless ignore_eos) and stop_token_ids once min_tokens are out, then
    /// max_tokens and max_model_len.
    private func stopCondition(_ request: RequestState, lastToken: Int) -> (reason: FinishReason, stopTokenId: Int?)? {
        if request.numOutputTokens >= request.params.minTokens {
            if request.eosTokenIds.contains(lastToken) { return (.stop, nil) }
            if request.params.stopTokenIds.contains(lastToken) { return (.stop, lastToken) }
        }
        if request.numOutputTokens >= request.maxTokens || request.numTokens >= config.maxModelLen {
            return (.length, nil)
        }
        return nil
    }
}
