// The operations a decoder family is written over, once: each backend (the CPU kernels here, CUDA in
// CUDABackend) implements them, and a family file (ModelsLlamaModel.swift) composes them into its
// layers. A backend chooses its own buffer, weight and per-step types; the family never sees them.

/// One backend's implementation of the decoder operations. Calls are made from the engine thread, in
/// order; a backend may queue them (CUDA streams) as long as results are visible to later calls.
public protocol DecoderOps: AnyObject {
    /// An activation buffer: rows x width values, row-major.
    associatedtype Buffer
    /// A weight matrix [outFeatures][inFeatures], with its optional bias.
    associatedtype Linear
    /// A norm weight vector.
    associatedtype Norm
    /// The embedding table.
    associatedtype Embedding
    /// What one step's attention needs besides activations: token ids, positions, KV slots, block
    /// tables, the logit rows wanted and the KV cache.
    associatedtype Step

    /// out[r] = table[tokenIds[r]] for every row of the step.
    func embed(_ table: Embedding, step: Step, into out: Buffer, rows: Int, width: Int) throws
    func rmsNorm(_ x: Buffer, into out: Buffer, weight: Norm, rows: Int, width: Int, eps: Float) throws
    /// y = x W^T (+ bias) for up to three weights over the same x (q/k/v, gate/up): a backend may
    /// share work between them, with results equal to separate calls.
    func linear(_ x: Buffer, rows: Int, _ a: (Linear, Buffer), _ b: (Linear, Buffer)?, _ c: (Linear, Buffer)?) throws
    /// Rotary embedding of the first `rotaryDim` dimensions of each head in place, at the step's positions.
    func rope(_ x: Buffer, rows: Int, heads: Int, headDim: Int, rotaryDim: Int, step: Step) throws
    /// Writes k and v into the layer's KV cache at the step's slots, then paged attention of q over
    /// each sequence's cached keys and values.
    func attention(layer: Int, q: Buffer, k: Buffer, v: Buffer, into out: Buffer, rows: Int,
                   numHeads: Int, numKVHeads: Int, headDim: Int, scale: Float, step: Step) throws
    /// out = silu(gate) * up, elementwise over rows x width.
    func siluMul(gate: Buffer, up: Buffer, into out: Buffer, rows: Int, width: Int) throws
    /// residual += x, elementwise.
    func add(_ x: Buffer, into residual: Buffer, count: Int) throws
    /// out[i] = x[logitRows[i]]: the rows whose logits the step wants.
    func gatherLogitRows(_ x: Buffer, into out: Buffer, count: Int, width: Int, step: Step) throws
}

extension DecoderOps {
    func linear(_ x: Buffer, rows: Int, _ a: (Linear, Buffer)) throws { try linear(x, rows: rows, a, nil, nil) }
}
