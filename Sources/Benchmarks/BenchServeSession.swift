import Foundation
import JSON
import Tokenizer

/// Everything `vllm bench serve` does after argument parsing: tokenizer, dataset, run, table, JSON file.
public struct BenchServeSession {
    public enum Dataset: Sendable {
        case random(inputLength: Int, outputLength: Int, rangeRatio: Double)
        case prefixRepetition(prefixLength: Int, suffixLength: Int, numPrefixes: Int, outputLength: Int)
    }

    public var baseURL: String
    /// nil: ask the server's /v1/models.
    public var model: String?
    public var tokenizerPath: String?
    public var dataset: Dataset
    public var numPrompts: Int
    public var settings: BenchServeSettings
    public var report: BenchReportOptions
    /// Where to write the JSON result; nil: not saved.
    public var resultFile: String?
    public var apiKey: String?

    public init(baseURL: String, model: String?, tokenizerPath: String?, dataset: Dataset, numPrompts: Int,
                settings: BenchServeSettings, report: BenchReportOptions, resultFile: String?, apiKey: String?) {
        self.baseURL = baseURL
        self.model = model
        self.tokenizerPath = tokenizerPath
        self.dataset = dataset
        self.numPrompts = numPrompts
        self.settings = settings
        self.report = report
        self.resultFile = resultFile
        self.apiKey = apiKey
    }

    /// Runs the benchmark; prints progress lines and the result table through `log`; returns the metrics.
    @discardableResult
    public func run(log: @escaping @Sendable (String) -> Void) async throws -> BenchServeMetrics {
        guard numPrompts >= 1 else { throw BenchError("--num-prompts must be at least 1") }
        if let limit = settings.maxConcurrency, limit < 1 { throw BenchError("--max-concurrency must be at least 1") }
        let client = BenchHTTPClient(endpoint: try BenchEndpoint(baseURL: baseURL), apiKey: apiKey)
        do {
            let metrics = try await run(client: client, log: log)
            await client.shutdown()
            return metrics
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private func run(client: BenchHTTPClient, log: @escaping @Sendable (String) -> Void) async throws -> BenchServeMetrics {
        var settings = settings
        let modelName = try await resolveModelName(client: client)
        settings.model = modelName
        let tokenizerSource = tokenizerPath ?? modelName
        let tokenizer: Tokenizer
        do {
            tokenizer = try BenchTokenizerLoading.load(tokenizerSource)
        } catch {
            throw BenchError(tokenizerPath == nil
                ? "the served model '\(modelName)' is not a local model path (\(error)); pass --tokenizer with its Hugging Face folder or .gguf file"
                : "\(error)")
        }
        let prompts = try buildPrompts(tokenizer)
        log("Model: \(modelName), tokenizer: \(tokenizerSource), \(prompts.count) prompts")
        log("Traffic request rate: \(settings.requestRate)")
        log("Burstiness factor: \(settings.burstiness) (\(settings.burstiness == 1 ? "Poisson process" : "Gamma distribution"))")
        log("Maximum request concurrency: \(settings.maxConcurrency.map(String.init) ?? "None")")
        let outcome = try await BenchServeRunner.run(prompts: prompts, settings: settings, client: client, log: log)
        let metrics = BenchServeMetrics(results: outcome.results, duration: outcome.duration,
                                        percentiles: report.percentiles) {
            tokenizer.encode($0, addSpecialTokens: false).count
        }
        log(BenchServeReport.table(metrics, options: report, maxConcurrency: settings.maxConcurrency,
                                   requestRate: settings.requestRate))
        if let firstError = outcome.results.first(where: { !$0.success })?.error {
            log("First error: \(firstError)")
        }
        if let resultFile {
            let document = BenchServeReport.json(metrics, options: report, results: outcome.results, settings: [
                "backend": "openai", "endpoint": settings.endpointPath, "model_id": modelName,
                "tokenizer_id": tokenizerSource, "num_prompts": numPrompts,
                "request_rate": settings.requestRate.isFinite ? settings.requestRate as Any : "inf",
                "burstiness": settings.burstiness, "max_concurrency": settings.maxConcurrency as Any? ?? NSNull(),
                "ignore_eos": settings.ignoreEOS, "seed": settings.seed, "base_url": baseURL,
            ])
            do {
                let data = try JSONSerialization.data(withJSONObject: document, options: [.prettyPrinted, .sortedKeys])
                try data.write(to: URL(fileURLWithPath: resultFile))
            } catch {
                throw BenchError("cannot write --result-filename \(resultFile): \(error.localizedDescription)")
            }
            log("Results saved to \(resultFile)")
        }
        return metrics
    }

    private func buildPrompts(_ tokenizer: Tokenizer) throws -> [BenchPrompt] {
        var random = BenchRandom(seed: settings.seed)
        let builder = try BenchDatasetBuilder(tokenizer: tokenizer)
        switch dataset {
        case let .random(inputLength, outputLength, rangeRatio):
            return try builder.random(count: numPrompts, inputLength: inputLength, outputLength: outputLength,
                                      rangeRatio: rangeRatio, random: &random)
        case let .prefixRepetition(prefixLength, suffixLength, numPrefixes, outputLength):
            return try builder.prefixRepetition(count: numPrompts, prefixLength: prefixLength,
                                                suffixLength: suffixLength, numPrefixes: numPrefixes,
                                                outputLength: outputLength, random: &random)
        }
    }

    private func resolveModelName(client: BenchHTTPClient) async throws -> String {
        if let model { return model }
        let (status, body) = try await client.get(path: "/v1/models")
        guard status == 200,
              let id = (try? JSONParser.parse(body))?["data"]?.array?.first?["id"]?.string else {
            throw BenchError("--model not given and GET /v1/models did not name a model (HTTP \(status)): \(body.prefix(200))")
        }
        return id
    }
}
