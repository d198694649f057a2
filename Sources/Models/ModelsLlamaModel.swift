import CKernels
import Foundation
import Weights

/// The CPU runtime for Llama-family decoders (Llama, Mistral, Qwen2, Qwen3): pre-norm attention
/// with GQA and rope, SwiGLU MLP, RMSNorm everywhere.
public final class LlamaModel: CausalLanguageModel, ModelArchitecture {
    public static let architectureNames = Array(LlamaConfig.huggingFaceArchitectures.keys.sorted())
        + Array(LlamaConfig.ggufArchitectures.keys.sorted())

    public let config: LlamaConfig
    public let spec: ModelSpec
    private let weights: LlamaWeights
    /// Interleaved-pair rope for llama.cpp-converted GGUF (its converter permutes q/k rows), rotate_half otherwise.
    private let neoxRope: Bool
    private let inverseFrequencies: FloatVector
    private let scratch: ForwardScratch
    private var cache: PagedKVCache?

    /// Loads an HF folder (HF rope layout, rotate_half) or a GGUF file. llama.cpp's converter permutes
    /// the q/k rows of `llama` models for interleaved-pair rope; qwen2/qwen3 keep HF order.
    public static func load(_ source: ModelSource) throws -> any CausalLanguageModel {
        try loadLlama(source)
    }

    /// `load` with the concrete type, for benchmarks and tests of this family.
    public static func loadLlama(_ source: ModelSource) throws -> LlamaModel {
        switch source {
        case let .huggingFace(folder, _):
            let config = try LlamaConfig(huggingFaceFolder: folder)
            return try LlamaModel(config: config, store: try SafetensorsStore(directory: folder),
                                  names: .huggingFace, neoxRope: true)
        case let .gguf(file):
            let config = try LlamaConfig(ggufMetadata: file.metadata, source: file.path,
                                         hasOutputTensor: file.contains(TensorNames.gguf.lmHead))
            return try LlamaModel(config: config, store: file, names: .gguf, neoxRope: config.family != .llama)
        }
    }

    /// Builds the model over `store`; `names` selects the HF or GGUF tensor layout.
    init(config: LlamaConfig, store: WeightStore, names: TensorNames, neoxRope: Bool) throws {
        self.config = config
        spec = ModelSpec(config)
        weights = try LlamaWeights(store: store, config: config, names: names)
        self.neoxRope = neoxRope
        let frequencies = ropeInverseFrequencies(config: config, freqFactors: weights.ropeFreqFactors)
        inverseFrequencies = FloatVector(count: frequencies.count)
        for (index, value) in frequencies.enumerated() { inverseFrequencies.pointer[index] = value }
        scratch = ForwardScratch(hidden: config.hiddenSize, qDim: config.qDim, kvDim: config.kvDim,
                                 intermediate: config.intermediateSize)
        if vk_num_threads() <= 0 { vk_init(0) }
    }

    /// fp32 K/V for fp32 checkpoints (exact references), fp16 otherwise, like llama.cpp's default and
    /// vLLM's "auto" (the model's 16-bit dtype): half the memory per block and half the bytes that
    /// attention reads, at a rounding far below that of 16-bit or quantized weights.
    var kvCacheDType: vk_dtype { weights.layers.first?.q.dtype == VK_F32 ? VK_F32 : VK_F16 }

    public func kvCacheBytesPerBlock(blockSize: Int) -> Int {
        2 * config.numLayers * blockSize * config.kvDim * PagedKVCache.elementBytes(kvCacheDType)
    }

    public func allocateKVCache(numBlocks: Int, blockSize: Int) throws {
        cache = nil  // free the old one first so peak memory is one cache
        cache = try PagedKVCache(numLayers: config.numLayers, numBlocks: numBlocks, blockSize: blockSize,
                                 kvDim: config.kvDim, dtype: kvCacheDType)
    }

