import EngineCore
import Foundation
import JSON

/// Sampling defaults a model ships in generation_config.json (vLLM --generation-config auto).
/// A request field that is absent takes the default from here, then vLLM's own default.
public struct GenerationDefaults: Sendable, Equatable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var minP: Double?
    public var repetitionPenalty: Double?
    /// generation_config max_new_tokens: default max_tokens when the request gives none.
    public var maxTokens: Int?

    public init(temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil, minP: Double? = nil,
                repetitionPenalty: Double? = nil, maxTokens: Int? = nil) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.maxTokens = maxTokens
    }

    public var isEmpty: Bool { self == GenerationDefaults() }

    /// vLLM's SamplingParams defaults with these overrides applied. Callers then set what the request gave.
    public func samplingParams() -> SamplingParams {
        var params = SamplingParams()
        if let temperature { params.temperature = temperature }
        if let topP { params.topP = topP }
        if let topK { params.topK = topK }
        if let minP { params.minP = minP }
        if let repetitionPenalty { params.repetitionPenalty = repetitionPenalty }
        if let maxTokens { params.maxTokens = maxTokens }
        return params
    }

    /// Reads the sampling keys of a generation_config.json (missing file: no defaults).
    static func load(folder: String) throws -> GenerationDefaults {
        let path = (folder as NSString).appendingPathComponent("generation_config.json")
        guard let object = try EngineJSON.readObjectIfPresent(path) else { return GenerationDefaults() }
        return GenerationDefaults(temperature: object["temperature"]?.double,
                                  topP: object["top_p"]?.double,
                                  topK: object["top_k"]?.int,
                                  minP: object["min_p"]?.double,
                                  repetitionPenalty: object["repetition_penalty"]?.double,
                                  maxTokens: object["max_new_tokens"]?.int)
    }
}

/// Small helpers for the few JSON config files the engine reads itself.
enum EngineJSON {
    static func readObjectIfPresent(_ path: String) throws -> JSONValue? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EngineError(.loadFailed, "cannot read \(path): \(error.localizedDescription)")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse([UInt8](data))
        } catch {
            throw EngineError(.loadFailed, "\(path) is not valid JSON: \(error)")
        }
        guard parsed.members != nil else {
            throw EngineError(.loadFailed, "\(path) must contain a JSON object")
        }
        return parsed
    }
}
