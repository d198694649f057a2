import XCTest
@testable import EngineCore

final class EngineCoreBlockPoolTests: XCTestCase {
    private func hash(_ n: UInt64) -> BlockHash { BlockHash(n, n, n, n) }

    func testAllocationIsInIdOrderAndSkipsNullBlock() {
        let pool = BlockPool(numBlocks: 6, enableCaching: true)
        XCTAssertEqual(pool.numFreeBlocks, 5)
        var blocks: [Int] = []
        pool.allocate(3, appendingTo: &blocks)
        XCTAssertEqual(blocks, [1, 2, 3])
        XCTAssertEqual(pool.numFreeBlocks, 2)
        XCTAssertEqual(pool.usage, 0.6, accuracy: 1e-9)
        XCTAssertEqual(blocks.map { pool.refCount(of: $0) }, [1, 1, 1])
        pool.free(blocks.reversed())
        // Freed blocks go to the tail in the order given (tail block of the request first).
        XCTAssertEqual(pool.freeQueueOrder(), [4, 5, 3, 2, 1])
        XCTAssertEqual(pool.usage, 0)
    }

    func testCachedBlockSurvivesFreeAndIsEvictedLeastRecentlyFreedFirst() {
        let pool = BlockPool(numBlocks: 4, enableCaching: true)
        var blocks: [Int] = []
        pool.allocate(2, appendingTo: &blocks)
        pool.cache(block: 1, hash: hash(10))
        pool.cache(block: 2, hash: hash(20))
        pool.free([2, 1])
        XCTAssertEqual(pool.cachedBlock(for: hash(10)), 1)
        XCTAssertEqual(pool.freeQueueOrder(), [3, 2, 1])

        // Touching a cached free block takes it out of the free queue.
        pool.touch([1])
        XCTAssertEqual(pool.refCount(of: 1), 1)
        XCTAssertEqual(pool.freeQueueOrder(), [3, 2])

        var more: [Int] = []
        pool.allocate(2, appendingTo: &more)
        XCTAssertEqual(more, [3, 2])
        XCTAssertNil(pool.cachedBlock(for: hash(20)), "reallocated block 2 must lose its hash")
        XCTAssertEqual(pool.cachedBlock(for: hash(10)), 1)
        XCTAssertEqual(pool.numFreeBlocks, 0)
    }

    func testDuplicateHashKeepsFirstBlock() {
        let pool = BlockPool(numBlocks: 4, enableCaching: true)
        var blocks: [Int] = []
        pool.allocate(2, appendingTo: &blocks)
        pool.cache(block: 1, hash: hash(7))
        pool.cache(block: 2, hash: hash(7))
        XCTAssertEqual(pool.cachedBlock(for: hash(7)), 1)
        XCTAssertNil(pool.hash(of: 2))
    }

    func testResetPrefixCacheOnlyWhenIdle() {
        let pool = BlockPool(numBlocks: 4, enableCaching: true)
        var blocks: [Int] = []
        pool.allocate(1, appendingTo: &blocks)
        pool.cache(block: 1, hash: hash(1))
        XCTAssertFalse(pool.resetPrefixCache())
        pool.free(blocks)
        XCTAssertTrue(pool.resetPrefixCache())
        XCTAssertNil(pool.cachedBlock(for: hash(1)))
    }

    func testBlockHashChainsParentTokensAndSalt() {
        let root = BlockHash(1, 2, 3, 4)
        let a = BlockHash.chained(parent: root, tokens: [1, 2, 3, 4][...], extra: nil)
        XCTAssertEqual(a, BlockHash.chained(parent: root, tokens: [1, 2, 3, 4][...], extra: nil))
        XCTAssertNotEqual(a, BlockHash.chained(parent: root, tokens: [1, 2, 3, 5][...], extra: nil))
        XCTAssertNotEqual(a, BlockHash.chained(parent: BlockHash(1, 2, 3, 5), tokens: [1, 2, 3, 4][...], extra: nil))
        XCTAssertNotEqual(a, BlockHash.chained(parent: root, tokens: [1, 2, 3, 4][...], extra: Array("s".utf8)))
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256Digest.hash(Array("abc".utf8)),
                       [0xba7816bf8f01cfea, 0x414140de5dae2223, 0xb00361a396177a9c, 0xb410ff61f20015ad])
        XCTAssertEqual(SHA256Digest.hash([]),
                       [0xe3b0c44298fc1c14, 0x9afbf4c8996fb924, 0x27ae41e4649b934c, 0xa495991b7852b855])
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        XCTAssertEqual(SHA256Digest.hash(long),
                       [0x248d6a61d20638b8, 0xe5c026930c3e6039, 0xa33ce45964ff2167, 0xf6ecedd419db06c1])
    }
}

final class EngineCoreKVCacheManagerTests: XCTestCase {
    private func state(_ id: String, _ prompt: [Int], salt: String? = nil, promptLogprobs: Int? = nil) -> RequestState {
        var params = makeParams(maxTokens: 4)
        params.promptLogprobs = promptLogprobs
        return RequestState(request: makeRequest(id, prompt, params, salt: salt), maxTokens: 4, sequenceNumber: 0, vocabSize: 1 << 17)
    }

