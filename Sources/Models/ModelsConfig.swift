import Foundation

/// How rotary frequencies are stretched for long contexts.
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (equivalently, every inverse frequency divided by it).
    case linear(factor: Double)
    /// Llama 3.1+ frequency-dependent scaling.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Int)
}

/// The model families this runtime runs; they share one decoder layer with small switches.
public enum ModelFamily: String, Sendable, Equatable {
    case llama, mistral, qwen2, qwen3
}

/// Everything the forward pass needs to know about a Llama-family model, from an HF config.json
/// or GGUF metadata.
public struct LlamaConfig: Sendable, Equatable {
    /// As named by the source: "LlamaForCausalLM" for HF folders, "llama" for GGUF.
    public var architecture: String
    public var family: ModelFamily
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var numKVHeads: Int
    public var headDim: Int
    public var vocabSize: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling
    /// Leading dimensions of each head that get rotated (usually headDim).
    public var rotaryDim: Int
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    /// Qwen3 normalises each q and k head before rope.
    public var hasQKNorm: Bool
    public var bosTokenId: Int?
    public var eosTokenIds: [Int]

    public init(architecture: String, family: ModelFamily, hiddenSize: Int, intermediateSize: Int,
                numLayers: Int, numHeads: Int, numKVHeads: Int, headDim: Int, vocabSize: Int,
                rmsNormEps: Double, ropeTheta: Double, ropeScaling: RopeScaling = .none, rotaryDim: Int? = nil,
                maxPositionEmbeddings: Int, tieWordEmbeddings: Bool, hasQKNorm: Bool = false,
                bosTokenId: Int? = nil, eosTokenIds: [Int] = []) {
        self.architecture = architecture
        self.family = family
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.numKVHeads = numKVHeads
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.rotaryDim = rotaryDim ?? headDim
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.tieWordEmbeddings = tieWordEmbeddings
        self.hasQKNorm = hasQKNorm
        self.bosTokenId = bosTokenId
        self.eosTokenIds = eosTokenIds
    }

    public var qDim: Int { numHeads * headDim }
    public var kvDim: Int { numKVHeads * headDim }

    /// Checks the relations the forward pass relies on; `source` names the file in errors.
    public func validate(source: String) throws {
        let positive: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
            ("num_hidden_layers", numLayers), ("num_attention_heads", numHeads),
            ("num_key_value_heads", numKVHeads), ("head_dim", headDim), ("vocab_size", vocabSize),
            ("max_position_embeddings", maxPositionEmbeddings),
        ]
        for (field, value) in positive where value <= 0 {
            throw ModelError.invalidField(source: source, field: field, reason: "must be positive, got \(value)")
        }
        if numHeads % numKVHeads != 0 {
            throw ModelError.invalidField(source: source, field: "num_key_value_heads",
                                          reason: "\(numKVHeads) does not divide num_attention_heads \(numHeads)")
        }
        if rotaryDim <= 0 || rotaryDim > headDim || rotaryDim % 2 != 0 {
            throw ModelError.invalidField(source: source, field: "rotary dimension",
                                          reason: "\(rotaryDim) must be even and within head_dim \(headDim)")
        }
        if !(ropeTheta > 0) {
            throw ModelError.invalidField(source: source, field: "rope_theta", reason: "must be positive, got \(ropeTheta)")
        }
    }
}

extension ModelSpec {
    public init(_ config: LlamaConfig) {
        self.init(architecture: config.architecture, vocabSize: config.vocabSize,
                  maxPositionEmbeddings: config.maxPositionEmbeddings, numLayers: config.numLayers,
                  numKVHeads: config.numKVHeads, headDim: config.headDim)
        eosTokenIds = config.eosTokenIds
    }
}
