import CKernels
import Weights

/// All weights of a Llama-family model, read in place from `store`.
struct LlamaWeights {
    let store: WeightStore
    let embedding: WeightTensor
    let layers: [LlamaLayer<CPUDecoderOps>]
    let finalNorm: FloatVector
    let lmHead: LinearWeight
    let ropeFreqFactors: [Float]?

    init(store: WeightStore, config: LlamaConfig, names: TensorNames) throws {
        self.store = store
        let reader = TensorReader(store: store)
        let hidden = config.hiddenSize
        embedding = try reader.tensor(names.embedding, shape: [config.vocabSize, hidden])
        if embedding.dtype.isQuantized, hidden % 32 != 0 {
            throw ModelError.unsupportedTensorDType(name: names.embedding, dtype: embedding.dtype.rawValue)
        }
        finalNorm = try reader.vector(names.finalNorm, count: hidden)
        if !config.tieWordEmbeddings, store.contains(names.lmHead) {
            lmHead = try reader.linear(names.lmHead, out: config.vocabSize, in: hidden)
        } else if config.tieWordEmbeddings {
            // The table is repacked for the head (all but F32); lookups fault the rows they read back in.
            lmHead = try LinearWeight(embedding, outFeatures: config.vocabSize, inFeatures: hidden, bias: nil)
        } else {
            throw ModelError.missingTensor(names.lmHead)
        }
        if let ropeName = names.ropeFreqs, store.contains(ropeName) {
            ropeFreqFactors = try reader.vector(ropeName, count: config.rotaryDim / 2).values
        } else {
            ropeFreqFactors = nil
        }
        layers = try (0..<config.numLayers).map { index in
            let name = { (part: TensorNames.LayerPart) in names.layer(index, part) }
            return LlamaLayer<CPUDecoderOps>(
                attnNorm: try reader.vector(name(.attnNorm), count: hidden),
                q: try reader.linear(name(.q), out: config.qDim, in: hidden, biasName: name(.qBias)),
                k: try reader.linear(name(.k), out: config.kvDim, in: hidden, biasName: name(.kBias)),
                v: try reader.linear(name(.v), out: config.kvDim, in: hidden, biasName: name(.vBias)),
                o: try reader.linear(name(.o), out: hidden, in: config.qDim, biasName: name(.oBias)),
                qNorm: config.hasQKNorm ? try reader.vector(name(.qNorm), count: config.headDim) : nil,
                kNorm: config.hasQKNorm ? try reader.vector(name(.kNorm), count: config.headDim) : nil,
                ffnNorm: try reader.vector(name(.ffnNorm), count: hidden),
                gate: try reader.linear(name(.gate), out: config.intermediateSize, in: hidden),
                up: try reader.linear(name(.up), out: config.intermediateSize, in: hidden),
                down: try reader.linear(name(.down), out: hidden, in: config.intermediateSize))
        }
    }
}
