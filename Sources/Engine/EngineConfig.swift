import Foundation
import EngineCore

/// Everything `vllm serve` / `vllm generate` pass to the engine; names follow vLLM's flags.
public struct EngineConfig: Sendable, Equatable {
    /// Model argument: HF folder, .gguf file, or nil for the default model.
    public var model: String? = nil
    /// Name reported by the API; nil: the model argument as given (vLLM), or the default model's name.
    public var servedModelName: String? = nil
    /// Context length (prompt + output). nil: the model's max position embeddings, clamped to what the
    /// KV cache can hold for one sequence.
    public var maxModelLen: Int? = nil
    public var maxNumSeqs = 256
    /// Per-step token budget; chunked prefill is always on, so it may be smaller than maxModelLen.
    public var maxNumBatchedTokens = 2048
    public var blockSize = 16
    /// KV cache size in bytes (vLLM --kv-cache-memory). nil: `EngineConfig.defaultKVCacheBytes()`.
    public var kvCacheMemoryBytes: Int? = nil
    public var enablePrefixCaching = true
    /// Seeds the generator shared by requests without their own seed (vLLM default 0).
    public var seed: UInt64 = 0
    /// Chat template override: a file path, or the template text itself when no such file exists.
    public var chatTemplate: String? = nil
    /// "auto": sampling defaults from the model's generation_config.json; "vllm": ignore it;
    /// anything else: a folder holding a generation_config.json.
    public var generationConfig = "auto"
    /// Requests beyond this many waiting are refused with `EngineError.Kind.overloaded`. nil: unbounded.
    public var maxWaitingRequests: Int? = nil
    /// Kernel threads; nil leaves the kernels' default (one per core).
    public var threads: Int? = nil
    public var schedulingPolicy: SchedulingPolicy = .fcfs
    /// vLLM --max-logprobs.
    public var maxLogprobs = 20
    public var longPrefillTokenThreshold: Int? = nil
    /// Seconds between the engine's throughput log lines (vLLM logs every 5 s); nil: never (--disable-log-stats).
    public var logStatsInterval: Double? = 5
    /// vLLM --speculative-config; nil: no speculative decoding.
    public var speculative: SpeculativeConfig? = nil
    /// Where the default model is cached; nil: ModelLocator.defaultCacheDirectory.
    public var cacheDirectory: String? = nil

    public init(model: String? = nil) {
        self.model = model
    }

    /// 2 GiB, or a quarter of the memory available now when that is smaller (at least 64 MiB).
    public static func defaultKVCacheBytes() -> Int {
        let twoGiB = 2 << 30
        guard let available = availableMemoryBytes() else { return twoGiB }
        return max(64 << 20, min(twoGiB, available / 4))
    }

    /// MemAvailable from /proc/meminfo (Linux); nil elsewhere.
    static func availableMemoryBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            let fields = line.split(separator: " ")
            if fields.count >= 2, let kib = Int(fields[1]) { return kib * 1024 }
        }
        return nil
    }
}
