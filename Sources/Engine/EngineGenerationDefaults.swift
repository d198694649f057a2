import EngineCore
import Foundation

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
        return GenerationDefaults(temperature: EngineJSON.double(object["temperature"]),
                                  topP: EngineJSON.double(object["top_p"]),
                                  topK: EngineJSON.int(object["top_k"]),
                                  minP: EngineJSON.double(object["min_p"]),
                                  repetitionPenalty: EngineJSON.double(object["repetition_penalty"]),
                                  maxTokens: EngineJSON.int(object["max_new_tokens"]))
    }
}

/// Small helpers for the few JSON config files the engine reads itself.
enum EngineJSON {
    static func readObjectIfPresent(_ path: String) throws -> [String: Any]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw EngineError(.loadFailed, "cannot read \(path): \(error.localizedDescription)")
        }
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw EngineError(.loadFailed, "\(path) is not valid JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else {
            throw EngineError(.loadFailed, "\(path) must contain a JSON object")
        }
        return object
    }

    /// JSON numbers only: on Linux a JSON `true` is an NSNumber too (class __NSCFBoolean), and `is Bool`
    /// also matches the numbers 0 and 1, so booleans are told apart by class.
    static func number(_ value: Any?) -> NSNumber? {
        guard let number = value as? NSNumber else { return nil }
        if String(describing: type(of: number)).contains("Boolean") { return nil }
        return number
    }

    static func double(_ value: Any?) -> Double? {
        number(value)?.doubleValue
    }

    static func int(_ value: Any?) -> Int? {
        if let number = number(value) {
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 1e15 { return Int(double) }
        }
        return nil
    }

    /// An id field that may be an int or a list of ints (eos_token_id).
    static func ids(_ value: Any?) -> [Int] {
        if let single = int(value) { return [single] }
        if let list = value as? [Any] { return list.compactMap { int($0) } }
        return []
    }
}
