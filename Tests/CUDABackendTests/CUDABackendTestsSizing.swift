import XCTest
@testable import CUDABackend

final class CUDABackendTestsSizing: XCTestCase {
    let gib = 1 << 30

    func testBudgetMinusUsedMinusReserve() throws {
        // 80 GiB card, 3 GiB in use (weights + context), 90%: 72 - 3 - 0.25 GiB left for KV.
        let sizing = CUDAKVCacheSizing(freeBytes: 77 * gib, totalBytes: 80 * gib, gpuMemoryUtilization: 0.9,
                                       bytesPerBlock: 1 << 20, reserveBytes: 256 << 20)
        let expected = Int(Double(80 * gib) * 0.9) - 3 * gib - (256 << 20)
        XCTAssertEqual(try sizing.kvCacheBytes(), expected)
        XCTAssertEqual(try sizing.numBlocks(), expected / (1 << 20))
    }

    func testNeverMoreThanFree() throws {
        // Another process holds memory the budget would count as ours: free bytes cap the cache.
        let sizing = CUDAKVCacheSizing(freeBytes: 10 * gib, totalBytes: 80 * gib, gpuMemoryUtilization: 1.0,
                                       bytesPerBlock: gib, reserveBytes: 0)
        XCTAssertEqual(try sizing.numBlocks(), 10)
    }

    func testPartialBlocksRoundDown() throws {
        let sizing = CUDAKVCacheSizing(freeBytes: 1000, totalBytes: 1000, gpuMemoryUtilization: 1.0,
                                       bytesPerBlock: 300, reserveBytes: 0)
        XCTAssertEqual(try sizing.numBlocks(), 3)
    }

    func testNoRoomThrowsWithNumbers() {
        let sizing = CUDAKVCacheSizing(freeBytes: 10 * gib, totalBytes: 80 * gib, gpuMemoryUtilization: 0.5,
                                       bytesPerBlock: 1 << 20)
        XCTAssertThrowsError(try sizing.numBlocks()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("no room for the KV cache"), message)
            XCTAssertTrue(message.contains("--gpu-memory-utilization"), message)
        }
    }

    func testRejectsBadSettings() {
        for utilization in [0.0, -0.1, 1.5, .nan] {
            let sizing = CUDAKVCacheSizing(freeBytes: gib, totalBytes: gib, gpuMemoryUtilization: utilization,
                                           bytesPerBlock: 1024)
            XCTAssertThrowsError(try sizing.numBlocks(), "utilization \(utilization)")
        }
        XCTAssertThrowsError(try CUDAKVCacheSizing(freeBytes: 2 * gib, totalBytes: gib, gpuMemoryUtilization: 0.9,
                                                   bytesPerBlock: 1024).numBlocks())
        XCTAssertThrowsError(try CUDAKVCacheSizing(freeBytes: gib, totalBytes: gib, gpuMemoryUtilization: 0.9,
                                                   bytesPerBlock: 0).numBlocks())
    }

    func testBytesPerBlockMatchesBF16Layout() {
        // K and V, every layer, bf16: Llama-3.2-1B shape (16 layers, 8 kv heads x 64) at block 16.
        XCTAssertEqual(CUDAKVCache.bytesPerBlock(numLayers: 16, blockSize: 16, kvDim: 512), 2 * 16 * 16 * 512 * 2)
    }
}
