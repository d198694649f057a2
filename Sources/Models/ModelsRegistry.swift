import Foundation
import JSON
import Weights

/// Where a model's files are, opened far enough to read the architecture name.
public enum ModelSource {
    /// An HF folder: `config.json` (already read, as `configJSON`) plus weights.
    case huggingFace(folder: String, configJSON: Data)
    /// An opened GGUF file.
    case gguf(GGUFFile)

    /// HF `architectures[0]` or GGUF `general.architecture`: the registry key.
    public func architectureName() throws -> String {
        switch self {
        case let .huggingFace(folder, data):
            let source = (folder as NSString).appendingPathComponent("config.json")
            return try Self.huggingFaceArchitecture(JSONFields.parse(data, source: source), source: source)
        case let .gguf(file):
            guard let name = file.metadata["general.architecture"]?.string else {
                throw ModelError.missingField(source: file.path, field: "general.architecture")
            }
            return name
        }
    }
}

extension ModelSource {
    /// `architectures[0]` of a parsed HF config.json.
    static func huggingFaceArchitecture(_ fields: JSONFields, source: String) throws -> String {
        guard case let .array(architectures)? = fields.value("architectures"),
              case let .string(architecture)? = architectures.first else {
            let modelType = fields.string("model_type") ?? "(none)"
            throw ModelError.invalidField(source: source, field: "architectures",
                                          reason: "missing or empty (model_type \(modelType))")
        }
        return architecture
    }
}

/// A model family: the architecture names it answers to and how it builds a runnable model.
/// One file per family conforms to this (ModelsLlamaModel.swift for Llama, Mistral, Qwen2, Qwen3).
public protocol ModelArchitecture {
    /// HF `architectures[0]` values and GGUF `general.architecture` values this family loads.
    static var architectureNames: [String] { get }
    static func load(_ source: ModelSource) throws -> any CausalLanguageModel
}

/// Architecture name -> loader. The engine only ever sees `any CausalLanguageModel`; a new family
/// (or a test's fake) registers itself here and needs no change anywhere else.
public final class ModelRegistry: @unchecked Sendable {
    public typealias Loader = (ModelSource) throws -> any CausalLanguageModel

    /// The families built into this package, plus whatever was registered at run time.
    public static let shared = ModelRegistry(builtIn: [LlamaModel.self])

    private let lock = NSLock()
    private var loaders: [String: Loader] = [:]
    /// Registration order, for error messages and `--help`.
    private var names: [String] = []

    public init(builtIn: [any ModelArchitecture.Type] = []) {
        for family in builtIn { register(family) }
    }

    public func register(_ family: any ModelArchitecture.Type) {
        register(family.architectureNames, loader: family.load)
    }

    /// Registers (or replaces) the loader for each name.
    public func register(_ architectureNames: [String], loader: @escaping Loader) {
        lock.lock()
        defer { lock.unlock() }
        for name in architectureNames {
            if loaders[name] == nil { names.append(name) }
            loaders[name] = loader
        }
    }

    public var architectureNames: [String] {
        lock.lock()
        defer { lock.unlock() }
        return names
    }

    public func loader(for architecture: String) -> Loader? {
        lock.lock()
        defer { lock.unlock() }
        return loaders[architecture]
    }

    /// Reads the source's architecture name and builds the model with its family's loader.
    public func load(_ source: ModelSource) throws -> any CausalLanguageModel {
        let name = try source.architectureName()
        guard let loader = loader(for: name) else { throw ModelError.unsupportedArchitecture(name) }
        return try loader(source)
    }
}
