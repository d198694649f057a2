// The KV block pool: reference counts, an LRU free queue with O(1) removal from the middle, and
// the prefix-cache map from block hash to block id (vLLM v1 block_pool.py / kv_cache_utils.py).

final class BlockPool {
    /// Block 0 is never handed out: block tables are padded with it.
    static let nullBlockId = 0

    let numBlocks: Int
    let enableCaching: Bool
    private(set) var numFreeBlocks: Int
    private var refCounts: [Int32]
    private var blockHashes: [BlockHash?]
    private var cachedBlockByHash: [BlockHash: Int] = [:]

    // Intrusive doubly linked free list over block ids; `sentinel` (= numBlocks) is both head and
    // tail anchor. Head = least recently freed = next to be evicted.
    private var prev: [Int]
    private var next: [Int]
    private var inFreeQueue: [Bool]
    private var sentinel: Int { numBlocks }

    init(numBlocks: Int, enableCaching: Bool) {
        self.numBlocks = numBlocks
        self.enableCaching = enableCaching
        refCounts = [Int32](repeating: 0, count: numBlocks)
        blockHashes = [BlockHash?](repeating: nil, count: numBlocks)
        prev = [Int](repeating: 0, count: numBlocks + 1)
        next = [Int](repeating: 0, count: numBlocks + 1)
        inFreeQueue = [Bool](repeating: false, count: numBlocks)
        // At most one entry per block: sized once, caching a block never rehashes.
        if enableCaching { cachedBlockByHash.reserveCapacity(numBlocks) }
        numFreeBlocks = 0
        prev[numBlocks] = numBlocks
        next[numBlocks] = numBlocks
        for id in 1..<numBlocks { appendToFreeQueue(id) }
    }

    /// Blocks a request may hold (all but the null block).
    var numUsableBlocks: Int { numBlocks - 1 }

    var usage: Double { numUsableBlocks == 0 ? 0 : Double(numUsableBlocks - numFreeBlocks) / Double(numUsableBlocks) }

    func refCount(of block: Int) -> Int { Int(refCounts[block]) }

    func hash(of block: Int) -> BlockHash? { blockHashes[block] }

    func cachedBlock(for hash: BlockHash) -> Int? { cachedBlockByHash[hash] }

    var numCachedBlocks: Int { cachedBlockByHash.count }

    /// Pops `count` blocks from the head of the free queue (evicting their cached hashes) and
    /// appends them to `blocks`. The caller has checked `numFreeBlocks`.
    func allocate(_ count: Int, appendingTo blocks: inout [Int]) {
        for _ in 0..<count {
            let id = next[sentinel]
            guard id != sentinel else { return }  // unreachable when the caller checked numFreeBlocks
            removeFromFreeQueue(id)
            evictCachedHash(of: id)
            refCounts[id] = 1
            blocks.append(id)
        }
    }

    /// Takes a reference on prefix-cache hits; a block with no holders leaves the free queue.
    func touch(_ blocks: [Int]) {
        for id in blocks {
            if refCounts[id] == 0 && inFreeQueue[id] { removeFromFreeQueue(id) }
            refCounts[id] += 1
        }
    }

    /// Drops one reference from each block, in the given order; blocks nobody holds go to the tail
    /// of the free queue (keeping their hash, so they stay reusable until evicted).
    func free<C: Collection>(_ blocks: C) where C.Element == Int {
        for id in blocks where id != BlockPool.nullBlockId {
            guard refCounts[id] > 0 else { continue }
            refCounts[id] -= 1
            if refCounts[id] == 0 { appendToFreeQueue(id) }
        }
    }

    /// Registers a full, computed block under its hash. A hash already cached by another block keeps
    /// that block (this one stays an uncached duplicate until freed).
    func cache(block id: Int, hash: BlockHash) {
        guard enableCaching, blockHashes[id] == nil, cachedBlockByHash[hash] == nil else { return }
        blockHashes[id] = hash
        cachedBlockByHash[hash] = id
    }

    /// Forgets every cached hash; only possible when no request holds a block (vLLM semantics).
    func resetPrefixCache() -> Bool {
        guard numFreeBlocks == numUsableBlocks else { return false }
        cachedBlockByHash.removeAll(keepingCapacity: true)
        for id in 0..<numBlocks { blockHashes[id] = nil }
        return true
    }

    /// Free queue from next-to-evict to most recently freed (for tests and debugging).
    func freeQueueOrder() -> [Int] {
        var order: [Int] = []
        var id = next[sentinel]
        while id != sentinel { order.append(id); id = next[id] }
        return order
    }

    private func evictCachedHash(of id: Int) {
        guard let hash = blockHashes[id] else { return }
        if cachedBlockByHash[hash] == id { cachedBlockByHash[hash] = nil }
        blockHashes[id] = nil
    }

    private func appendToFreeQueue(_ id: Int) {
        let last = prev[sentinel]
        next[last] = id
        prev[id] = last
        next[id] = sentinel
        prev[sentinel] = id
        inFreeQueue[id] = true
        numFreeBlocks += 1
    }

    private func removeFromFreeQueue(_ id: Int) {
        next[prev[id]] = next[id]
        prev[next[id]] = prev[id]
        inFreeQueue[id] = false
        numFreeBlocks -= 1
    }
}
