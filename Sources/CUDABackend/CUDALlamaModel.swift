import Foundation
import Models
import Weights

/// One decoder layer's device weights.
struct CUDALayerWeights {
    let attnNorm: DeviceBuffer
    let q: DeviceBuffer, k: DeviceBuffer, v: DeviceBuffer, o: DeviceBuffer
    let qBias: DeviceBuffer?, kBias: DeviceBuffer?, vBias: DeviceBuffer?, oBias: DeviceBuffer?
    let qNorm: DeviceBuffer?, kNorm: DeviceBuffer?
    let ffnNorm: DeviceBuffer
    let gate: DeviceBuffer, up: DeviceBuffer, down: DeviceBuffer
}

/// The Llama-family decoder (Llama, Mistral, Qwen2, Qwen3) on an NVIDIA GPU through libvllm_cuda.so.
/// Same math as the CPU `LlamaModel`: fp32 residual stream, bf16 matmul inputs (cuBLAS, fp32
/// accumulate), bf16 paged KV cache owned here.
public final class CUDALlamaModel: CausalLanguageModel {
    public let config: LlamaConfig
    public let spec: ModelSpec
    public let device: CUDADevice
    let neoxRope: Bool
    let embedding: DeviceBuffer
    let lmHead: DeviceBuffer
    let finalNorm: DeviceBuffer
    let inverseFrequencies: DeviceBuffer
    let layers: [CUDALayerWeights]
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
        self.neoxRope = neoxRope
        let upload = CUDAWeightUploader(device: device, store: store)
        let hidden = config.hiddenSize
        embedding = try upload.matrix(names.embedding, rows: config.vocabSize, columns: hidden)
        finalNorm = try upload.vector(names.finalNorm, count: hidden).buffer
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
        inverseFrequencies = try upload.floats(ropeInverseFrequencies(config: config, freqFactors: freqFactors),
                                               what: "rope inverse frequencies")
        layers = try (0..<config.numLayers).map { index in
            let name = { (part: CUDALayerPart) in names.layer(index, part) }
            return CUDALayerWeights(
                attnNorm: try upload.vector(name(.attnNorm), count: hidden).buffer,
                q: try upload.matrix(name(.q), rows: config.qDim, columns: hidden),
                k: try upload.matrix(name(.k), rows: config.kvDim, columns: hidden),
                v: try upload.matrix(name(.v), rows: config.kvDim, columns: hidden),
                o: try upload.matrix(name(.o), rows: hidden, columns: config.qDim),
                qBias: try upload.optionalVector(name(.qBias), count: config.qDim),
                kBias: try upload.optionalVector(name(.kBias), count: config.kvDim),
                vBias: try upload.optionalVector(name(.vBias), count: config.kvDim),
                oBias: try upload.optionalVector(name(.oBias), count: hidden),
                qNorm: config.hasQKNorm ? try upload.vector(name(.qNorm), count: config.headDim).buffer : nil,
                kNorm: config.hasQKNorm ? try upload.vector(name(.kNorm), count: config.headDim).buffer : nil,
                ffnNorm: try upload.vector(name(.ffnNorm), count: hidden).buffer,
                gate: try upload.matrix(name(.gate), rows: config.intermediateSize, columns: hidden),
                up: try upload.matrix(name(.up), rows: config.intermediateSize, columns: hidden),
                down: try upload.matrix(name(.down), rows: hidden, columns: config.intermediateSize))
        }
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
