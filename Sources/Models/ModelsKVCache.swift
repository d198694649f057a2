import Foundation

/// The paged KV cache: per layer, K and V laid out [numBlocks][blockSize][numKVHeads][headDim] fp32.
final class PagedKVCache {
    let numBlocks: Int
    let blockSize: Int
    let kvDim: Int
    private let base: UnsafeMutableRawPointer
    private let floatsPerTensor: Int

    init(numLayers: Int, numBlocks: Int, blockSize: Int, kvDim: Int) throws {
        guard numBlocks > 0, blockSize > 0 else {
            throw ModelError.invalidBatch("KV cache needs at least one block of at least one token (got \(numBlocks) x \(blockSize))")
        }
        let (slots, o1) = numBlocks.multipliedReportingOverflow(by: blockSize)
        let (floats, o2) = slots.multipliedReportingOverflow(by: kvDim)
        let (bytes, o3) = floats.multipliedReportingOverflow(by: 2 * numLayers * MemoryLayout<Float>.stride)
        guard !(o1 || o2 || o3), slots <= Int(Int32.max) else {
            throw ModelError.invalidBatch("KV cache of \(numBlocks) blocks x \(blockSize) tokens is too large")
        }
        // calloc: large requests come straight from mmap, so untouched blocks cost no memory.
        guard let memory = calloc(bytes / MemoryLayout<Float>.stride, MemoryLayout<Float>.stride) else {
            throw ModelError.invalidBatch("cannot allocate \(bytes) bytes for the KV cache")
        }
        base = memory
        floatsPerTensor = floats
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.kvDim = kvDim
    }

    deinit { free(base) }

    var slotCount: Int { numBlocks * blockSize }

    func keys(layer: Int) -> UnsafeMutablePointer<Float> {
        base.assumingMemoryBound(to: Float.self) + (2 * layer) * floatsPerTensor
    }

    func values(layer: Int) -> UnsafeMutablePointer<Float> {
        base.assumingMemoryBound(to: Float.self) + (2 * layer + 1) * floatsPerTensor
    }
}
