import CKernels
import Foundation
import Weights

/// The CPU runtime for Llama-family decoders (Llama, Mistral, Qwen2, Qwen3): loads the weights and
/// runs `LlamaDecoder` (the family's math, below) over `CPUDecoderOps`.
public final class LlamaModel: CausalLanguageModel, ModelArchitecture {
    public static let architectureNames = Array(LlamaConfig.huggingFaceArchitectures.keys.sorted())
        + Array(LlamaConfig.ggufArchitectures.keys.sorted())

    public let config: LlamaConfig
    public let spec: ModelSpec
    private let weights: LlamaWeights
    private let decoder: LlamaDecoder<CPUDecoderOps>
    private let ops: CPUDecoderOps
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
        case let .huggingFace(folder, configJSON):
            let config = try LlamaConfig(huggingFaceFolder: folder, configJSON: configJSON)
            return try LlamaModel(config: config, store: try SafetensorsStore(directory: folder),
                                  names: .huggingFace, neoxRope: true)
        case let .gguf(file):
            let config = try LlamaConfig(ggufMetadata: file.metadata, source: file.path,
                                         hasOutputTensor: file.contains(TensorNames.gguf.lmHead))
            return try LlamaModel(config: config, store: file, names: .gguf, neoxRope: config.family != .llama)
        }
    }

    /// Builds the model over `store`; `names` selects the HF or GGUF tensor layout. `neoxRope`:
    /// rotate_half, or interleaved pairs for llama.cpp-converted GGUF (its converter permutes q/k rows).
    init(config: LlamaConfig, store: WeightStore, names: TensorNames, neoxRope: Bool) throws {
        self.config = config
        spec = ModelSpec(config)
        weights = try LlamaWeights(store: store, config: config, names: names)
        decoder = LlamaDecoder(config: config, embedding: weights.embedding, layers: weights.layers,
                               finalNorm: weights.finalNorm, lmHead: weights.lmHead)
        ops = CPUDecoderOps(inverseFrequencies: ropeInverseFrequencies(config: config, freqFactors: weights.ropeFreqFactors),
                            neoxRope: neoxRope)
        scratch = ForwardScratch(hidden: config.hiddenSize, qDim: config.qDim, kvDim: config.kvDim,
                                 intermediate: config.intermediateSize)
        if vk_num_threads() <= 0 { vk_init(0) }
    }

    /// fp32 K/V for fp32 checkpoints (exact references), fp16 otherwise, like llama.cpp's default and
    /// vLLM's "auto" (the model's 16-bit dtype): half the memory per block and half the bytes that
    /// attention reads, at a rounding far below that of 16-bit or quantized weights.
    var kvCacheDType: vk_dtype { weights.layers.first?.q.dtype == VK_F32 ? VK_F32 : VK_F16 }

    public func kvCacheBytesPerBlock(blockSize: Int) -> Int {
        blockSize * spec.kvElementsPerToken * PagedKVCache.elementBytes(kvCacheDType)
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
        let s = scratch
        // silu(gate) * up is written over gate, and logit rows are gathered and normed in `normed`:
        // the kernels allow both in place.
        let buffers = LlamaActivations(residual: s.residual, normed: s.normed, q: s.q, k: s.k, v: s.v,
                                       attention: s.attention, projected: s.projected, gate: s.gate, up: s.up,
                                       activated: s.gate, gathered: s.normed, gatheredNormed: s.normed,
                                       logits: logits.baseAddress ?? s.normed)
        try batch.tokenIds.withUnsafeBufferPointer { ids in
            try batch.positions.withUnsafeBufferPointer { positions in
                try batch.slotMapping.withUnsafeBufferPointer { slots in
                    try batch.queryStart.withUnsafeBufferPointer { queryStart in
                        try batch.seqLens.withUnsafeBufferPointer { seqLens in
                            try batch.blockTables.withUnsafeBufferPointer { blockTables in
                                try batch.logitRows.withUnsafeBufferPointer { logitRows in
                                    let meta = vk_attn_meta(
                                        num_seqs: Int32(batch.numSeqs), query_start: queryStart.baseAddress,
                                        seq_lens: seqLens.baseAddress, block_tables: blockTables.baseAddress,
                                        max_blocks_per_seq: Int32(batch.maxBlocksPerSeq),
                                        block_size: Int32(cache.blockSize))
                                    let step = CPUDecoderOps.Step(tokenIds: ids.baseAddress!, positions: positions.baseAddress!,
                                                                  slots: slots.baseAddress!, logitRows: logitRows.baseAddress,
                                                                  meta: meta, cache: cache)
                                    try decoder.forward(ops, step: step, rows: rows, logitRows: batch.logitRows.count,
                                                         buffers: buffers)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// MARK: - The family's math, once, over `DecoderOps`
//
// Pre-norm attention with GQA and rope (optional per-head q/k RMS norm for Qwen3), SwiGLU MLP, RMSNorm
// everywhere. The CPU model above and the CUDA model both run this code. It lives in this file so the
// CPU instantiation is specialized here (a generic call across files is not, and allocates per layer).

/// One decoder layer's weights, in the backend's types.
public struct LlamaLayer<Ops: DecoderOps> {
    public let attnNorm: Ops.Norm
    public let q: Ops.Linear, k: Ops.Linear, v: Ops.Linear, o: Ops.Linear
    /// Qwen3: per-head RMS norm of q and k before rope.
    public let qNorm: Ops.Norm?, kNorm: Ops.Norm?
    public let ffnNorm: Ops.Norm
    public let gate: Ops.Linear, up: Ops.Linear, down: Ops.Linear

    public init(attnNorm: Ops.Norm, q: Ops.Linear, k: Ops.Linear, v: Ops.Linear, o: Ops.Linear,
                qNorm: Ops.Norm?, kNorm: Ops.Norm?, ffnNorm: Ops.Norm,
                gate: Ops.Linear, up: Ops.Linear, down: Ops.Linear) {
        self.attnNorm = attnNorm
        self.q = q
        self.k = k
        self.v = v
        self.o = o
        self.qNorm = qNorm
        self.kNorm = kNorm
        self.ffnNorm = ffnNorm
        self.gate = gate
        self.up = up
        self.down = down
    }
}

/// The step's activation buffers. A backend may alias some (the CPU writes silu(gate)*up over gate
/// and gathers logit rows into `normed`) when its kernels allow in-place use.
public struct LlamaActivations<Buffer> {
    public var residual: Buffer, normed: Buffer, q: Buffer, k: Buffer, v: Buffer, attention: Buffer
    public var projected: Buffer, gate: Buffer, up: Buffer, activated: Buffer
    public var gathered: Buffer, gatheredNormed: Buffer, logits: Buffer

    public init(residual: Buffer, normed: Buffer, q: Buffer, k: Buffer, v: Buffer, attention: Buffer,
                projected: Buffer, gate: Buffer, up: Buffer, activated: Buffer,
                gathered: Buffer, gatheredNormed: Buffer, logits: Buffer) {
        self.residual = residual
        self.normed = normed
        self.q = q
        self.k = k
        self.v = v
        self.attention = attention
        self.projected = projected
        self.gate = gate
        self.up = up
        self.activated = activated
        self.gathered = gathered
        self.gatheredNormed = gatheredNormed
        self.logits = logits
    }
}

public struct LlamaDecoder<Ops: DecoderOps> {
    public let config: LlamaConfig
    public let embedding: Ops.Embedding
    public let layers: [LlamaLayer<Ops>]
    public let finalNorm: Ops.Norm
    public let lmHead: Ops.Linear

    public init(config: LlamaConfig, embedding: Ops.Embedding, layers: [LlamaLayer<Ops>], finalNorm: Ops.Norm,
                lmHead: Ops.Linear) {
        self.config = config
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.lmHead = lmHead
    }

    /// Runs every layer over `rows` tokens, then the final norm and LM head over the `logitRows`
    /// rows the step wants, leaving their logits in `buffers.logits`.
    public func forward(_ ops: Ops, step: Ops.Step, rows: Int, logitRows: Int,
                        buffers: LlamaActivations<Ops.Buffer>) throws {
        let hidden = config.hiddenSize
        try ops.embed(embedding, step: step, into: buffers.residual, rows: rows, width: hidden)
        for (index, layer) in layers.enumerated() {
            try runLayer(ops, layer, index: index, step: step, rows: rows, buffers: buffers)
        }
        guard logitRows > 0 else { return }
        try ops.gatherLogitRows(buffers.residual, into: buffers.gathered, count: logitRows, width: hidden, step: step)
        try ops.rmsNorm(buffers.gathered, into: buffers.gatheredNormed, weight: finalNorm, rows: logitRows,
                        width: hidden, eps: Float(config.rmsNormEps))
        try ops.linear(buffers.gatheredNormed, rows: logitRows, (lmHead, buffers.logits))
    }

    private func runLayer(_ ops: Ops, _ layer: LlamaLayer<Ops>, index: Int, step: Ops.Step, rows: Int,
                          buffers b: LlamaActivations<Ops.Buffer>) throws {
        let c = config
        let eps = Float(c.rmsNormEps)
        try ops.rmsNorm(b.residual, into: b.normed, weight: layer.attnNorm, rows: rows, width: c.hiddenSize, eps: eps)
        try ops.linear(b.normed, rows: rows, (layer.q, b.q), (layer.k, b.k), (layer.v, b.v))
        if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
            try ops.rmsNorm(b.q, into: b.q, weight: qNorm, rows: rows * c.numHeads, width: c.headDim, eps: eps)
            try ops.rmsNorm(b.k, into: b.k, weight: kNorm, rows: rows * c.numKVHeads, width: c.headDim, eps: eps)
        }
        try ops.rope(b.q, rows: rows, heads: c.numHeads, headDim: c.headDim, rotaryDim: c.rotaryDim, step: step)
        try ops.rope(b.k, rows: rows, heads: c.numKVHeads, headDim: c.headDim, rotaryDim: c.rotaryDim, step: step)
        try ops.attention(layer: index, q: b.q, k: b.k, v: b.v, into: b.attention, rows: rows,
                          numHeads: c.numHeads, numKVHeads: c.numKVHeads, headDim: c.headDim,
                          scale: 1 / Float(c.headDim).squareRoot(), step: step)
        try ops.linear(b.attention, rows: rows, (layer.o, b.projected))
        try ops.add(b.projected, into: b.residual, count: rows * c.hiddenSize)

        try ops.rmsNorm(b.residual, into: b.normed, weight: layer.ffnNorm, rows: rows, width: c.hiddenSize, eps: eps)
        try ops.linear(b.normed, rows: rows, (layer.gate, b.gate), (layer.up, b.up), nil)
        try ops.siluMul(gate: b.gate, up: b.up, into: b.activated, rows: rows, width: c.intermediateSize)
        try ops.linear(b.activated, rows: rows, (layer.down, b.projected))
        try ops.add(b.projected, into: b.residual, count: rows * c.hiddenSize)
    }
}
