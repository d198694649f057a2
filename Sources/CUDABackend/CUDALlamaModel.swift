import Foundation
import Models
import Weights

/// The Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) on an NVIDIA GPU through libvllm_cuda.so:
/// the family's `LlamaDecoder`, the same code the CPU `LlamaModel` runs, over `CUDADecoderOps`. fp32
/// residual stream, bf16 matmul inputs (cuBLAS, fp32 accumulate), bf16 paged KV cache owned here.
public final class CUDALlamaModel: CausalLanguageModel {
    public let config: LlamaConfig
    public let spec: ModelSpec
    public let device: CUDADevice
    let ops: CUDADecoderOps
    let decoder: LlamaDecoder<CUDADecoderOps>
    var scratch: CUDAForwardScratch
    var cache: CUDAKVCache?
    var staging: [Int32] = []

    public static func load(_ location: ModelLocation, device: CUDADevice) throws -> CUDALlamaModel {
        switch location {
        case let .huggingFaceFolder(path):
            let config = try LlamaConfig(huggingFaceFolder: path)
            return try CUDALlamaModel(config: config, store: try SafetensorsStore(directory: path),
                                      names: .huggingFace, neoxRope: true, device: device)
        case let .ggufFile(path):
            let file = try GGUFFile(path: path)
            let config = try LlamaConfig(ggufMetadata: file.metadata, source: path,
                                         hasOutputTensor: file.contains(CUDATensorNames.gguf.lmHead))
            // llama.cpp permutes q/k rows of `llama` GGUFs for interleaved rope; qwen keeps rotate_half.
            return try CUDALlamaModel(config: config, store: file, names: .gguf, neoxRope: config.family != .llama,
                                      device: device)
        }
    }

    init(config: LlamaConfig, store: WeightStore, names: CUDATensorNames, neoxRope: Bool, device: CUDADevice) throws {
        guard config.headDim <= 256 else {
            throw CUDAError.unsupportedModel("head_dim \(config.headDim) > 256 (attention kernel limit)")
        }
        self.config = config
        spec = ModelSpec(config)
        self.device = device
        let upload = CUDAWeightUploader(device: device, store: store)
        let hidden = config.hiddenSize
        let embedding = try upload.matrix(names.embedding, rows: config.vocabSize, columns: hidden)
        let finalNorm = try upload.vector(names.finalNorm, count: hidden).buffer
        let lmHead: DeviceBuffer
        if !config.tieWordEmbeddings, store.contains(names.lmHead) {
            lmHead = try upload.matrix(names.lmHead, rows: config.vocabSize, columns: hidden)
        } else if config.tieWordEmbeddings {
            lmHead = embedding
        } else {
            throw CUDAError.unsupportedModel("missing tensor \(names.lmHead) and embeddings are not tied")
        }
        var freqFactors: [Float]?
        if let ropeName = names.ropeFreqs, store.contains(ropeName) {
            freqFactors = try upload.vector(ropeName, count: config.rotaryDim / 2).values
        }
        let inverseFrequencies = try upload.floats(ropeInverseFrequencies(config: config, freqFactors: freqFactors),
                                                   what: "rope inverse frequencies")
        func linear(_ name: String, out: Int, in inFeatures: Int, bias: String? = nil) throws -> CUDALinear {
            CUDALinear(name: name, weight: try upload.matrix(name, rows: out, columns: inFeatures),
                       bias: try bias.flatMap { try upload.optionalVector($0, count: out) },
                       inFeatures: inFeatures, outFeatures: out)
        }
        let layers = try (0..<config.numLayers).map { index in
            let name = { (part: CUDALayerPart) in names.layer(index, part) }
            return LlamaLayer<CUDADecoderOps>(
                attnNorm: try upload.vector(name(.attnNorm), count: hidden).buffer,
                q: try linear(name(.q), out: config.qDim, in: hidden, bias: name(.qBias)),
                k: try linear(name(.k), out: config.kvDim, in: hidden, bias: name(.kBias)),
                v: try linear(name(.v), out: config.kvDim, in: hidden, bias: name(.vBias)),
                o: try linear(name(.o), out: hidden, in: config.qDim, bias: name(.oBias)),
                qNorm: config.hasQKNorm ? try upload.vector(name(.qNorm), count: config.headDim).buffer : nil,
                kNorm: config.hasQKNorm ? try upload.vector(name(.kNorm), count: config.headDim).buffer : nil,
                ffnNorm: try upload.vector(name(.ffnNorm), count: hidden).buffer,
                gate: try linear(name(.gate), out: config.intermediateSize, in: hidden),
                up: try linear(name(.up), out: config.intermediateSize, in: hidden),
                down: try linear(name(.down), out: hidden, in: config.intermediateSize))
        }
        ops = CUDADecoderOps(device: device, vocabSize: config.vocabSize, inverseFrequencies: inverseFrequencies,
                             neoxRope: neoxRope)
        decoder = LlamaDecoder(config: config, embedding: embedding, layers: layers, finalNorm: finalNorm,
                               lmHead: CUDALinear(name: names.lmHead, weight: lmHead, bias: nil, inFeatures: hidden,
                                                  outFeatures: config.vocabSize))
        scratch = CUDAForwardScratch(device: device, config: config)
    }

