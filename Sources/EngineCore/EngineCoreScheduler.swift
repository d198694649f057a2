// vLLM v1-style scheduler: one token budget per step, running requests first (decodes, with their
// draft tokens in lookahead slots, and unfinished prefill chunks), then waiting ones while their
// blocks fit; recompute preemption. `schedule()` decides a step, `update(_:_:)` applies the model
// runner's result to it.

final class Scheduler {
    let config: SchedulerConfig
    let kvCache: KVCacheManager
    private(set) var waiting: [RequestState] = []
    private(set) var running: [RequestState] = []
    private(set) var numPreemptions = 0
    private(set) var promptTokens = 0
    private(set) var generationTokens = 0
    private var output = SchedulerOutput()
    /// Finished or aborted since the last `schedule()`; handed on in the next output.
    private var finishedSinceLastSchedule: [String] = []
    /// The array `update` returns: refilled in place once the caller has released the previous one.
    private var coreOutputs: [EngineCoreOutput] = []
    private var pendingPrefixHashes = Set<BlockHash>()

    init(config: SchedulerConfig) {
        self.config = config
        kvCache = KVCacheManager(numBlocks: config.numBlocks, blockSize: config.blockSize,
                                 enableCaching: config.enablePrefixCaching)
    }

    func enqueue(_ request: RequestState) {
        request.status = .waiting
        switch config.policy {
        case .fcfs:
            waiting.append(request)
        case .priority:
            let index = waiting.firstIndex { request.servedBefore($0) } ?? waiting.count
            waiting.insert(request, at: index)
        }
    }

    /// Removes the request wherever it is and frees its blocks.
    func remove(_ request: RequestState) {
        if let index = running.firstIndex(where: { $0 === request }) { running.remove(at: index) }
        if let index = waiting.firstIndex(where: { $0 === request }) { waiting.remove(at: index) }
        kvCache.free(request)
        request.status = .finished
        finishedSinceLastSchedule.append(request.id)
    }

    func schedule() -> SchedulerOutput {
        output.reset()
        swap(&output.finishedRequestIds, &finishedSinceLastSchedule)
        finishedSinceLastSchedule.removeAll(keepingCapacity: true)
        var budget = config.maxNumBatchedTokens
        var preemptedAny = false

        var index = 0
        while index < running.count && budget > 0 {
            let request = running[index]
            let (numNew, numDrafts) = tokensToSchedule(request, budget: budget)
            if numNew <= 0 { index += 1; continue }
            request.blocksBeforeStep = request.blocks.count
            var allocated = false
            while !allocated {
                if kvCache.allocateSlots(for: request, numNewTokens: numNew) { allocated = true; break }
                let victimIndex = preemptionVictimIndex()
                let victim = running[victimIndex]
                running.remove(at: victimIndex)
                if let at = output.scheduled.firstIndex(where: { $0.request === victim }) {
                    budget += output.scheduled[at].numNewTokens
                    output.scheduled.remove(at: at)
                }
                preempt(victim)
                preemptedAny = true
                if victim === request { break }
                if victimIndex < index { index -= 1 }
            }
            guard allocated else { continue }  // the request preempted itself; `index` is its successor
            output.scheduled.append(ScheduledRequest(request: request, numNewTokens: numNew, numDraftTokens: numDrafts))
            budget -= numNew
            index += 1
        }

        // Admitting new work while running requests are being preempted would only thrash.
        if !preemptedAny { admitWaiting(budget: &budget) }
        recordNewBlocks()
        return output
    }

    /// Fills `newBlockIds`: the blocks each scheduled request gained this step (a decode that stays
    /// inside its last block gains none).
    private func recordNewBlocks() {
        for index in output.scheduled.indices {
            let request = output.scheduled[index].request
            let first = output.newBlockIds.count
            for block in request.blocks[request.blocksBeforeStep...] { output.newBlockIds.append(block) }
            output.scheduled[index].newBlocks = first..<output.newBlockIds.count
        }
    }

    private func admitWaiting(budget: inout Int) {
        guard !waiting.isEmpty else { return }
        pendingPrefixHashes.removeAll(keepingCapacity: true)
        for request in running { kvCache.pendingPromptBlockHashes(of: request, into: &pendingPrefixHashes) }

        var index = 0
        while index < waiting.count && running.count < config.maxNumSeqs && budget > 0 {
            let request = waiting[index]
            guard request.processorsReady else {
                // vLLM's WAITING_FOR_FSM: skipped, not blocking the requests behind it.
                request.status = .waitingForGrammar
                index += 1
                continue
            }
            let hit = kvCache.computedBlocks(for: request)
            // A running request is computing this prompt's next block: wait one step and share it
            // (how n > 1 children and identical system prompts avoid computing the prefix twice).
            if let next = kvCache.nextUncachedBlockHash(for: request, numHitBlocks: hit.blocks.count),
               pendingPrefixHashes.contains(next) {
                index += 1
                continue
            }
            var numNew = request.numTokens - hit.numTokens
            if let threshold = config.longPrefillTokenThreshold { numNew = min(numNew, threshold) }
            if !config.enableChunkedPrefill && numNew > budget { break }
            numNew = min(numNew, budget)
            request.blocksBeforeStep = 0
            guard kvCache.allocateSlots(for: request, numNewTokens: numNew, hitBlocks: hit.blocks) else { break }

            waiting.remove(at: index)
            kvCache.recordPrefixCacheLookup(queries: request.numTokens, hits: hit.numTokens)
            if request.numCachedTokens == nil {
                request.numCachedTokens = hit.numTokens
                promptTokens += request.promptLength
            }
            request.status = .running
            running.append(request)
            kvCache.pendingPromptBlockHashes(of: request, into: &pendingPrefixHashes)
            output.scheduled.append(ScheduledRequest(request: request, numNewTokens: numNew))
            budget -= numNew
        }
    }