    /// Simulates the model computing everything that was allocated for.
    private func compute(_ manager: KVCacheManager, _ request: RequestState) {
        request.numComputedTokens = request.numTokens
        manager.cacheComputedBlocks(of: request)
    }

    func testPrefixHitExactBlocksAndTailFirstEviction() {
        let manager = KVCacheManager(numBlocks: 10, blockSize: 4, enableCaching: true)
        let a = state("a", Array(1...10))
        XCTAssertEqual(manager.computedBlocks(for: a).numTokens, 0)
        XCTAssertTrue(manager.allocateSlots(for: a, numNewTokens: 10))
        XCTAssertEqual(a.blocks, [1, 2, 3])
        compute(manager, a)
        XCTAssertEqual(a.numHashedBlocksCached, 2, "only full blocks are cached")
        manager.free(a)
        XCTAssertEqual(manager.pool.freeQueueOrder(), [4, 5, 6, 7, 8, 9, 3, 2, 1])

        // Same first 8 tokens: both full blocks hit.
        let b = state("b", Array(1...8) + [40, 41, 42])
        let hit = manager.computedBlocks(for: b)
        XCTAssertEqual(hit.blocks, [1, 2])
        XCTAssertEqual(hit.numTokens, 8)
        XCTAssertTrue(manager.allocateSlots(for: b, numNewTokens: 3, hitBlocks: hit.blocks))
        XCTAssertEqual(b.blocks, [1, 2, 4])
        XCTAssertEqual(b.numComputedTokens, 8)
        XCTAssertEqual(manager.pool.refCount(of: 1), 1)
        compute(manager, b)
        manager.free(b)
        XCTAssertEqual(manager.pool.freeQueueOrder(), [5, 6, 7, 8, 9, 3, 4, 2, 1])

        // Allocating 7 blocks evicts down to block 2 (the tail of the old request) but keeps block 1.
        let c = state("c", Array(100..<128))
        XCTAssertTrue(manager.allocateSlots(for: c, numNewTokens: 28))
        XCTAssertEqual(c.blocks, [5, 6, 7, 8, 9, 3, 4])
        let d = state("d", Array(1...8) + [50])
        XCTAssertEqual(manager.computedBlocks(for: d).blocks, [1, 2], "block 2 not yet evicted")
        let e = state("e", [60, 61, 62, 63, 64])
        XCTAssertTrue(manager.allocateSlots(for: e, numNewTokens: 4))
        XCTAssertEqual(e.blocks, [2])
        XCTAssertEqual(manager.computedBlocks(for: d).blocks, [1], "block 2 evicted, block 1 kept")
    }

    func testFullPromptHitStillRecomputesLastToken() {
        let manager = KVCacheManager(numBlocks: 10, blockSize: 4, enableCaching: true)
        let a = state("a", Array(1...8))
        XCTAssertTrue(manager.allocateSlots(for: a, numNewTokens: 8))
        compute(manager, a)
        manager.free(a)
        let b = state("b", Array(1...8))
        XCTAssertEqual(manager.computedBlocks(for: b).numTokens, 4)
    }

    func testAllocationFailureChangesNothing() {
        let manager = KVCacheManager(numBlocks: 4, blockSize: 4, enableCaching: true)
        let a = state("a", Array(1...12))
        XCTAssertTrue(manager.allocateSlots(for: a, numNewTokens: 12))
        let b = state("b", Array(20...24))
        XCTAssertFalse(manager.allocateSlots(for: b, numNewTokens: 5))
        XCTAssertEqual(b.blocks, [])
        XCTAssertEqual(manager.pool.numFreeBlocks, 0)
    }

    func testSaltAndPromptLogprobsDisableSharing() {
        let manager = KVCacheManager(numBlocks: 10, blockSize: 4, enableCaching: true)
        let a = state("a", Array(1...9), salt: "tenant-a")
        XCTAssertTrue(manager.allocateSlots(for: a, numNewTokens: 9))
        compute(manager, a)
        XCTAssertEqual(manager.computedBlocks(for: state("b", Array(1...9), salt: "tenant-b")).numTokens, 0)
        XCTAssertEqual(manager.computedBlocks(for: state("c", Array(1...9))).numTokens, 0)
        XCTAssertEqual(manager.computedBlocks(for: state("d", Array(1...9), salt: "tenant-a")).numTokens, 8)
        XCTAssertEqual(manager.computedBlocks(for: state("e", Array(1...9), salt: "tenant-a", promptLogprobs: 1)).numTokens, 0)
    }

    func testCachingDisabled() {
        let manager = KVCacheManager(numBlocks: 10, blockSize: 4, enableCaching: false)
        let a = state("a", Array(1...9))
        XCTAssertTrue(manager.allocateSlots(for: a, numNewTokens: 9))
        compute(manager, a)
        manager.free(a)
        XCTAssertEqual(manager.computedBlocks(for: state("b", Array(1...9))).numTokens, 0)
        XCTAssertEqual(manager.pool.numCachedBlocks, 0)
    }
}
