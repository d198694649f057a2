import Backend
import Foundation
import Models
import Tokenizer
import Weights

/// The tokenizer, chat template, stop ids and sampling defaults that come with a model's weights.
public struct ModelSideFiles {
    var tokenizer: Tokenizer
    var chatTemplate: String?
    var eosTokenIds: Set<Int>
    var generationDefaults: GenerationDefaults

    /// tokenizer files, config.json / generation_config.json eos ids, chat_template from
    /// tokenizer_config.json or chat_template.jinja / chat_template.json.
    static func loadHuggingFace(folder: String, generationConfig: String) throws -> ModelSideFiles {
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer.load(directory: folder)
        } catch {
            throw EngineError(.loadFailed, "cannot load the tokenizer of \(folder): \(error)")
        }
        var eos = Set<Int>()
        if let id = tokenizer.eosTokenId { eos.insert(id) }
        if let config = try EngineJSON.readObjectIfPresent((folder as NSString).appendingPathComponent("config.json")) {
            eos.formUnion(config["eos_token_id"]?.intList ?? [])
        }
        let generationPath = (folder as NSString).appendingPathComponent("generation_config.json")
        if let generation = try EngineJSON.readObjectIfPresent(generationPath) {
            eos.formUnion(generation["eos_token_id"]?.intList ?? [])
        }
        return ModelSideFiles(tokenizer: tokenizer,
                              chatTemplate: try tokenizer.chatTemplate ?? folderChatTemplate(folder),
                              eosTokenIds: eos,
                              generationDefaults: try generationDefaults(generationConfig, modelFolder: folder))
    }

    /// Tokenizer and chat template from the GGUF metadata (tokenizer.ggml.*, tokenizer.chat_template).
    static func loadGGUF(path: String, generationConfig: String) throws -> ModelSideFiles {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw EngineError(.loadFailed, "\(error)")
        }
        let data = try ggufTokenizerData(file.metadata, path: path)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: data)
        } catch {
            throw EngineError(.loadFailed, "cannot build the tokenizer from \(path): \(error)")
        }
        var eos = Set<Int>()
        if let id = data.eosTokenId { eos.insert(id) }
        // llama.cpp also ends generation on the end-of-turn token (e.g. <|im_end|>, <|eot_id|>).
        if let id = file.metadata["tokenizer.ggml.eot_token_id"]?.int { eos.insert(id) }
        if let id = tokenizer.eosTokenId { eos.insert(id) }
        return ModelSideFiles(tokenizer: tokenizer, chatTemplate: data.chatTemplate ?? tokenizer.chatTemplate,
                              eosTokenIds: eos,
                              generationDefaults: try generationDefaults(generationConfig, modelFolder: nil))
    }

    /// The tokenizer facts a GGUF file carries in its `tokenizer.ggml.*` metadata.
    public static func ggufTokenizerData(_ metadata: [String: GGUFValue], path: String) throws -> GGUFTokenizerData {
        guard let model = metadata["tokenizer.ggml.model"]?.string else {
            throw EngineError(.loadFailed, "\(path) has no tokenizer (metadata key tokenizer.ggml.model is missing)")
        }
        guard let tokens = metadata["tokenizer.ggml.tokens"]?.strings, !tokens.isEmpty else {
            throw EngineError(.loadFailed, "\(path): tokenizer.ggml.tokens is missing or not a list of strings")
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
        data.addSpacePrefix = metadata["tokenizer.ggml.add_space_prefix"]?.bool
        data.chatTemplate = metadata["tokenizer.chat_template"]?.string
        return data
    }

    /// Newer HF folders keep the template beside the tokenizer files.
    static func folderChatTemplate(_ folder: String) throws -> String? {
        let jinja = (folder as NSString).appendingPathComponent("chat_template.jinja")
        if FileManager.default.fileExists(atPath: jinja) {
            do {
                return try String(contentsOfFile: jinja, encoding: .utf8)
            } catch {
                throw EngineError(.loadFailed, "cannot read \(jinja): \(error.localizedDescription)")
            }
        }
        let json = (folder as NSString).appendingPathComponent("chat_template.json")
        return try EngineJSON.readObjectIfPresent(json)?["chat_template"]?.string
    }

    /// "auto": the model folder's generation_config.json; "vllm": none; otherwise a folder to read it from.
    static func generationDefaults(_ setting: String, modelFolder: String?) throws -> GenerationDefaults {
        switch setting {
        case "vllm":
            return GenerationDefaults()
        case "auto", "":
            guard let modelFolder else { return GenerationDefaults() }
            return try GenerationDefaults.load(folder: modelFolder)
        default:
            let folder = (setting as NSString).expandingTildeInPath
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EngineError(.invalidConfig,
                                  "--generation-config must be 'auto', 'vllm' or a folder with generation_config.json; \(setting) is not a folder")
            }
            return try GenerationDefaults.load(folder: folder)
        }
    }
}

enum EngineModelLoading {
    /// Starts the kernel thread pool (when asked) and loads the runnable model for a location.
    static func loadModel(_ location: ModelLocation, threads: Int?) throws -> any CausalLanguageModel {
        if let threads {
            guard threads >= 1 else {
                throw EngineError(.invalidConfig, "threads must be at least 1, got \(threads).")
            }
            CPUKernels.initialize(threads: threads)
        }
        do {
            return try ModelLoader.load(location)
        } catch {
            throw EngineError(.loadFailed, "\(error)")
        }
    }
}
