// Maps requests to KV blocks: prefix-cache lookup, slot allocation, caching of computed full
// blocks, and freeing (vLLM v1 kv_cache_manager.py).

final class KVCacheManager {
    let pool: BlockPool
    let blockSize: Int
    let enableCaching: Bool
    let rootHash = BlockHash.randomRoot()

    /// Cumulative prefix-cache lookups and hits, in tokens.
    private(set) var prefixCacheQueries = 0
    private(set) var prefixCacheHits = 0

    init(numBlocks: Int, blockSize: Int, enableCaching: Bool) {
        pool = BlockPool(numBlocks: numBlocks, enableCaching: enableCaching)
        self.blockSize = blockSize
        self.enableCaching = enableCaching
    }

    var usage: Double { pool.usage }

    /// Longest run of cached full blocks at the start of the request's tokens. Never the whole
    /// sequence: the last token is always recomputed so its logits exist.
    func computedBlocks(for request: RequestState) -> (blocks: [Int], numTokens: Int) {
        guard enableCaching, !request.needsPromptLogprobs else { return ([], 0) }
        let maxHitBlocks = (request.numTokens - 1) / blockSize
        var hits: [Int] = []
        for index in 0..<maxHitBlocks {
            let hash = request.blockHash(at: index, blockSize: blockSize, root: rootHash)
            guard let block = pool.cachedBlock(for: hash) else { break }
            hits.append(block)
        }
        return (hits, hits.count * blockSize)
    }

    /// Hash of the first full block of `request` past its cache hit, if the hit could grow by one
    /// more block (used to wait for a running request that is computing the same prefix).
    func nextUncachedBlockHash(for request: RequestState, numHitBlocks: Int) -> BlockHash? {
        guard enableCaching, !request.needsPromptLogprobs,
              numHitBlocks < (request.numTokens - 1) / blockSize else { return nil }
        return request.blockHash(at: numHitBlocks, blockSize: blockSize, root: rootHash)
    }

    /// Full prompt blocks the running request has not computed yet.
    func pendingPromptBlockHashes(of request: RequestState, into set: inout Set<BlockHash>) {
        guard enableCaching, !request.needsPromptLogprobs else { return }
        let fullPromptBlocks = request.promptLength / blockSize
        guard request.numHashedBlocksCached < fullPromptBlocks else { return }
        for index in request.numHashedBlocksCached..<fullPromptBlocks {
            set.insert(request.blockHash(at: index, blockSize: blockSize, root: rootHash))
        }
    }

    func recordPrefixCacheLookup(queries: Int, hits: Int) {
        prefixCacheQueries += queries
        prefixCacheHits += hits
    }

    /// Gives the request room for `numNewTokens` more tokens (after `hitBlocks`, the prefix-cache
    /// hit of a newly admitted request). Returns false, changing nothing, when blocks are short.
    func allocateSlots(for request: RequestState, numNewTokens: Int, hitBlocks: [Int] = []) -> Bool {
        let totalTokens = request.numComputedTokens + hitBlocks.count * blockSize + numNewTokens
        let blocksNeeded = (totalTokens + blockSize - 1) / blockSize
        let newBlocks = max(0, blocksNeeded - request.blocks.count - hitBlocks.count)
        // Hits nobody holds sit in the free queue: touching them uses up free blocks too.
        let idleHits = hitBlocks.reduce(0) { $0 + (pool.refCount(of: $1) == 0 ? 1 : 0) }
        guard newBlocks + idleHits <= pool.numFreeBlocks else { return false }
        request.reserveBlockStorage(blockSize: blockSize)
        if !hitBlocks.isEmpty {
            pool.touch(hitBlocks)
            request.blocks.append(contentsOf: hitBlocks)
            request.numHashedBlocksCached = hitBlocks.count
            request.numComputedTokens += hitBlocks.count * blockSize
        }
        pool.allocate(newBlocks, appendingTo: &request.blocks)
        return true
    }

    /// Registers the request's computed full blocks in the prefix cache. Called after the forward
    /// pass, so a cached block always holds written KV.
    func cacheComputedBlocks(of request: RequestState) {
        guard enableCaching, !request.needsPromptLogprobs else { return }
        let fullBlocks = min(request.numComputedTokens / blockSize, request.blocks.count)
        guard request.numHashedBlocksCached < fullBlocks else { return }
        for index in request.numHashedBlocksCached..<fullBlocks {
            let hash = request.blockHash(at: index, blockSize: blockSize, root: rootHash)
            pool.cache(block: request.blocks[index], hash: hash)
        }
        request.numHashedBlocksCached = fullBlocks
    }

    /// After rejected drafts were taken back: frees the lookahead blocks that no longer hold any
    /// computed token, so the request again holds exactly the blocks of its computed tokens.
    func releaseLookaheadBlocks(of request: RequestState) {
        let needed = (request.numComputedTokens + blockSize - 1) / blockSize
        guard request.blocks.count > needed else { return }
        pool.free(request.blocks[needed...].reversed())
        request.blocks.removeLast(request.blocks.count - needed)
    }

    /// Releases the request's blocks, tail first, so the least shareable blocks are evicted first.
    func free(_ request: RequestState) {
        pool.free(request.blocks.reversed())
        request.blocks.removeAll(keepingCapacity: true)
        request.numHashedBlocksCached = 0
    }

    func resetPrefixCache() -> Bool { pool.resetPrefixCache() }
}
