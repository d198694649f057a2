import Foundation
import Weights

/// Opens a model from where `ModelLocator` found it.
public enum ModelLoader {
    public static func load(_ location: ModelLocation) throws -> LlamaModel {
        switch location {
        case let .huggingFaceFolder(path):
            return try loadHuggingFaceFolder(path)
        case let .ggufFile(path):
            return try loadGGUF(path)
        }
    }

    /// An HF folder: config.json plus *.safetensors (HF rope layout, rotate_half).
    public static func loadHuggingFaceFolder(_ path: String) throws -> LlamaModel {
        let config = try LlamaConfig(huggingFaceFolder: path)
        let store = try SafetensorsStore(directory: path)
        return try LlamaModel(config: config, store: store, names: .huggingFace, neoxRope: true)
    }

    /// A GGUF file. llama.cpp's converter permutes the q/k rows of `llama` models for interleaved-pair
    /// rope; qwen2/qwen3 keep HF order and use rotate_half.
    public static func loadGGUF(_ path: String) throws -> LlamaModel {
        let file = try GGUFFile(path: path)
        let config = try LlamaConfig(ggufMetadata: file.metadata, source: path,
                                     hasOutputTensor: file.contains(TensorNames.gguf.lmHead))
        return try LlamaModel(config: config, store: file, names: .gguf, neoxRope: config.family != .llama)
    }
}
