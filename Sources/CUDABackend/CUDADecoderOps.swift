import Models

/// A device activation buffer and the element type the kernels write into it (vc_rms_norm takes the
/// output type: bf16 where a matmul reads it next, fp32 elsewhere).
struct CUDAActivation {
    static let f32: Int32 = 0
    static let bf16: Int32 = 2

    let buffer: DeviceBuffer
    let dtype: Int32
}

/// A bf16 weight matrix [outFeatures][inFeatures] on the device, with its optional bias.
struct CUDALinear {
    let name: String
    let weight: DeviceBuffer
    let bias: DeviceBuffer?
    let inFeatures: Int
    let outFeatures: Int
}

/// One step on the device: the packed metadata (one upload per step) and the KV cache.
struct CUDAStep {
    let layout: CUDAStepLayout
    let meta: DeviceBuffer
    let cache: CUDAKVCache

    /// The int32 array that starts `offset` elements into the packed metadata.
    func int32(_ offset: Int) -> UnsafeRawPointer { UnsafeRawPointer(meta.pointer + offset * 4) }
}

/// `DecoderOps` on libvllm_cuda.so: every operation is one kernel (or cuBLAS) launch on the device's
/// stream; nothing synchronizes until the logits are downloaded.
final class CUDADecoderOps: DecoderOps {
    typealias Buffer = CUDAActivation
    typealias Linear = CUDALinear
    typealias Norm = DeviceBuffer
    typealias Embedding = DeviceBuffer
    typealias Step = CUDAStep

    let device: CUDADevice
    private let vocabSize: Int
    private let inverseFrequencies: DeviceBuffer
    private let neoxRope: Int32

    init(device: CUDADevice, vocabSize: Int, inverseFrequencies: DeviceBuffer, neoxRope: Bool) {
        self.device = device
        self.vocabSize = vocabSize
        self.inverseFrequencies = inverseFrequencies
        self.neoxRope = neoxRope ? 1 : 0
    }

    func embed(_ table: DeviceBuffer, step: CUDAStep, into out: CUDAActivation, rows: Int, width: Int) throws {
        let r = device.runtime
        try r.check(r.embedding(device.context, out.buffer.pointer, table.pointer, CUDAActivation.bf16,
                                Int64(vocabSize), Int64(width), step.int32(step.layout.tokenIds), Int64(rows)),
                    "vc_embedding")
    }

    func rmsNorm(_ x: CUDAActivation, into out: CUDAActivation, weight: DeviceBuffer, rows: Int, width: Int,
                 eps: Float) throws {
        let r = device.runtime
        try r.check(r.rmsNorm(device.context, out.buffer.pointer, out.dtype, x.buffer.pointer, weight.pointer,
                              Int64(rows), Int64(width), eps), "vc_rms_norm")
    }

    func linear(_ x: CUDAActivation, rows: Int, _ a: (CUDALinear, CUDAActivation), _ b: (CUDALinear, CUDAActivation)?,
                _ c: (CUDALinear, CUDAActivation)?) throws {
        try project(x, rows: rows, a)
        if let b { try project(x, rows: rows, b) }
        if let c { try project(x, rows: rows, c) }
    }

    private func project(_ x: CUDAActivation, rows: Int, _ pair: (CUDALinear, CUDAActivation)) throws {
        let (weight, output) = pair
        let r = device.runtime, context = device.context
        try r.check(r.matmulBF16(context, output.buffer.pointer, x.buffer.pointer, weight.weight.pointer, Int64(rows),
                                 Int64(weight.inFeatures), Int64(weight.outFeatures)), "vc_matmul_bf16(\(weight.name))")
        if let bias = weight.bias {
            try r.check(r.addBias(context, output.buffer.pointer, bias.pointer, Int64(rows), Int64(weight.outFeatures)),
                        "vc_add_bias(\(weight.name))")
        }
    }

    func rope(_ x: CUDAActivation, rows: Int, heads: Int, headDim: Int, rotaryDim: Int, step: CUDAStep) throws {
        let r = device.runtime
        try r.check(r.rope(device.context, x.buffer.pointer, step.int32(step.layout.positions), inverseFrequencies.pointer,
                           Int64(rows), Int64(heads), Int64(headDim), Int64(rotaryDim), neoxRope), "vc_rope")
    }

    func attention(layer: Int, q: CUDAActivation, k: CUDAActivation, v: CUDAActivation, into out: CUDAActivation,
                   rows: Int, numHeads: Int, numKVHeads: Int, headDim: Int, scale: Float, step: CUDAStep) throws {
        let r = device.runtime, context = device.context, layout = step.layout
        let keys = step.cache.keys(layer: layer), values = step.cache.values(layer: layer)
        try r.check(r.kvStore(context, keys, values, k.buffer.pointer, v.buffer.pointer, step.int32(layout.slotMapping),
                              Int64(rows), Int64(numKVHeads * headDim)), "vc_kv_store")
        try r.check(r.pagedAttention(context, out.buffer.pointer, q.buffer.pointer, keys, values,
                                     step.int32(layout.queryStart), step.int32(layout.seqLens),
                                     step.int32(layout.blockTables), Int64(layout.numSeqs), Int64(rows),
                                     Int64(layout.maxBlocksPerSeq), Int64(numHeads), Int64(numKVHeads), Int64(headDim),
                                     Int64(step.cache.blockSize), scale), "vc_paged_attention")
    }

    func siluMul(gate: CUDAActivation, up: CUDAActivation, into out: CUDAActivation, rows: Int, width: Int) throws {
        let r = device.runtime
        try r.check(r.siluMul(device.context, out.buffer.pointer, gate.buffer.pointer, up.buffer.pointer, Int64(rows),
                              Int64(width)), "vc_silu_mul")
    }

    func add(_ x: CUDAActivation, into residual: CUDAActivation, count: Int) throws {
        let r = device.runtime
        try r.check(r.add(device.context, residual.buffer.pointer, x.buffer.pointer, Int64(count)), "vc_add")
    }

    func gatherLogitRows(_ x: CUDAActivation, into out: CUDAActivation, count: Int, width: Int, step: CUDAStep) throws {
        let r = device.runtime
        try r.check(r.gatherRows(device.context, out.buffer.pointer, x.buffer.pointer, step.int32(step.layout.logitRows),
                                 Int64(count), Int64(width)), "vc_gather_rows")
    }
}
