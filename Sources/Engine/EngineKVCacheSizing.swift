import Foundation
import Models

/// How many KV blocks fit in the configured memory, and the context length that follows from it.
struct KVCacheSizing {
    let numBlocks: Int
    let maxModelLen: Int

    init(spec: ModelSpec, bytesPerBlock: Int, config: EngineConfig) throws {
        guard config.blockSize >= 1 else {
            throw EngineError(.invalidConfig, "block_size must be at least 1, got \(config.blockSize).")
        }
        guard bytesPerBlock > 0 else {
            throw EngineError(.invalidConfig, "the model reports \(bytesPerBlock) KV bytes per block")
        }
        let memory = config.kvCacheMemoryBytes ?? EngineConfig.defaultKVCacheBytes()
        guard memory > 0 else {
            throw EngineError(.invalidConfig, "kv_cache_memory must be positive, got \(memory) bytes.")
        }
        let blocks = memory / bytesPerBlock
        // Block 0 is the core's null block; the rest hold tokens.
        let tokenCapacity = max(0, blocks - 1) * config.blockSize
        let modelLimit = spec.maxPositionEmbeddings
        let perToken = Double(bytesPerBlock) / Double(config.blockSize)
        func gib(_ bytes: Double) -> String { String(format: "%.2f GiB", bytes / Double(1 << 30)) }
        if let requested = config.maxModelLen {
            guard requested >= 2 else {
                throw EngineError(.invalidConfig, "max_model_len must be at least 2, got \(requested).")
            }
            guard requested <= modelLimit else {
                throw EngineError(.invalidConfig,
                                  "User-specified max_model_len (\(requested)) is greater than the derived "
                                      + "max_model_len (max_position_embeddings=\(modelLimit) in the model's config).")
            }
            guard requested <= tokenCapacity else {
                throw EngineError(.invalidConfig,
                                  "To serve at least one request with the model's max seq len (\(requested)), "
                                      + "\(gib(perToken * Double(requested + config.blockSize))) KV cache is needed, "
                                      + "which is larger than the available KV cache memory (\(gib(Double(memory)))). "
                                      + "Based on the available memory, the estimated maximum model length is "
                                      + "\(tokenCapacity). Try increasing --kv-cache-memory or decreasing --max-model-len.")
            }
            maxModelLen = requested
        } else {
            maxModelLen = min(modelLimit, tokenCapacity)
            guard maxModelLen >= 2 else {
                throw EngineError(.invalidConfig,
                                  "The KV cache memory (\(memory) bytes) holds only \(tokenCapacity) tokens "
                                      + "(\(bytesPerBlock) bytes per block of \(config.blockSize)); not even one "
                                      + "sequence fits. Increase --kv-cache-memory.")
            }
        }
        numBlocks = blocks
    }
}
