/// The paged KV cache in device memory: for each layer a K and a V region of
/// [numBlocks][blockSize][kvHeads][headDim] bf16, all in one allocation.
final class CUDAKVCache {
    let numLayers: Int
    let numBlocks: Int
    let blockSize: Int
    let kvDim: Int
    let storage: DeviceBuffer

    static func bytesPerBlock(numLayers: Int, blockSize: Int, kvDim: Int) -> Int {
        2 * numLayers * blockSize * kvDim * MemoryLayout<UInt16>.stride
    }

    init(device: CUDADevice, numLayers: Int, numBlocks: Int, blockSize: Int, kvDim: Int) throws {
        guard numBlocks > 0, blockSize > 0 else {
            throw CUDAError.insufficientMemory("KV cache needs numBlocks > 0 and blockSize > 0, got \(numBlocks), \(blockSize)")
        }
        self.numLayers = numLayers
        self.numBlocks = numBlocks
        self.blockSize = blockSize
        self.kvDim = kvDim
        let (bytes, overflow) = numBlocks.multipliedReportingOverflow(
            by: Self.bytesPerBlock(numLayers: numLayers, blockSize: blockSize, kvDim: kvDim))
        guard !overflow else { throw CUDAError.insufficientMemory("KV cache of \(numBlocks) blocks overflows Int") }
        storage = try device.allocate(bytes: bytes, what: "KV cache (\(numBlocks) blocks)")
    }

    /// Bytes of one layer's K (or V) region.
    var regionBytes: Int { numBlocks * blockSize * kvDim * MemoryLayout<UInt16>.stride }

    func keys(layer: Int) -> UnsafeMutableRawPointer { storage.pointer + (2 * layer) * regionBytes }
    func values(layer: Int) -> UnsafeMutableRawPointer { storage.pointer + (2 * layer + 1) * regionBytes }
}
