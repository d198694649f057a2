import EngineCore
import JSON
import Weights

/// vLLM's `--speculative-config` JSON, with its field names and defaults: the `ngram` and `draft_model`
/// methods; the others are refused by name rather than silently ignored.
public struct SpeculativeConfig: Sendable, Equatable {
    public var numSpeculativeTokens: Int
    public var promptLookupMin: Int
    public var promptLookupMax: Int
    /// Speculation is skipped in steps with at least this many running requests (vLLM disable_by_batch_size).
    public var disableByBatchSize: Int?
    /// The draft model (HF folder or GGUF file) for `draft_model`; nil for `ngram`.
    public var draftModel: String?
    /// vLLM's `method`.
    public var method: String { draftModel == nil ? "ngram" : "draft_model" }

    public init(numSpeculativeTokens: Int, promptLookupMin: Int = 5, promptLookupMax: Int = 5,
                disableByBatchSize: Int? = nil, draftModel: String? = nil) {
        self.draftModel = draftModel
        self.numSpeculativeTokens = numSpeculativeTokens
        self.promptLookupMin = promptLookupMin
        self.promptLookupMax = promptLookupMax
        self.disableByBatchSize = disableByBatchSize
    }

    static let knownFields: Set<String> = ["method", "num_speculative_tokens", "prompt_lookup_min", "prompt_lookup_max",
                                           "disable_by_batch_size", "draft_tensor_parallel_size", "model"]
    static let unservedMethods = ["eagle", "eagle3", "medusa", "mtp", "mlp_speculator", "suffix"]

    /// Parses and checks the JSON text of `--speculative-config`.
    public init(json text: String) throws {
        func bad(_ message: String) -> EngineError { EngineError(.invalidConfig, "--speculative-config: \(message)") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw bad("not valid JSON (\(error))")
        }
        guard let members = value.members else { throw bad("expected a JSON object") }
        if let unknown = members.first(where: { !Self.knownFields.contains($0.key) }) {
            throw bad("unknown field '\(unknown.key)' (known: \(Self.knownFields.sorted().joined(separator: ", ")))")
        }
        func int(_ name: String) throws -> Int? {
            guard let field = value[name], !field.isNull else { return nil }
            guard let number = field.int else { throw bad("\(name) must be an integer") }
            return number
        }
        let model = value["model"]?.string
        // vLLM infers the method from `model` when it is not given: "[ngram]", or a draft model.
        guard let methodName = value["method"]?.string ?? model.map({ $0 == "[ngram]" ? "ngram" : "draft_model" }) else {
            throw bad("'method' is required (ngram or draft_model)")
        }
        guard methodName == "ngram" || methodName == "draft_model" else {
            if Self.unservedMethods.contains(methodName) {
                throw bad("method '\(methodName)' is not supported by this engine yet; use 'ngram' or 'draft_model'")
            }
            throw bad("unknown method '\(methodName)' (supported: ngram, draft_model)")
        }
        var draftModel: String?
        if methodName == "draft_model" {
            guard let model, !model.isEmpty, model != "[ngram]" else {
                throw bad("method 'draft_model' needs 'model': the draft's HF folder or GGUF file")
            }
            draftModel = model
        }
        guard let k = try int("num_speculative_tokens") else { throw bad("num_speculative_tokens is required") }
        guard k >= 1 else { throw bad("num_speculative_tokens must be at least 1, got \(k)") }
        if let parallel = try int("draft_tensor_parallel_size"), parallel != 1 {
            throw bad("draft_tensor_parallel_size must be 1 on this engine, got \(parallel)")
        }
        // vLLM: both unset means 5 and 5; one set means the other takes its value.
        var lookupMin = try int("prompt_lookup_min")
        var lookupMax = try int("prompt_lookup_max")
        if lookupMin == nil && lookupMax == nil { (lookupMin, lookupMax) = (5, 5) }
        let minN = lookupMin ?? lookupMax!, maxN = lookupMax ?? lookupMin!
        guard minN >= 1 else { throw bad("prompt_lookup_min must be at least 1, got \(minN)") }
        guard maxN >= minN else { throw bad("prompt_lookup_max (\(maxN)) must be at least prompt_lookup_min (\(minN))") }
        let disable = try int("disable_by_batch_size")
        if let disable, disable < 2 { throw bad("disable_by_batch_size must be at least 2, got \(disable)") }
        self.init(numSpeculativeTokens: k, promptLookupMin: minN, promptLookupMax: maxN,
                  disableByBatchSize: disable, draftModel: draftModel)
    }

    /// The proposer this configuration runs: prompt lookup, or the draft model loaded from its files
    /// with a KV cache of `numBlocks` blocks. Throws when the draft's vocabulary is not the target's.
    func makeProposer(targetVocabSize: Int, numBlocks: Int, blockSize: Int, threads: Int?,
                      cacheDirectory: String?) throws -> any DraftProposer {
        guard let draftModel else { return NgramProposer(minN: promptLookupMin, maxN: promptLookupMax) }
        let location: ModelLocation
        do {
            location = try ModelLocator.resolve(draftModel, cacheDirectory: cacheDirectory)
        } catch {
            throw EngineError(.loadFailed, "--speculative-config model: \(error)")
        }
        let model = try EngineModelLoading.loadModel(location, threads: threads)
        guard model.spec.vocabSize == targetVocabSize else {
            throw EngineError(.invalidConfig,
                "--speculative-config: the draft model's vocabulary (\(model.spec.vocabSize) tokens) is not the target "
                    + "model's (\(targetVocabSize) tokens); a draft must share the target's tokenizer.")
        }
        do {
            return try DraftModelProposer(model: model, numBlocks: numBlocks, blockSize: blockSize)
        } catch {
            throw EngineError(.loadFailed, "--speculative-config: allocating the draft model's KV cache failed: \(error)")
        }
    }
}