    public func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        guard let cache else { throw ModelError.kvCacheNotAllocated }
        try batch.validate(vocabSize: config.vocabSize, numBlocks: cache.numBlocks, blockSize: cache.blockSize)
        let needed = batch.logitRows.count * config.vocabSize
        guard logits.count >= needed, needed == 0 || logits.baseAddress != nil else {
            throw ModelError.logitsBufferTooSmall(needed: needed, got: logits.count)
        }
        let rows = batch.numTokens
        guard rows > 0 else { return }
        scratch.reserve(tokens: max(rows, batch.logitRows.count))
        batch.tokenIds.withUnsafeBufferPointer { ids in
            vk_embed(scratch.residual, weights.embedding.data, weights.embedding.dtype.kernelType,
                     Int64(config.hiddenSize), ids.baseAddress, Int64(rows))
        }
        batch.positions.withUnsafeBufferPointer { positions in
            batch.slotMapping.withUnsafeBufferPointer { slots in
                batch.queryStart.withUnsafeBufferPointer { queryStart in
                    batch.seqLens.withUnsafeBufferPointer { seqLens in
                        batch.blockTables.withUnsafeBufferPointer { blockTables in
                            var meta = vk_attn_meta(
                                num_seqs: Int32(batch.numSeqs), query_start: queryStart.baseAddress,
                                seq_lens: seqLens.baseAddress, block_tables: blockTables.baseAddress,
                                max_blocks_per_seq: Int32(batch.maxBlocksPerSeq), block_size: Int32(cache.blockSize))
                            for (index, layer) in weights.layers.enumerated() {
                                runLayer(layer, index: index, rows: rows, positions: positions.baseAddress!,
                                         slots: slots.baseAddress!, meta: &meta, cache: cache)
                            }
                        }
                    }
                }
            }
        }
        if needed > 0 {
            computeLogits(rows: batch.logitRows, into: logits.baseAddress!)
        }
    }

    private func runLayer(_ layer: LlamaLayerWeights, index: Int, rows: Int, positions: UnsafePointer<Int32>,
                          slots: UnsafePointer<Int32>, meta: inout vk_attn_meta, cache: PagedKVCache) {
        let s = scratch
        let hidden = Int64(config.hiddenSize)
        let eps = Float(config.rmsNormEps)
        let headDim = Int64(config.headDim)
        vk_rmsnorm(s.normed, s.residual, layer.attnNorm.pointer, Int64(rows), hidden, eps)
        LinearWeight.apply(s.normed, rows: rows, (layer.q, s.q), (layer.k, s.k), (layer.v, s.v))
        if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
            vk_rmsnorm(s.q, s.q, qNorm.pointer, Int64(rows * config.numHeads), headDim, eps)
            vk_rmsnorm(s.k, s.k, kNorm.pointer, Int64(rows * config.numKVHeads), headDim, eps)
        }
        let rotary = Int64(config.rotaryDim)
        let neox: Int32 = neoxRope ? 1 : 0
        vk_rope(s.q, Int64(rows), Int64(config.numHeads), headDim, rotary, positions, inverseFrequencies.pointer, neox)
        vk_rope(s.k, Int64(rows), Int64(config.numKVHeads), headDim, rotary, positions, inverseFrequencies.pointer, neox)
        let keys = cache.keys(layer: index)
        let values = cache.values(layer: index)
        vk_kv_store(keys, values, cache.dtype, s.k, s.v, slots, Int64(rows), Int64(config.numKVHeads), headDim,
                    Int64(cache.blockSize))
        vk_paged_attention(s.attention, s.q, keys, values, cache.dtype, Int64(config.numHeads), Int64(config.numKVHeads),
                           headDim, 1 / Float(config.headDim).squareRoot(), &meta)
        layer.o.apply(s.attention, rows: rows, into: s.projected)
        vk_add(s.residual, s.projected, Int64(rows) * hidden)

        vk_rmsnorm(s.normed, s.residual, layer.ffnNorm.pointer, Int64(rows), hidden, eps)
        LinearWeight.apply(s.normed, rows: rows, (layer.gate, s.gate), (layer.up, s.up))
        vk_silu_mul(s.gate, s.gate, s.up, Int64(rows * config.intermediateSize))
        layer.down.apply(s.gate, rows: rows, into: s.projected)
        vk_add(s.residual, s.projected, Int64(rows) * hidden)
    }

    /// Final norm and lm_head for the wanted rows only.
    private func computeLogits(rows wanted: [Int32], into logits: UnsafeMutablePointer<Float>) {
        let s = scratch
        let hidden = config.hiddenSize
        for (slot, row) in wanted.enumerated() {
            (s.normed + slot * hidden).update(from: s.residual + Int(row) * hidden, count: hidden)
        }
        vk_rmsnorm(s.normed, s.normed, weights.finalNorm.pointer, Int64(wanted.count), Int64(hidden),
                   Float(config.rmsNormEps))
        weights.lmHead.apply(s.normed, rows: wanted.count, into: logits)
    }
}
