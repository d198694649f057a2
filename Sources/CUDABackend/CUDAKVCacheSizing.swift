import Foundation

/// How many KV blocks fit on the GPU, the way vLLM sizes it: the process may use
/// `gpuMemoryUtilization * total`; everything already in use on the device (weights, activation
/// scratch, other processes) is subtracted, and a reserve is kept for cuBLAS workspaces and
/// allocator slack.
public struct CUDAKVCacheSizing: Sendable, Equatable {
    public var freeBytes: Int
    public var totalBytes: Int
    public var gpuMemoryUtilization: Double
    public var bytesPerBlock: Int
    /// Bytes kept free besides the budget (cuBLAS workspace, fragmentation).
    public var reserveBytes: Int

    public init(freeBytes: Int, totalBytes: Int, gpuMemoryUtilization: Double, bytesPerBlock: Int,
                reserveBytes: Int = 256 << 20) {
        self.freeBytes = freeBytes
        self.totalBytes = totalBytes
        self.gpuMemoryUtilization = gpuMemoryUtilization
        self.bytesPerBlock = bytesPerBlock
        self.reserveBytes = reserveBytes
    }

    /// Bytes the KV cache may take: budget - used - reserve, never more than what is free now.
    public func kvCacheBytes() throws -> Int {
        guard gpuMemoryUtilization > 0, gpuMemoryUtilization <= 1 else {
            throw CUDAError.insufficientMemory("--gpu-memory-utilization must be in (0, 1], got \(gpuMemoryUtilization)")
        }
        guard totalBytes > 0, freeBytes >= 0, freeBytes <= totalBytes else {
            throw CUDAError.insufficientMemory("device reports \(freeBytes) free of \(totalBytes) bytes")
        }
        guard bytesPerBlock > 0 else {
            throw CUDAError.insufficientMemory("bytes per KV block must be positive, got \(bytesPerBlock)")
        }
        let budget = Int((Double(totalBytes) * gpuMemoryUtilization).rounded(.down))
        let used = totalBytes - freeBytes
        return max(0, min(budget - used, freeBytes) - reserveBytes)
    }

    /// Whole blocks that fit; throws when not even one does, with the numbers that decided it.
    public func numBlocks() throws -> Int {
        let bytes = try kvCacheBytes()
        let blocks = bytes / bytesPerBlock
        guard blocks >= 1 else {
            let gib = { (value: Int) in String(format: "%.2f GiB", Double(value) / Double(1 << 30)) }
            throw CUDAError.insufficientMemory(
                "no room for the KV cache: \(gib(totalBytes - freeBytes)) in use of \(gib(totalBytes)), "
                + "budget \(gib(Int(Double(totalBytes) * gpuMemoryUtilization))) at utilization "
                + "\(gpuMemoryUtilization), one block needs \(bytesPerBlock) bytes; "
                + "raise --gpu-memory-utilization or use a smaller model")
        }
        return blocks
    }
}
