import Foundation
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
        guard let model = metadata["tokenizer.ggml.model"]?.string,
              let tokens = metadata["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw BenchError("\(path) has no tokenizer (tokenizer.ggml.model / tokenizer.ggml.tokens missing)")
        }
        var data = GGUFTokenizerData(model: model, tokens: tokens)
        data.pre = metadata["tokenizer.ggml.pre"]?.string
        data.scores = metadata["tokenizer.ggml.scores"]?.floats
        data.tokenTypes = metadata["tokenizer.ggml.token_type"]?.ints?.map { Int32(truncatingIfNeeded: $0) }
        data.merges = metadata["tokenizer.ggml.merges"]?.strings
        data.bosTokenId = metadata["tokenizer.ggml.bos_token_id"]?.int
        data.eosTokenId = metadata["tokenizer.ggml.eos_token_id"]?.int
        data.unknownTokenId = metadata["tokenizer.ggml.unknown_token_id"]?.int
        data.paddingTokenId = metadata["tokenizer.ggml.padding_token_id"]?.int
        data.addBosToken = metadata["tokenizer.ggml.add_bos_token"]?.bool
        data.addEosToken = metadata["tokenizer.ggml.add_eos_token"]?.bool
        do {
            return try Tokenizer(gguf: data)
        } catch {
            throw BenchError("cannot build the tokenizer of \(path): \(error)")
        }
    }
}
