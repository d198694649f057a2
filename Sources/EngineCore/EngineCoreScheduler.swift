// vLLM v1-style scheduler: one token budget per step, running requests first (decodes and
// unfinished prefill chunks), then waiting ones while their blocks fit; recompute preemption.

struct ScheduledChunk {
    let request: RequestState
    let numNewTokens: Int
}

final class Scheduler {
    let config: SchedulerConfig
    let kvCache: KVCacheManager
    private(set) var waiting: [RequestState] = []
    private(set) var running: [RequestState] = []
    private(set) var numPreemptions = 0
    private(set) var promptTokens = 0
    private var scheduled: [ScheduledChunk] = []
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
    }

    func schedule() -> [ScheduledChunk] {
        scheduled.removeAll(keepingCapacity: true)
        var budget = config.maxNumBatchedTokens
        var preemptedAny = false

        var index = 0
        while index < running.count && budget > 0 {
            let request = running[index]
            let numNew = tokensToSchedule(request, budget: budget)
            if numNew <= 0 { index += 1; continue }
            var allocated = false
            while !allocated {
                if kvCache.allocateSlots(for: request, numNewTokens: numNew) { allocated = true; break }
                let victimIndex = preemptionVictimIndex()
                let victim = running[victimIndex]
                running.remove(at: victimIndex)
                if let at = scheduled.firstIndex(where: { $0.request === victim }) {
                    budget += scheduled[at].numNewTokens
                    scheduled.remove(at: at)
                }
                preempt(victim)
                preemptedAny = true
                if victim === request { break }
                if victimIndex < index { index -= 1 }
            }
            guard allocated else { continue }  // the request preempted itself; `index` is its successor
            scheduled.append(ScheduledChunk(request: request, numNewTokens: numNew))
            budget -= numNew
            index += 1
        }

        // Admitting new work while running requests are being preempted would only thrash.
        if !preemptedAny { admitWaiting(budget: &budget) }
        return scheduled
    }

    private func admitWaiting(budget: inout Int) {
        guard !waiting.isEmpty else { return }
        pendingPrefixHashes.removeAll(keepingCapacity: true)
        for request in running { kvCache.pendingPromptBlockHashes(of: request, into: &pendingPrefixHashes) }

        var index = 0
        while index < waiting.count && running.count < config.maxNumSeqs && budget > 0 {
            let request = waiting[index]
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
            scheduled.append(ScheduledChunk(request: request, numNewTokens: numNew))
            budget -= numNew
        }
    }

    private func tokensToSchedule(_ request: RequestState, budget: Int) -> Int {
        var numNew = request.numTokens - request.numComputedTokens
        if let threshold = config.longPrefillTokenThreshold { numNew = min(numNew, threshold) }
        return min(numNew, budget)
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
        numPreemptions += 1
        request.status = .waiting
        switch config.policy {
        case .fcfs: waiting.insert(request, at: 0)
        case .priority: enqueue(request)
        }
    }
}
