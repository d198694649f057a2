import ArgumentParser
import Foundation

/// Engine flags shared by `vllm serve` and `vllm generate`, with vLLM's names.
struct EngineOptions: ParsableArguments {
    @Option(help: "Maximum context length (prompt + output) in tokens. Default: the model's maximum.")
    var maxModelLen: Int?

    @Option(help: "Maximum number of sequences running in one batch.")
    var maxNumSeqs: Int = 256

    @Option(help: "Token budget of one engine step (chunked prefill size).")
    var maxNumBatchedTokens: Int = 2048

    @Option(help: "Tokens per KV-cache block.")
    var blockSize: Int = 16

    @Option(help: "Memory for the KV cache, in bytes; suffixes K, M, G, KiB, MiB, GiB are accepted (e.g. 2GiB).",
            transform: parseByteSize)
    var kvCacheMemory: Int?

    @Flag(name: .customLong("enable-prefix-caching"), inversion: .prefixedNo,
          help: "Reuse KV blocks of shared prompt prefixes (--no-enable-prefix-caching turns it off).")
    var prefixCaching = true

    @Option(help: "Chat template: a file path or the template text itself. Default: the model's template.")
    var chatTemplate: String?

    @Option(help: "'auto' applies the model's generation_config.json sampling defaults; 'vllm' ignores them.")
    var generationConfig: String = "auto"

    @Option(help: "Seed of the engine's random generator (requests without a seed).")
    var seed: UInt64 = 0

    @Option(help: "Weight/activation dtype: auto or float32 (others are accepted and treated as auto).")
    var dtype: String = "auto"

    @Option(help: "Bound on waiting requests; more are refused with 503 so clients retry. Default: unbounded.")
    var maxWaitingRequests: Int?

    @Option(help: "Compute threads. Default: all cores.")
    var threads: Int?

    @Option(help: ArgumentHelp("Speculative decoding, as vLLM's JSON, e.g. "
                               + "'{\"method\": \"ngram\", \"num_speculative_tokens\": 4, \"prompt_lookup_max\": 4}'.",
                               valueName: "json"))
    var speculativeConfig: String?

    func validate() throws {
        if let maxModelLen, maxModelLen < 1 { throw ValidationError("--max-model-len must be at least 1") }
        guard maxNumSeqs >= 1 else { throw ValidationError("--max-num-seqs must be at least 1") }
        guard maxNumBatchedTokens >= 1 else { throw ValidationError("--max-num-batched-tokens must be at least 1") }
        guard [1, 8, 16, 32, 64, 128, 256].contains(blockSize) else {
            throw ValidationError("--block-size must be one of 1, 8, 16, 32, 64, 128, 256")
        }
        guard ["auto", "vllm"].contains(generationConfig) || FileManager.default.fileExists(atPath: generationConfig)
        else {
            throw ValidationError("--generation-config must be 'auto', 'vllm' or a folder with generation_config.json")
        }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        if let maxWaitingRequests, maxWaitingRequests < 0 { throw ValidationError("--max-waiting-requests must be >= 0") }
        let knownDtypes = ["auto", "float32", "float", "float16", "half", "bfloat16"]
        guard knownDtypes.contains(dtype) else {
            throw ValidationError("--dtype must be one of \(knownDtypes.joined(separator: ", "))")
        }
    }

    /// The chat template override as text: the file's contents when the value names a file.
    func chatTemplateSource() throws -> String? {
        guard let chatTemplate else { return nil }
        if FileManager.default.fileExists(atPath: chatTemplate) {
            do {
                return try String(contentsOfFile: chatTemplate, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read --chat-template file \(chatTemplate): \(error.localizedDescription)")
            }
        }
        guard chatTemplate.contains("{{") || chatTemplate.contains("{%") else {
            throw ValidationError("--chat-template: no file named \(chatTemplate), and it does not look like a Jinja template")
        }
        return chatTemplate
    }

    var dtypeNote: String? {
        ["auto", "float32", "float"].contains(dtype) ? nil
            : "--dtype \(dtype) is accepted for compatibility; this engine computes in float32 (weights keep their stored format)"
    }
}

/// "2GiB" -> 2147483648. Plain numbers are bytes; K/M/G are decimal, KiB/MiB/GiB binary (like vLLM).
func parseByteSize(_ text: String) throws -> Int {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let units: [(String, Double)] = [("kib", 1024), ("mib", 1_048_576), ("gib", 1_073_741_824), ("tib", 1_099_511_627_776),
                                     ("kb", 1e3), ("mb", 1e6), ("gb", 1e9), ("tb", 1e12),
                                     ("k", 1e3), ("m", 1e6), ("g", 1e9), ("t", 1e12), ("b", 1)]
    let lower = trimmed.lowercased()
    for (suffix, scale) in units where lower.hasSuffix(suffix) {
        let number = lower.dropLast(suffix.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(number), value > 0, value * scale < 9e18 else { break }
        return Int(value * scale)
    }
    if let value = Int(trimmed), value > 0 { return value }
    throw ValidationError("invalid byte size '\(text)' (examples: 2147483648, 2GiB, 512MiB, 4G)")
}
