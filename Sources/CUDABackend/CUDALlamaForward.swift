import Models

extension CUDALlamaModel {
    /// Runs the decoder for `batch` and leaves logits of `batch.logitRows` in `scratch.logits`.
    /// Returns false when there is nothing to compute (no rows or no logit rows wanted).
    func runToLogits(_ batch: ForwardBatch) throws -> Bool {
        guard let cache else {
            throw CUDAError.callFailed(call: "forward", status: -6, message: "KV cache not allocated")
        }
        guard batch.numTokens > 0 else { return false }  // an idle step, as the CPU model allows
        let layout = try CUDAStepPacker.pack(batch, vocabSize: config.vocabSize, numBlocks: cache.numBlocks,
                                             blockSize: cache.blockSize, into: &staging)
        let rows = layout.rows
        guard rows > 0 else { return false }
        let s = scratch
        // At least one logit row, so every activation buffer exists even on a step that wants none.
        try s.reserve(tokens: rows, logitRows: max(layout.logitRowCount, 1), metaCount: layout.totalCount)
        let meta = s.meta!
        // The copy is stream-ordered; `staging` is not touched again before the next step's pack,
        // which happens after this step's synchronising download.
        try staging.withUnsafeBytes { try device.upload($0, to: meta) }

        let activation = { (buffer: DeviceBuffer?, dtype: Int32) in CUDAActivation(buffer: buffer!, dtype: dtype) }
        let f32 = CUDAActivation.f32, bf16 = CUDAActivation.bf16
        let buffers = LlamaActivations(
            residual: activation(s.residual, f32), normed: activation(s.normed, bf16), q: activation(s.q, f32),
            k: activation(s.k, f32), v: activation(s.v, f32), attention: activation(s.attention, bf16),
            projected: activation(s.projected, f32), gate: activation(s.gate, f32), up: activation(s.up, f32),
            activated: activation(s.activated, bf16), gathered: activation(s.gathered, f32),
            gatheredNormed: activation(s.gatheredNormed, bf16), logits: activation(s.logits, f32))
        try decoder.forward(ops, step: CUDAStep(layout: layout, meta: meta, cache: cache), rows: rows,
                            logitRows: layout.logitRowCount, buffers: buffers)
        guard layout.logitRowCount > 0 else {
            try device.synchronize()
            return false
        }
        return true
    }
}
