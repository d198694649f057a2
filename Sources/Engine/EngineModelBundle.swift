import ChatTemplate
import EngineCore
import Foundation
import Models
import Tokenizer
import Weights

/// Everything loaded for one model: the runnable model, its tokenizer and chat template, stop ids and
/// sampling defaults. Immutable after loading; the model itself is only ever run by the engine thread.
public final class ModelBundle: @unchecked Sendable {
    public let model: any CausalLanguageModel
    public let tokenizer: Tokenizer
    /// nil when the model has no template (or its template failed to parse: see `chatTemplateError`).
    public let chatTemplate: ChatTemplate?
    public let chatTemplateSource: String?
    /// Why the model's own chat template is unusable, for the error a chat request gets.
    public let chatTemplateError: String?
    /// The name the API reports.
    public let modelName: String
    public let location: ModelLocation?
    /// Generation ends on any of these (config.json, generation_config.json, tokenizer, GGUF).
    public let eosTokenIds: Set<Int>
    public let generationDefaults: GenerationDefaults

    public var spec: ModelSpec { model.spec }

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer, modelName: String,
                eosTokenIds: Set<Int>, chatTemplateSource: String? = nil,
                generationDefaults: GenerationDefaults = GenerationDefaults(), location: ModelLocation? = nil) {
        self.model = model
        self.tokenizer = tokenizer
        self.modelName = modelName
        self.eosTokenIds = eosTokenIds
        self.generationDefaults = generationDefaults
        self.location = location
        self.chatTemplateSource = chatTemplateSource
        var template: ChatTemplate? = nil
        var templateError: String? = nil
        if let source = chatTemplateSource {
            do {
                template = try ChatTemplate(source: source)
            } catch {
                templateError = "The model's chat template could not be parsed: \(error)"
            }
        } else {
            templateError = "This model has no chat template; pass one with --chat-template to use the chat API."
        }
        self.chatTemplate = template
        self.chatTemplateError = templateError
    }

    /// Resolves the model argument, then loads model, tokenizer, chat template, stop ids and defaults.
    public static func load(_ config: EngineConfig) throws -> ModelBundle {
        let location: ModelLocation
        do {
            location = try ModelLocator.resolve(config.model, cacheDirectory: config.cacheDirectory)
        } catch {
            throw EngineError(.loadFailed, "\(error)")
        }
        let model = try EngineModelLoading.loadModel(location, threads: config.threads)
        var parts: ModelSideFiles
        switch location {
        case .huggingFaceFolder(let folder):
            parts = try ModelSideFiles.loadHuggingFace(folder: folder, generationConfig: config.generationConfig)
        case .ggufFile(let path):
            parts = try ModelSideFiles.loadGGUF(path: path, generationConfig: config.generationConfig)
        }
        parts.eosTokenIds.formUnion(model.spec.eosTokenIds)
        var templateSource = parts.chatTemplate
        if let override = config.chatTemplate {
            templateSource = try loadChatTemplateOverride(override)
            // A broken override is the user's mistake: fail now rather than on every chat request.
            do {
                _ = try ChatTemplate(source: templateSource ?? "")
            } catch {
                throw EngineError(.loadFailed, "--chat-template \(describeOverride(override)) does not parse: \(error)")
            }
        }
        let name = config.servedModelName ?? config.model ?? DefaultModel.name
        parts.tokenizer.prepareStreaming()
        return ModelBundle(model: model, tokenizer: parts.tokenizer, modelName: name,
                           eosTokenIds: parts.eosTokenIds, chatTemplateSource: templateSource,
                           generationDefaults: parts.generationDefaults, location: location)
    }

    /// A path to a template file, or (when no such file exists and it looks like Jinja) the template itself.
    public static func loadChatTemplateOverride(_ value: String) throws -> String {
        let path = (value as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            do {
                return try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw EngineError(.loadFailed, "cannot read chat template file \(path): \(error.localizedDescription)")
            }
        }
        if value.contains("{{") || value.contains("{%") { return value }
        throw EngineError(.loadFailed, "chat template file \(path) not found (pass a file path or the template text)")
    }

    private static func describeOverride(_ value: String) -> String {
        value.count > 60 ? "(inline template)" : value
    }
}
