import Foundation
import Weights

/// Opens a model from where `ModelLocator` found it, through the model registry.
public enum ModelLoader {
    public static func load(_ location: ModelLocation, registry: ModelRegistry = .shared) throws
        -> any CausalLanguageModel {
        try registry.load(source(for: location))
    }

    /// Opens the location far enough for the registry to read its architecture name.
    public static func source(for location: ModelLocation) throws -> ModelSource {
        switch location {
        case let .huggingFaceFolder(path):
            let configPath = (path as NSString).appendingPathComponent("config.json")
            guard let data = FileManager.default.contents(atPath: configPath) else {
                throw ModelError.unreadableConfig(path: configPath, reason: "file not found or unreadable")
            }
            return .huggingFace(folder: path, configJSON: data)
        case let .ggufFile(path):
            return .gguf(try GGUFFile(path: path))
        }
    }
}
