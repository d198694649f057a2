import CKernels
import Foundation

/// The paged KV cache: per layer, K and V laid out [numBlocks][numKVHeads][blockSize][headDim] of
/// `dtype` (VK_F32 or VK_F16).
final class PagedKVCache {
    let numBlocks: Int
    let blockSize: Int
    let kvDim: Int
    let dtype: vk_dtype
    private let base: UnsafeMutableRawPointer
    private let bytesPerTensor: Int

    static func elementBytes(_ dtype: vk_dtype) -> Int { dtype == VK_F16 ? 2 : 4 }

    init(numLayers: Int, numBlocks: Int, blockSize: Int, kvDim: Int, dtype: vk_dtype) throws {
        guard numBlocks > 0, blockSize > 0 else {
            throw ModelError.invalidBatch("KV cache needs at least one block of at least one token (got \(numBlocks) x \(blockSize))")
        }
        let (slots, o1) = numBlocks.multipliedReportingOverflow(by: blockSize)
        let (floats, o2) = slots.multipliedReportingOverflow(by: kvDim)
        let (tensorBytes, o3) = floats.multipliedReportingOverflow(by: Self.elementBytes(dtype))
        let (bytes, o4) = tensorBytes.multipliedReportingOverflow(by: 2 * numLayers)
        guard !(o1 || o2 || o3 || o4), slots <= Int(Int32.max) else {
            throw ModelError.invalidBatch("KV cache of \(numBlocks) blocks x \(blockSize) tokens is too large")
        }
        // calloc: large requests come straight from mmap, so untouched blocks cost no memory.
        guard let memory = calloc(bytes / 2, 2) else {
            throw ModelError.invalidBatch("cannot allocate \(bytes) bytes for the KV cache")
        }
        base = memory
        bytesPerTensor = tensorBytes
        self.dtype = dtype
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.kvDim = kvDim
    }

    deinit { free(base) }

    var slotCount: Int { numBlocks * blockSize }

    func keys(layer: Int) -> UnsafeMutableRawPointer { base + (2 * layer) * bytesPerTensor }

    func values(layer: Int) -> UnsafeMutableRawPointer { base + (2 * layer + 1) * bytesPerTensor }
}
