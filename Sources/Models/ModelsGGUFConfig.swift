import Weights

extension LlamaConfig {
    static let ggufArchitectures: [String: ModelFamily] = ["llama": .llama, "qwen2": .qwen2, "qwen3": .qwen3]

    /// Reads the model facts from GGUF metadata (`{arch}.*` keys and the tokenizer token list).
    /// `hasOutputTensor`: whether `output.weight` exists (absent means tied embeddings).
    public init(ggufMetadata metadata: [String: GGUFValue], source: String, hasOutputTensor: Bool) throws {
        guard let arch = metadata["general.architecture"]?.string else {
            throw ModelError.missingField(source: source, field: "general.architecture")
        }
        guard let family = Self.ggufArchitectures[arch] else {
            throw ModelError.unsupportedArchitecture(arch)
        }
        func int(_ key: String) throws -> Int {
            guard let value = metadata[key] else { throw ModelError.missingField(source: source, field: key) }
            guard let number = value.int else {
                throw ModelError.invalidField(source: source, field: key, reason: "expected an integer")
            }
            return number
        }
        func optionalInt(_ key: String) throws -> Int? { metadata[key] == nil ? nil : try int(key) }
        func optionalDouble(_ key: String) throws -> Double? {
            guard let value = metadata[key] else { return nil }
            guard let number = value.double else {
                throw ModelError.invalidField(source: source, field: key, reason: "expected a number")
            }
            return number
        }

        let hidden = try int("\(arch).embedding_length")
        let heads = try int("\(arch).attention.head_count")
        let headDim = try optionalInt("\(arch).attention.key_length") ?? (heads > 0 ? hidden / heads : 0)
        let tokenCount = metadata["tokenizer.ggml.tokens"]?.array?.count
        guard let vocab = try optionalInt("\(arch).vocab_size") ?? tokenCount else {
            throw ModelError.missingField(source: source, field: "tokenizer.ggml.tokens (or \(arch).vocab_size)")
        }
        self.init(
            architecture: arch, family: family,
            hiddenSize: hidden,
            intermediateSize: try int("\(arch).feed_forward_length"),
            numLayers: try int("\(arch).block_count"),
            numHeads: heads,
            numKVHeads: try optionalInt("\(arch).attention.head_count_kv") ?? heads,
            headDim: headDim,
            vocabSize: vocab,
            rmsNormEps: try optionalDouble("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5,
            ropeTheta: try optionalDouble("\(arch).rope.freq_base") ?? 10000,
            ropeScaling: try Self.ggufRopeScaling(metadata, arch: arch, source: source),
            rotaryDim: try optionalInt("\(arch).rope.dimension_count") ?? headDim,
            maxPositionEmbeddings: try optionalInt("\(arch).context_length") ?? 2048,
            tieWordEmbeddings: !hasOutputTensor,
            hasQKNorm: family == .qwen3,
            bosTokenId: try optionalInt("tokenizer.ggml.bos_token_id"),
            eosTokenIds: try optionalInt("tokenizer.ggml.eos_token_id").map { [$0] } ?? [])
        try validate(source: source)
    }

    /// Llama 3 scaling needs no metadata here: GGUF carries it as the rope_freqs.weight tensor.
    static func ggufRopeScaling(_ metadata: [String: GGUFValue], arch: String, source: String) throws -> RopeScaling {
        let kind = metadata["\(arch).rope.scaling.type"]?.string ?? "none"
        switch kind {
        case "none":
            return .none
        case "linear":
            let key = "\(arch).rope.scaling.factor"
            guard let factor = metadata[key]?.double, factor > 0 else {
                throw ModelError.missingField(source: source, field: key)
            }
            return factor == 1 ? .none : .linear(factor: factor)
        default:
            throw ModelError.unsupportedRopeScaling(kind)
        }
    }
}
