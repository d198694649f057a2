import ArgumentParser
import Benchmarks
import Engine
import Foundation
import Logging

/// `vllm bench throughput`: offline batch generation speed (no HTTP).
struct BenchThroughputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "throughput", abstract: "Offline throughput: all prompts in one batch through the engine.")

    @Option(help: "Model folder (Hugging Face layout) or .gguf file. Default: SmolLM2-135M-Instruct.") var model: String?
    @Option(help: "Prompt tokens per request.") var inputLen = 128
    @Option(help: "Output tokens per request (EOS ignored).") var outputLen = 128
    @Option(help: "Number of requests.") var numPrompts = 100
    @Option(help: "Write the results as JSON to this file.") var outputJson: String?
    @OptionGroup var engine: EngineOptions

    func run() throws {
        benchQuietLogging()
        let llm = try benchLoadEngine(model: model, options: engine)
        let prompts = try BenchOffline.randomPrompts(count: numPrompts, length: inputLen, engine: llm, seed: engine.seed)
        let result = try BenchOffline.throughput(engine: llm, prompts: prompts, outputLength: outputLen)
        print(result.summary)
        if let outputJson {
            try benchWriteJSON([
                "elapsed_time": result.seconds, "num_requests": result.requests,
                "total_num_tokens": result.promptTokens + result.outputTokens,
                "requests_per_second": result.requestsPerSecond, "tokens_per_second": result.totalTokensPerSecond,
                "output_tokens_per_second": result.outputTokensPerSecond,
            ], to: outputJson)
        }
    }
}

/// `vllm bench latency`: end-to-end time of one batch, repeated.
struct BenchLatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency", abstract: "Latency of one batch run to completion, with percentiles over iterations.")

    @Option(help: "Model folder (Hugging Face layout) or .gguf file. Default: SmolLM2-135M-Instruct.") var model: String?
    @Option(help: "Requests in the batch.") var batchSize = 8
    @Option(help: "Prompt tokens per request.") var inputLen = 32
    @Option(help: "Output tokens per request (EOS ignored).") var outputLen = 128
    @Option(help: "Timed iterations.") var numIters = 30
    @Option(help: "Untimed warm-up iterations.") var numItersWarmup = 10
    @Option(help: "Write the results as JSON to this file.") var outputJson: String?
    @OptionGroup var engine: EngineOptions

    func run() throws {
        benchQuietLogging()
        let llm = try benchLoadEngine(model: model, options: engine)
        let batch = try BenchOffline.randomPrompts(count: batchSize, length: inputLen, engine: llm, seed: engine.seed)
        let result = try BenchOffline.latency(engine: llm, batch: batch, outputLength: outputLen,
                                              warmup: numItersWarmup, iterations: numIters) {
            FileHandle.standardError.write(Data(($0 + "\n").utf8))
        }
        print(result.summary)
        if let allocations = try BenchStepAllocations.measure(engine: llm, batch: batch, outputLength: outputLen) {
            print(allocations.summary)
        }
        if let outputJson { try benchWriteJSON(result.json, to: outputJson) }
    }
}

private func benchQuietLogging() {
    LoggingSystem.bootstrap { label in
        var handler = StreamLogHandler.standardError(label: label)
        handler.logLevel = .warning
        return handler
    }
}

/// The engine with the same flags `vllm serve` takes.
func benchLoadEngine(model: String?, options: EngineOptions) throws -> LLMEngine {
    var config = try options.engineConfig(model: model, servedModelName: nil)
    config.logStatsInterval = nil
    do {
        return try LLMEngine(config: config)
    } catch {
        throw ValidationError("cannot load the model: \(error)")
    }
}

func benchWriteJSON(_ document: [String: Any], to path: String) throws {
    do {
        let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    } catch {
        throw ValidationError("cannot write \(path): \(error.localizedDescription)")
    }
}
