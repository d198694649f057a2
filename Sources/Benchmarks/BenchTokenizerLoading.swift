import Foundation
import Engine
import Tokenizer
import Weights

/// Loads only the tokenizer of a model (HF folder or .gguf file): the benchmark client needs no weights.
public enum BenchTokenizerLoading {
    public static func load(_ path: String) throws -> Tokenizer {
        let location: ModelLocation
        do {
            location = try ModelLocator.resolve(path)
        } catch {
            throw BenchError("--tokenizer \(path): \(error)")
        }
        switch location {
        case .huggingFaceFolder(let folder):
            do {
                return try Tokenizer.load(directory: folder)
            } catch {
                throw BenchError("cannot load the tokenizer in \(folder): \(error)")
            }
        case .ggufFile(let file):
            return try loadGGUF(file)
        }
    }

    static func loadGGUF(_ path: String) throws -> Tokenizer {
        let metadata: [String: GGUFValue]
        do {
            metadata = try GGUFFile(path: path).metadata
        } catch {
            throw BenchError("cannot read \(path): \(error)")
        }
        let data: GGUFTokenizerData
        do {
            data = try ModelSideFiles.ggufTokenizerData(metadata, path: path)
        } catch {
            throw BenchError("\(error)")
        }
        do {
            return try Tokenizer(gguf: data)
        } catch {
            throw BenchError("cannot build the tokenizer of \(path): \(error)")
        }
    }
}
