import CKernels
import Weights

/// `DecoderOps` on the CPU kernels (CKernels): fp32 activations in host memory, weights as loaded or
/// repacked by `LinearWeight`, the paged KV cache in fp16 or fp32.
final class CPUDecoderOps: DecoderOps {
    typealias Buffer = UnsafeMutablePointer<Float>
    typealias Linear = LinearWeight
    typealias Norm = FloatVector
    typealias Embedding = WeightTensor

    /// One step's batch metadata as raw pointers into the `ForwardBatch` arrays, valid during `forward`.
    struct Step {
        var tokenIds: UnsafePointer<Int32>
        var positions: UnsafePointer<Int32>
        var slots: UnsafePointer<Int32>
        var logitRows: UnsafePointer<Int32>?
        var meta: vk_attn_meta
        var cache: PagedKVCache
    }

    private let inverseFrequencies: FloatVector
    private let neoxRope: Int32

    /// `neoxRope`: rotate_half (HF layout) rather than interleaved pairs (llama.cpp's permuted q/k rows).
    init(inverseFrequencies: [Float], neoxRope: Bool) {
        self.inverseFrequencies = FloatVector(count: inverseFrequencies.count)
        for (index, value) in inverseFrequencies.enumerated() { self.inverseFrequencies.pointer[index] = value }
        self.neoxRope = neoxRope ? 1 : 0
    }

    func embed(_ table: WeightTensor, step: Step, into out: Buffer, rows: Int, width: Int) {
        vk_embed(out, table.data, table.dtype.kernelType, Int64(width), step.tokenIds, Int64(rows))
    }

    func rmsNorm(_ x: Buffer, into out: Buffer, weight: FloatVector, rows: Int, width: Int, eps: Float) {
        vk_rmsnorm(out, x, weight.pointer, Int64(rows), Int64(width), eps)
    }

    func linear(_ x: Buffer, rows: Int, _ a: (LinearWeight, Buffer), _ b: (LinearWeight, Buffer)?,
                _ c: (LinearWeight, Buffer)?) {
        if let b {
            LinearWeight.apply(x, rows: rows, a, b, c)
        } else {
            a.0.apply(x, rows: rows, into: a.1)
        }
    }

    func rope(_ x: Buffer, rows: Int, heads: Int, headDim: Int, rotaryDim: Int, step: Step) {
        vk_rope(x, Int64(rows), Int64(heads), Int64(headDim), Int64(rotaryDim), step.positions,
                inverseFrequencies.pointer, neoxRope)
    }

    func attention(layer: Int, q: Buffer, k: Buffer, v: Buffer, into out: Buffer, rows: Int,
                   numHeads: Int, numKVHeads: Int, headDim: Int, scale: Float, step: Step) {
        let cache = step.cache
        let keys = cache.keys(layer: layer)
        let values = cache.values(layer: layer)
        vk_kv_store(keys, values, cache.dtype, k, v, step.slots, Int64(rows), Int64(numKVHeads), Int64(headDim),
                    Int64(cache.blockSize))
        var meta = step.meta
        vk_paged_attention(out, q, keys, values, cache.dtype, Int64(numHeads), Int64(numKVHeads), Int64(headDim),
                           scale, &meta)
    }

    func siluMul(gate: Buffer, up: Buffer, into out: Buffer, rows: Int, width: Int) {
        vk_silu_mul(out, gate, up, Int64(rows * width))
    }

    func add(_ x: Buffer, into residual: Buffer, count: Int) {
        vk_add(residual, x, Int64(count))
    }

    func gatherLogitRows(_ x: Buffer, into out: Buffer, count: Int, width: Int, step: Step) {
        guard let rows = step.logitRows else { return }
        for slot in 0..<count {
            (out + slot * width).update(from: x + Int(rows[slot]) * width, count: width)
        }
    }
}
