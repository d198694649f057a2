import Engine
import EngineCore
import Foundation

/// `vllm bench throughput` and `vllm bench latency`: the offline engine, no HTTP.
public enum BenchOffline {
    public struct ThroughputResult: Sendable, Equatable {
        public var requests: Int
        public var promptTokens: Int
        public var outputTokens: Int
        public var seconds: Double

        public var requestsPerSecond: Double { Double(requests) / max(seconds, 1e-9) }
        public var totalTokensPerSecond: Double { Double(promptTokens + outputTokens) / max(seconds, 1e-9) }
        public var outputTokensPerSecond: Double { Double(outputTokens) / max(seconds, 1e-9) }

        /// vLLM's summary lines.
        public var summary: String {
            String(format: "Throughput: %.2f requests/s, %.2f total tokens/s, %.2f output tokens/s\n", requestsPerSecond,
                   totalTokensPerSecond, outputTokensPerSecond)
                + "Total num prompt tokens:  \(promptTokens)\nTotal num output tokens:  \(outputTokens)"
        }
    }

    /// Random prompts of exactly `length` ordinary token ids (token ids go to the engine as they are).
    public static func randomPrompts(count: Int, length: Int, engine: LLMEngine, seed: UInt64) throws -> [[Int]] {
        guard count >= 1, length >= 1 else { throw BenchError("prompt count and input length must be at least 1") }
        let tokenizer = engine.tokenizer
        let vocab = min(tokenizer.vocabSize, engine.bundle.spec.vocabSize)
        let ordinary = (0..<vocab).filter { !tokenizer.isSpecial($0) }
        guard !ordinary.isEmpty else { throw BenchError("the model's tokenizer has no ordinary tokens") }
        var random = BenchRandom(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in ordinary[random.int(in: 0...(ordinary.count - 1))] } }
    }

    /// Sampling like vLLM's benchmarks: temperature 1, exactly `outputLength` tokens (EOS ignored).
    public static func samplingParams(outputLength: Int) -> SamplingParams {
        var params = SamplingParams()
        params.temperature = 1
        params.topP = 1
        params.ignoreEOS = true
        params.maxTokens = outputLength
        return params
    }

    /// Generates all prompts in one offline batch and times it.
    public static func throughput(engine: LLMEngine, prompts: [[Int]], outputLength: Int) throws -> ThroughputResult {
        let start = BenchClock.now()
        let outputs = try engine.generate(prompts: prompts.map { .tokenIds($0) },
                                          params: samplingParams(outputLength: outputLength))
        let seconds = BenchClock.now() - start
        let generated = outputs.reduce(0) { $0 + $1.outputs.reduce(0) { $0 + $1.tokenIds.count } }
        return ThroughputResult(requests: prompts.count, promptTokens: prompts.reduce(0) { $0 + $1.count },
                                outputTokens: generated, seconds: seconds)
    }

    public struct LatencyResult: Sendable {
        /// Seconds per iteration (one whole batch run to completion).
        public var latencies: [Double]
        public static let reportedPercentiles: [Double] = [10, 25, 50, 75, 90, 99]

        public var average: Double { BenchStatistics.mean(latencies) }

        /// vLLM's "Avg latency" and percentile lines.
        public var summary: String {
            var lines = [String(format: "Avg latency: %.6f seconds", average)]
            for p in Self.reportedPercentiles {
                lines.append(String(format: "%@%% percentile latency: %.6f seconds", BenchServeReport.percentileName(p),
                                    BenchStatistics.percentile(latencies, p)))
            }
            return lines.joined(separator: "\n")
        }

        public var json: [String: Any] {
            var percentiles: [String: Double] = [:]
            for p in Self.reportedPercentiles {
                percentiles[BenchServeReport.percentileName(p)] = BenchStatistics.percentile(latencies, p)
            }
            return ["avg_latency": average, "latencies": latencies, "percentiles": percentiles]
        }
    }

    /// Runs the same batch `warmup + iterations` times; only the last `iterations` are timed.
    public static func latency(engine: LLMEngine, batch: [[Int]], outputLength: Int, warmup: Int, iterations: Int,
                               progress: (String) -> Void = { _ in }) throws -> LatencyResult {
        guard iterations >= 1, warmup >= 0 else { throw BenchError("--num-iters must be >= 1 and --num-iters-warmup >= 0") }
        let params = samplingParams(outputLength: outputLength)
        let prompts: [PromptInput] = batch.map { .tokenIds($0) }
        for index in 0..<warmup {
            _ = try engine.generate(prompts: prompts, params: params)
            progress("Warmup iteration \(index + 1)/\(warmup)")
        }
        var latencies: [Double] = []
        for index in 0..<iterations {
            let start = BenchClock.now()
            _ = try engine.generate(prompts: prompts, params: params)
            latencies.append(BenchClock.now() - start)
            progress(String(format: "Iteration %d/%d: %.4f s", index + 1, iterations, latencies[latencies.count - 1]))
        }
        return LatencyResult(latencies: latencies)
    }
}