    /// Tokens to compute for a running request this step, and how many of them are drafts.
    private func tokensToSchedule(_ request: RequestState, budget: Int) -> (numNew: Int, numDrafts: Int) {
        var numNew = request.numTokens - request.numComputedTokens
        if numNew == 1 && !request.draftTokenIds.isEmpty {
            // Drafts may not run past max_tokens - 1 more KV tokens (what admission reserved room for)
            // nor past max_model_len.
            let room = min(request.maxTokens - request.numOutputTokens, config.maxModelLen - request.numTokens) - 1
            let drafts = max(0, min(request.draftTokenIds.count, room, budget - 1))
            return (1 + drafts, drafts)
        }
        if let threshold = config.longPrefillTokenThreshold { numNew = min(numNew, threshold) }
        return (min(numNew, budget), 0)
    }

    private func preemptionVictimIndex() -> Int {
        switch config.policy {
        case .fcfs:
            return running.count - 1
        case .priority:
            var best = 0
            for i in 1..<running.count where running[i].preemptsBefore(running[best]) { best = i }
            return best
        }
    }

    /// Recompute preemption: drop the KV, keep the generated tokens, and go back to the front of the
    /// waiting queue (its cached blocks usually survive in the prefix cache).
    private func preempt(_ request: RequestState) {
        kvCache.free(request)
        request.numComputedTokens = 0
        request.numPreemptions += 1
        request.pendingPromptLogprobs.removeAll()
        request.draftTokenIds.removeAll(keepingCapacity: true)
        numPreemptions += 1
        output.preemptedRequestIds.append(request.id)
        request.status = .waiting
        switch config.policy {
        case .fcfs: waiting.insert(request, at: 0)
        case .priority: enqueue(request)
        }
    }
}

// MARK: - Applying a step's result

extension Scheduler {
    /// Applies the runner's result to the step `schedule` decided: advances computed tokens, rolls
    /// back the KV of rejected drafts, caches full blocks, appends sampled tokens and checks stop
    /// conditions (vLLM `update_from_output`). Finished requests are removed and their blocks freed.
    /// Returns one output per request that produced tokens; `[EngineCoreOutput]` is reused in place.
    func update(_ schedule: SchedulerOutput, _ result: ModelRunnerOutput) -> [EngineCoreOutput] {
        coreOutputs.removeAll(keepingCapacity: true)
        coreOutputs.reserveCapacity(schedule.scheduled.count)
        for (item, outcome) in zip(schedule.scheduled, result.requests) {
            let request = item.request
            request.draftTokenIds.removeAll(keepingCapacity: true)
            let rejectedDrafts = item.numDraftTokens - outcome.numAcceptedDraftTokens
            request.numComputedTokens += item.numNewTokens - rejectedDrafts
            if rejectedDrafts > 0 { kvCache.releaseLookaheadBlocks(of: request) }
            if let chunk = outcome.promptLogprobs {
                if request.pendingPromptLogprobs.isEmpty { request.pendingPromptLogprobs.append(nil) }
                request.pendingPromptLogprobs.append(contentsOf: chunk)
            }
            guard !outcome.sampled.isEmpty else {
                kvCache.cacheComputedBlocks(of: request)
                continue
            }

            var promptLogprobs: [TokenLogprobs?]?
            if request.needsPromptLogprobs {
                promptLogprobs = request.pendingPromptLogprobs
                request.pendingPromptLogprobs = []
                request.promptLogprobsDelivered = true
            }
            var appended = 0
            var stop: (reason: FinishReason, stopTokenId: Int?)?
            for token in result.sampledTokenIds[outcome.sampled] {
                request.appendOutputToken(token)
                appended += 1
                generationTokens += 1
                stop = stopCondition(request, lastToken: token)
                if stop != nil { break }  // tokens verified past a stop are dropped, as in vLLM
            }
            // Accepted drafts have KV but were tokens only once appended; a stop may have cut them.
            request.numComputedTokens = min(request.numComputedTokens, request.numTokens)
            kvCache.cacheComputedBlocks(of: request)
            let newTokens = result.sampledTokenIds[outcome.sampled.lowerBound..<(outcome.sampled.lowerBound + appended)]
            var newLogprobs = outcome.logprobs
            if let count = newLogprobs?.count, count > appended { newLogprobs?.removeLast(count - appended) }
            coreOutputs.append(EngineCoreOutput(requestId: request.id, newTokenIds: request.stepTokenIds(newTokens),
                                                newLogprobs: newLogprobs, promptLogprobs: promptLogprobs,
                                                finishReason: stop?.reason, stopReason: stop?.stopTokenId,
                                                numCachedTokens: request.numCachedTokens ?? 0))
            if stop != nil { remove(request) }
        }
        return coreOutputs
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
