import Foundation
import JSON

extension LlamaConfig {
    static let huggingFaceArchitectures: [String: ModelFamily] = [
        "LlamaForCausalLM": .llama, "MistralForCausalLM": .mistral,
        "Qwen2ForCausalLM": .qwen2, "Qwen3ForCausalLM": .qwen3,
    ]

    /// Reads `config.json` (and `generation_config.json` for extra eos ids) from an HF model folder.
    public init(huggingFaceFolder folder: String) throws {
        let path = (folder as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.unreadableConfig(path: path, reason: "file not found or unreadable")
        }
        try self.init(huggingFaceFolder: folder, configJSON: data)
    }

    /// The folder's already-read `config.json`, plus `generation_config.json`'s extra eos ids.
    public init(huggingFaceFolder folder: String, configJSON data: Data) throws {
        try self.init(huggingFaceConfigJSON: data, source: (folder as NSString).appendingPathComponent("config.json"))
        let generationPath = (folder as NSString).appendingPathComponent("generation_config.json")
        if let generation = FileManager.default.contents(atPath: generationPath),
           let fields = try? JSONFields.parse(generation, source: generationPath) {
            for id in fields.tokenIds("eos_token_id") where !eosTokenIds.contains(id) {
                eosTokenIds.append(id)
            }
        }
    }

    /// Parses the contents of an HF `config.json`; `source` names it in errors.
    public init(huggingFaceConfigJSON data: Data, source: String = "config.json") throws {
        let fields = try JSONFields.parse(data, source: source)
        let architecture = try ModelSource.huggingFaceArchitecture(fields, source: source)
        guard let family = Self.huggingFaceArchitectures[architecture] else {
            throw ModelError.unsupportedArchitecture(architecture)
        }
        let hidden = try fields.int("hidden_size")
        let heads = try fields.int("num_attention_heads")
        let headDim = try fields.optionalInt("head_dim") ?? (heads > 0 ? hidden / heads : 0)
        let maxPositions = try fields.optionalInt("max_position_embeddings") ?? 2048
        // transformers 5 writes rope_parameters {rope_theta, rope_type, ...}; older configs split it
        // into rope_theta and rope_scaling.
        var ropeTheta = try fields.optionalDouble("rope_theta")
        var ropeScaling = try Self.parseRopeScaling(fields.value("rope_scaling"), fields: fields)
        if let parameters = fields.value("rope_parameters") {
            guard case let .object(dict) = parameters else {
                throw ModelError.invalidField(source: source, field: "rope_parameters", reason: "expected an object")
            }
            ropeTheta = try JSONFields(dict, source: source, prefix: "rope_parameters.").optionalDouble("rope_theta") ?? ropeTheta
            ropeScaling = try Self.parseRopeScaling(parameters, fields: fields, field: "rope_parameters")
        }
        self.init(
            architecture: architecture, family: family,
            hiddenSize: hidden,
            intermediateSize: try fields.int("intermediate_size"),
            numLayers: try fields.int("num_hidden_layers"),
            numHeads: heads,
            numKVHeads: try fields.optionalInt("num_key_value_heads") ?? heads,
            headDim: headDim,
            vocabSize: try fields.int("vocab_size"),
            rmsNormEps: try fields.optionalDouble("rms_norm_eps") ?? 1e-6,
            ropeTheta: ropeTheta ?? 10000,
            ropeScaling: ropeScaling,
            rotaryDim: headDim,
            maxPositionEmbeddings: maxPositions,
            tieWordEmbeddings: try fields.optionalBool("tie_word_embeddings") ?? false,
            hasQKNorm: family == .qwen3,
            bosTokenId: fields.tokenIds("bos_token_id").first,
            eosTokenIds: fields.tokenIds("eos_token_id"))
        if let partial = try fields.optionalDouble("partial_rotary_factor"), partial != 1 {
            rotaryDim = Int((Double(headDim) * partial).rounded())
        }
        if let act = fields.string("hidden_act"), act != "silu" {
            throw ModelError.invalidField(source: source, field: "hidden_act", reason: "'\(act)' is not supported (only silu)")
        }
        try validate(source: source)
    }

    static func parseRopeScaling(_ value: JSONValue?, fields: JSONFields, field: String = "rope_scaling") throws -> RopeScaling {
        guard let value else { return .none }
        guard case let .object(dict) = value else {
            throw ModelError.invalidField(source: fields.source, field: field, reason: "expected an object or null")
        }
        let scaling = JSONFields(dict, source: fields.source, prefix: field + ".")
        let kind = scaling.string("rope_type") ?? scaling.string("type") ?? "default"
        switch kind {
        case "default":
            return .none
        case "linear":
            return .linear(factor: try scaling.double("factor"))
        case "llama3":
            return .llama3(factor: try scaling.double("factor"),
                           lowFreqFactor: try scaling.double("low_freq_factor"),
                           highFreqFactor: try scaling.double("high_freq_factor"),
                           originalMaxPositionEmbeddings: try scaling.int("original_max_position_embeddings"))
        default:
            throw ModelError.unsupportedRopeScaling(kind)
        }
    }
}

/// Typed reads from a decoded JSON object with errors that name the file and field.
struct JSONFields {
    let object: JSONValue
    let source: String
    var prefix = ""

    init(_ members: [(key: String, value: JSONValue)], source: String, prefix: String = "") {
        self.object = .object(members)
        self.source = source
        self.prefix = prefix
    }

    static func parse(_ data: Data, source: String) throws -> JSONFields {
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw ModelError.unreadableConfig(path: source, reason: "not valid JSON (\(error))")
        }
        guard case let .object(object) = value else {
            throw ModelError.unreadableConfig(path: source, reason: "top level is not a JSON object")
        }
        return JSONFields(object, source: source)
    }

    /// The value under `key`, with JSON null read as absent.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func string(_ key: String) -> String? {
        if case let .string(text)? = value(key) { return text }
        return nil
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let integer = value.int else {
            throw ModelError.invalidField(source: source, field: prefix + key, reason: "expected an integer, got \(value)")
        }
        return integer
    }

    func optionalDouble(_ key: String) throws -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.double else {
            throw ModelError.invalidField(source: source, field: prefix + key, reason: "expected a number, got \(value)")
        }
        return number
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard case let .bool(flag) = value else {
            throw ModelError.invalidField(source: source, field: prefix + key, reason: "expected true/false, got \(value)")
        }
        return flag
    }

    func int(_ key: String) throws -> Int {
        guard let value = try optionalInt(key) else { throw ModelError.missingField(source: source, field: prefix + key) }
        return value
    }

    func double(_ key: String) throws -> Double {
        guard let value = try optionalDouble(key) else { throw ModelError.missingField(source: source, field: prefix + key) }
        return value
    }

    /// Token ids given as one integer or a list of integers (eos_token_id may be either).
    func tokenIds(_ key: String) -> [Int] { value(key)?.intList ?? [] }
}