    public func kvCacheBytesPerBlock(blockSize: Int) -> Int {
        CUDAKVCache.bytesPerBlock(numLayers: config.numLayers, blockSize: blockSize, kvDim: config.kvDim)
    }

    /// KV blocks that fit under `gpuMemoryUtilization` now that the weights are resident.
    public func kvCacheBlocks(gpuMemoryUtilization: Double, blockSize: Int) throws -> Int {
        let memory = try device.memoryInfo()
        return try CUDAKVCacheSizing(freeBytes: memory.free, totalBytes: memory.total,
                                     gpuMemoryUtilization: gpuMemoryUtilization,
                                     bytesPerBlock: kvCacheBytesPerBlock(blockSize: blockSize),
                                     reserveBytes: scratch.reserveEstimate(maxTokens: 8192)).numBlocks()
    }

    public func allocateKVCache(numBlocks: Int, blockSize: Int) throws {
        cache = nil  // free the old one first so peak memory is one cache
        cache = try CUDAKVCache(device: device, numLayers: config.numLayers, numBlocks: numBlocks,
                                blockSize: blockSize, kvDim: config.kvDim)
    }

    public func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        let needed = batch.logitRows.count * config.vocabSize
        guard logits.count >= needed else {
            throw CUDAError.callFailed(call: "forward", status: -6,
                                       message: "logits buffer holds \(logits.count) floats, \(needed) needed")
        }
        guard try runToLogits(batch) else { return }
        try device.download(scratch.logits!, into: UnsafeMutableRawBufferPointer(
            start: logits.baseAddress, count: needed * MemoryLayout<Float>.stride))
    }

    /// Greedy ids (and the top `topK` log-probabilities) of `batch.logitRows`, computed on the device so
    /// only a few numbers per row come back.
    public func forwardGreedy(_ batch: ForwardBatch, topK: Int = 0) throws
        -> (tokens: [Int32], topIds: [Int32], topLogprobs: [Float]) {
        guard try runToLogits(batch) else { return ([], [], []) }
        let rows = batch.logitRows.count
        let r = device.runtime, s = scratch
        try s.reserveSampling(rows: rows, topK: topK)
        try r.check(r.sampleGreedyTopK(device.context, s.argmax!.pointer, s.topIds?.pointer, s.topLogprobs?.pointer,
                                       s.logits!.pointer, Int64(rows), Int64(config.vocabSize), Int64(topK)),
                    "vc_sample_greedy_topk")
        var tokens = [Int32](repeating: 0, count: rows)
        var ids = [Int32](repeating: 0, count: rows * topK)
        var logprobs = [Float](repeating: 0, count: rows * topK)
        try tokens.withUnsafeMutableBytes { try device.download(s.argmax!, into: $0) }
        if topK > 0 {
            try ids.withUnsafeMutableBytes { try device.download(s.topIds!, into: $0) }
            try logprobs.withUnsafeMutableBytes { try device.download(s.topLogprobs!, into: $0) }
        }
        return (tokens, ids, logprobs)
    }
}
