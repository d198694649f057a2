import Models

/// Device activation buffers, grown to the largest step seen (never shrunk), so steady-state
/// steps allocate nothing.
final class CUDAForwardScratch {
    let device: CUDADevice
    let hidden: Int, qDim: Int, kvDim: Int, intermediate: Int, vocab: Int
    private(set) var tokenCapacity = 0
    private(set) var logitCapacity = 0
    private(set) var metaCapacity = 0
    var residual: DeviceBuffer?   // f32 [T][hidden]
    var normed: DeviceBuffer?     // bf16 [T][hidden]
    var q: DeviceBuffer?          // f32 [T][qDim]
    var k: DeviceBuffer?          // f32 [T][kvDim]
    var v: DeviceBuffer?          // f32 [T][kvDim]
    var attention: DeviceBuffer?  // bf16 [T][qDim]
    var projected: DeviceBuffer?  // f32 [T][hidden]
    var gate: DeviceBuffer?       // f32 [T][intermediate]
    var up: DeviceBuffer?         // f32 [T][intermediate]
    var activated: DeviceBuffer?  // bf16 [T][intermediate]
    var meta: DeviceBuffer?       // int32 packed step metadata
    var gathered: DeviceBuffer?   // f32 [R][hidden]
    var gatheredNormed: DeviceBuffer?  // bf16 [R][hidden]
    var logits: DeviceBuffer?     // f32 [R][vocab]
    var argmax: DeviceBuffer?, topIds: DeviceBuffer?, topLogprobs: DeviceBuffer?
    private var samplingRows = 0, samplingTopK = 0

    init(device: CUDADevice, config: LlamaConfig) {
        self.device = device
        hidden = config.hiddenSize
        qDim = config.qDim
        kvDim = config.kvDim
        intermediate = config.intermediateSize
        vocab = config.vocabSize
    }

    /// Bytes the token buffers take for `tokens` rows (used to keep room when sizing the KV cache).
    func tokenBytes(_ tokens: Int) -> Int {
        tokens * (4 * hidden + 2 * hidden + 4 * qDim + 8 * kvDim + 2 * qDim + 4 * hidden + 8 * intermediate
                  + 2 * intermediate)
    }

    func reserveEstimate(maxTokens: Int) -> Int { tokenBytes(maxTokens) + (256 << 20) }

    func reserve(tokens: Int, logitRows: Int, metaCount: Int) throws {
        if tokens > tokenCapacity {
            let t = max(tokens, 16)
            residual = nil; normed = nil; q = nil; k = nil; v = nil; attention = nil
            projected = nil; gate = nil; up = nil; activated = nil
            residual = try device.allocate(bytes: t * hidden * 4, what: "residual")
            normed = try device.allocate(bytes: t * hidden * 2, what: "normed")
            q = try device.allocate(bytes: t * qDim * 4, what: "q")
            k = try device.allocate(bytes: t * kvDim * 4, what: "k")
            v = try device.allocate(bytes: t * kvDim * 4, what: "v")
            attention = try device.allocate(bytes: t * qDim * 2, what: "attention")
            projected = try device.allocate(bytes: t * hidden * 4, what: "projected")
            gate = try device.allocate(bytes: t * intermediate * 4, what: "gate")
            up = try device.allocate(bytes: t * intermediate * 4, what: "up")
            activated = try device.allocate(bytes: t * intermediate * 2, what: "activated")
            tokenCapacity = t
        }
        if logitRows > logitCapacity {
            let r = max(logitRows, 16)
            gathered = nil; gatheredNormed = nil; logits = nil
            gathered = try device.allocate(bytes: r * hidden * 4, what: "gathered rows")
            gatheredNormed = try device.allocate(bytes: r * hidden * 2, what: "gathered normed rows")
            logits = try device.allocate(bytes: r * vocab * 4, what: "logits")
            logitCapacity = r
        }
        if metaCount > metaCapacity {
            let count = max(metaCount, 1024)
            meta = nil
            meta = try device.allocate(bytes: count * 4, what: "step metadata")
            metaCapacity = count
        }
    }

    func reserveSampling(rows: Int, topK: Int) throws {
        if rows > samplingRows || topK > samplingTopK || argmax == nil {
            let r = max(rows, samplingRows, 16), k = max(topK, samplingTopK, 1)
            argmax = try device.allocate(bytes: r * 4, what: "argmax")
            topIds = try device.allocate(bytes: r * k * 4, what: "top ids")
            topLogprobs = try device.allocate(bytes: r * k * 4, what: "top logprobs")
            samplingRows = r
            samplingTopK = k
        }
    }
}
