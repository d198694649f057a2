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
        try s.reserve(tokens: rows, logitRows: layout.logitRowCount, metaCount: layout.totalCount)
        let meta = s.meta!
        // The copy is stream-ordered; `staging` is not touched again before the next step's pack,
        // which happens after this step's synchronising download.
        try staging.withUnsafeBytes { try device.upload($0, to: meta) }
        let int32 = { (offset: Int) in UnsafeRawPointer(meta.pointer + offset * 4) }

        let r = device.runtime, c = device.context
        try r.check(r.embedding(c, s.residual!.pointer, embedding.pointer, 2 /* VC_BF16 */, Int64(config.vocabSize),
                                Int64(config.hiddenSize), int32(layout.tokenIds), Int64(rows)), "vc_embedding")
        for (index, layer) in layers.enumerated() {
            try runLayer(layer, index: index, layout: layout, meta: int32, cache: cache)
        }
        guard layout.logitRowCount > 0 else {
            try device.synchronize()
            return false
        }
        let wanted = Int64(layout.logitRowCount), hidden = Int64(config.hiddenSize)
        try r.check(r.gatherRows(c, s.gathered!.pointer, s.residual!.pointer, int32(layout.logitRows), wanted, hidden),
                    "vc_gather_rows")
        try r.check(r.rmsNorm(c, s.gatheredNormed!.pointer, 2, s.gathered!.pointer, finalNorm.pointer, wanted, hidden,
                              Float(config.rmsNormEps)), "vc_rms_norm(final)")
        try r.check(r.matmulBF16(c, s.logits!.pointer, s.gatheredNormed!.pointer, lmHead.pointer, wanted, hidden,
                                 Int64(config.vocabSize)), "vc_matmul_bf16(lm_head)")
        return true
    }

    private func linear(_ weight: DeviceBuffer, bias: DeviceBuffer?, input: DeviceBuffer, output: DeviceBuffer,
                        rows: Int, inFeatures: Int, outFeatures: Int, what: String) throws {
        let r = device.runtime, c = device.context
        try r.check(r.matmulBF16(c, output.pointer, input.pointer, weight.pointer, Int64(rows), Int64(inFeatures),
                                 Int64(outFeatures)), "vc_matmul_bf16(\(what))")
        if let bias {
            try r.check(r.addBias(c, output.pointer, bias.pointer, Int64(rows), Int64(outFeatures)), "vc_add_bias(\(what))")
        }
    }

    private func runLayer(_ layer: CUDALayerWeights, index: Int, layout: CUDAStepLayout,
                          meta int32: (Int) -> UnsafeRawPointer, cache: CUDAKVCache) throws {
        let r = device.runtime, c = device.context, s = scratch
        let rows = layout.rows
        let hidden = config.hiddenSize, eps = Float(config.rmsNormEps), headDim = Int64(config.headDim)
        let bf16: Int32 = 2, f32: Int32 = 0

        try r.check(r.rmsNorm(c, s.normed!.pointer, bf16, s.residual!.pointer, layer.attnNorm.pointer, Int64(rows),
                              Int64(hidden), eps), "vc_rms_norm(attn)")
        try linear(layer.q, bias: layer.qBias, input: s.normed!, output: s.q!, rows: rows, inFeatures: hidden,
                   outFeatures: config.qDim, what: "q")
        try linear(layer.k, bias: layer.kBias, input: s.normed!, output: s.k!, rows: rows, inFeatures: hidden,
                   outFeatures: config.kvDim, what: "k")
        try linear(layer.v, bias: layer.vBias, input: s.normed!, output: s.v!, rows: rows, inFeatures: hidden,
                   outFeatures: config.kvDim, what: "v")
        if let qNorm = layer.qNorm, let kNorm = layer.kNorm {
            try r.check(r.rmsNorm(c, s.q!.pointer, f32, s.q!.pointer, qNorm.pointer, Int64(rows * config.numHeads),
                                  headDim, eps), "vc_rms_norm(q_norm)")
            try r.check(r.rmsNorm(c, s.k!.pointer, f32, s.k!.pointer, kNorm.pointer, Int64(rows * config.numKVHeads),
                                  headDim, eps), "vc_rms_norm(k_norm)")
        }
        let neox: Int32 = neoxRope ? 1 : 0, rotary = Int64(config.rotaryDim)
        try r.check(r.rope(c, s.q!.pointer, int32(layout.positions), inverseFrequencies.pointer, Int64(rows),
                           Int64(config.numHeads), headDim, rotary, neox), "vc_rope(q)")
        try r.check(r.rope(c, s.k!.pointer, int32(layout.positions), inverseFrequencies.pointer, Int64(rows),
                           Int64(config.numKVHeads), headDim, rotary, neox), "vc_rope(k)")
        let keys = cache.keys(layer: index), values = cache.values(layer: index)
        try r.check(r.kvStore(c, keys, values, s.k!.pointer, s.v!.pointer, int32(layout.slotMapping), Int64(rows),
                              Int64(config.kvDim)), "vc_kv_store")
        try r.check(r.pagedAttention(c, s.attention!.pointer, s.q!.pointer, keys, values, int32(layout.queryStart),
                                     int32(layout.seqLens), int32(layout.blockTables), Int64(layout.numSeqs),
                                     Int64(rows), Int64(layout.maxBlocksPerSeq), Int64(config.numHeads),
                                     Int64(config.numKVHeads), headDim, Int64(cache.blockSize),
                                     1 / Float(config.headDim).squareRoot()), "vc_paged_attention")
        try linear(layer.o, bias: layer.oBias, input: s.attention!, output: s.projected!, rows: rows,
                   inFeatures: config.qDim, outFeatures: hidden, what: "o")
        try r.check(r.add(c, s.residual!.pointer, s.projected!.pointer, Int64(rows * hidden)), "vc_add(attn)")

        try r.check(r.rmsNorm(c, s.normed!.pointer, bf16, s.residual!.pointer, layer.ffnNorm.pointer, Int64(rows),
                              Int64(hidden), eps), "vc_rms_norm(ffn)")
        try linear(layer.gate, bias: nil, input: s.normed!, output: s.gate!, rows: rows, inFeatures: hidden,
                   outFeatures: config.intermediateSize, what: "gate")
        try linear(layer.up, bias: nil, input: s.normed!, output: s.up!, rows: rows, inFeatures: hidden,
                   outFeatures: config.intermediateSize, what: "up")
        try r.check(r.siluMul(c, s.activated!.pointer, s.gate!.pointer, s.up!.pointer, Int64(rows),
                              Int64(config.intermediateSize)), "vc_silu_mul")
        try linear(layer.down, bias: nil, input: s.activated!, output: s.projected!, rows: rows,
                   inFeatures: config.intermediateSize, outFeatures: hidden, what: "down")
        try r.check(r.add(c, s.residual!.pointer, s.projected!.pointer, Int64(rows * hidden)), "vc_add(ffn)")
    }
}
