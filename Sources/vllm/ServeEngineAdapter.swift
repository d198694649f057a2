import ArgumentParser
import Engine
import Foundation
import Logging
import Server

/// A loaded engine behind the server's `ServingEngine` protocol.
struct LoadedServingEngine {
    var engine: any ServingEngine
    var servedModelNames: [String]
    var modelPath: String
    /// Scheduler/cache settings for the startup log line.
    var engineSummary: String
    var shutdown: @Sendable () async -> Void
}

extension EngineOptions {
    func engineConfig(model: String?, servedModelName: String?) throws -> EngineConfig {
        _ = try chatTemplateSource() // validates the file or inline text early, with a clear message
        var config = EngineConfig(model: model)
        config.servedModelName = servedModelName
        config.maxModelLen = maxModelLen
        config.maxNumSeqs = maxNumSeqs
        config.maxNumBatchedTokens = maxNumBatchedTokens
        config.blockSize = blockSize
        config.kvCacheMemoryBytes = kvCacheMemory
        config.enablePrefixCaching = prefixCaching
        config.seed = seed
        config.chatTemplate = chatTemplate
        config.generationConfig = generationConfig
        config.maxWaitingRequests = maxWaitingRequests
        config.threads = threads
        do {
            config.speculative = try speculativeConfig.map(SpeculativeConfig.init(json:))
        } catch {
            throw ValidationError("\(error)")
        }
        return config
    }
}

/// Loads the model with a progress line on stderr and wraps the engine for the server.
func loadServingEngine(model: String?, options: EngineOptions, servedModelName: String?, logger: Logger) throws
    -> LoadedServingEngine {
    let names = (servedModelName ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
    let config = try options.engineConfig(model: model, servedModelName: names.first)
    let started = Date()
    FileHandle.standardError.write(Data("Loading model \(model ?? "(default SmolLM2-135M-Instruct)") ...\n".utf8))
    let engine: AsyncLLMEngine
    do {
        engine = try AsyncLLMEngine.load(config)
    } catch {
        throw ValidationError("could not load the model: \(error)")
    }
    FileHandle.standardError.write(Data(String(format: "Model loaded in %.2f s\n", Date().timeIntervalSince(started)).utf8))
    let effective = engine.config
    // The engine's own numbers (the same the engine's startup line and vllm:cache_config_info report).
    let summary = "max_num_seqs=\(effective.maxNumSeqs) max_num_batched_tokens=\(effective.maxNumBatchedTokens) "
        + "block_size=\(effective.blockSize) kv_cache_blocks=\(engine.numKVBlocks) (KV cache size: "
        + "\(engine.kvCacheTokens) tokens; maximum concurrency for \(engine.maxModelLen) tokens per request: "
        + String(format: "%.2fx", engine.maxConcurrency)
        + ") prefix_caching=\(effective.enablePrefixCaching) seed=\(effective.seed) generation_config=\(effective.generationConfig) "
        + "max_waiting_requests=\(effective.maxWaitingRequests.map(String.init) ?? "unbounded") "
        + "threads=\(effective.threads.map(String.init) ?? "all cores")"
        + (engine.chatTemplate == nil ? " chat_template=none (\(engine.chatTemplateError ?? "no template"))" : "")
    let served = names.isEmpty ? [engine.modelName] : names
    return LoadedServingEngine(engine: AsyncEngineServing(engine: engine), servedModelNames: served,
                               modelPath: model ?? engine.modelName, engineSummary: summary,
                               shutdown: { await engine.shutdown(drainTimeout: 0) })
}
