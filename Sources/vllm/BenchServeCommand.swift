import ArgumentParser
import Benchmarks
import Foundation

/// `vllm bench serve`: online serving benchmark against any OpenAI-compatible server.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Benchmark an OpenAI-compatible server (this one, vLLM, llama.cpp's llama-server, ...).",
        discussion: """
            Sends streaming requests with synthetic prompts and reports vLLM's metrics: TTFT, TPOT (excluding the \
            first token), ITL, E2EL and request/token throughput.

            Example (maximum throughput at 8 concurrent requests):
              vllm bench serve --base-url http://127.0.0.1:8000 --model ~/.cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf \\
                --random-input-len 64 --random-output-len 128 --ignore-eos --num-prompts 16 --max-concurrency 8
            """)

    @Option(help: "Server URL (http only).") var baseURL = "http://127.0.0.1:8000"
    @Option(help: "Host, when --base-url is not given.") var host: String?
    @Option(help: "Port, when --base-url is not given.") var port: Int?
    @Option(help: "/v1/completions or /v1/chat/completions.") var endpoint = "/v1/completions"
    @Option(help: "Model name sent in requests. Default: the first model of GET /v1/models.") var model: String?
    @Option(help: "Tokenizer: Hugging Face folder or .gguf file. Default: --model when it is a local path.")
    var tokenizer: String?
    @Option(help: "random or prefix-repetition.") var datasetName = "random"
    @Option(help: "Prompt tokens per request (random dataset).") var randomInputLen = 1024
    @Option(help: "Output tokens per request (random dataset).") var randomOutputLen = 128
    @Option(help: "Lengths are drawn uniformly in [len*(1-r), len*(1+r)].") var randomRangeRatio = 0.0
    @Option(help: "Shared prefix tokens (prefix-repetition dataset).") var prefixRepetitionPrefixLen = 256
    @Option(help: "Per-request suffix tokens (prefix-repetition dataset).") var prefixRepetitionSuffixLen = 256
    @Option(help: "Number of distinct prefixes (prefix-repetition dataset).") var prefixRepetitionNumPrefixes = 10
    @Option(help: "Output tokens per request (prefix-repetition dataset).") var prefixRepetitionOutputLen = 128
    @Option(help: "Number of requests.") var numPrompts = 1000
    @Option(help: "Requests per second, or inf to send all at once.") var requestRate = "inf"
    @Option(help: "Gamma shape of arrival gaps: 1 is Poisson, smaller is burstier.") var burstiness = 1.0
    @Option(help: "Most requests in flight at once.") var maxConcurrency: Int?
    @Flag(help: "Ask for exactly the output length (ignore_eos).") var ignoreEos = false
    @Option(help: "Seed of prompts and arrival times.") var seed: UInt64 = 0
    @Flag(help: "Write the results as JSON.") var saveResult = false
    @Option(help: "JSON result file (implies --save-result).") var resultFilename: String?
    @Option(help: "Folder for the JSON result file.") var resultDir: String?
    @Option(help: "Comma-separated metrics with percentiles: ttft,tpot,itl,e2el.") var percentileMetrics = "ttft,tpot,itl"
    @Option(help: "Comma-separated percentiles, e.g. 50,90,99.") var metricPercentiles = "99"

    func run() async throws {
        guard let rate = requestRate.lowercased() == "inf" ? Double.infinity : Double(requestRate), rate > 0 else {
            throw ValidationError("--request-rate must be a positive number or inf")
        }
        let dataset: BenchServeSession.Dataset
        switch datasetName {
        case "random":
            dataset = .random(inputLength: randomInputLen, outputLength: randomOutputLen, rangeRatio: randomRangeRatio)
        case "prefix-repetition", "prefix_repetition":
            dataset = .prefixRepetition(prefixLength: prefixRepetitionPrefixLen, suffixLength: prefixRepetitionSuffixLen,
                                        numPrefixes: prefixRepetitionNumPrefixes, outputLength: prefixRepetitionOutputLen)
        default:
            throw ValidationError("--dataset-name must be random or prefix-repetition")
        }
        var settings = BenchServeSettings(model: model ?? "")
        settings.endpointPath = endpoint.hasPrefix("/") ? endpoint : "/" + endpoint
        settings.requestRate = rate
        settings.burstiness = burstiness
        settings.maxConcurrency = maxConcurrency
        settings.ignoreEOS = ignoreEos
        settings.seed = seed
        let report: BenchReportOptions
        do {
            report = try BenchReportOptions(metricList: percentileMetrics, percentileList: metricPercentiles)
        } catch {
            throw ValidationError("\(error)")
        }
        var url = baseURL
        if host != nil || port != nil { url = "http://\(host ?? "127.0.0.1"):\(port ?? 8000)" }
        let session = BenchServeSession(
            baseURL: url, model: model, tokenizerPath: tokenizer, dataset: dataset, numPrompts: numPrompts,
            settings: settings, report: report, resultFile: resultPath(rate: rate),
            apiKey: ProcessInfo.processInfo.environment["OPENAI_API_KEY"])
        do {
            try await session.run { print($0) }
        } catch let error as BenchError {
            throw ValidationError(error.message)
        }
    }

    /// vLLM's default name: {backend}-{rate}qps[-concurrency{C}]-{model}-{date}.json.
    private func resultPath(rate: Double) -> String? {
        guard saveResult || resultFilename != nil else { return nil }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let modelName = ((model ?? "model") as NSString).lastPathComponent
        let concurrency = maxConcurrency.map { "-concurrency\($0)" } ?? ""
        let rateText = rate.isFinite ? String(rate) : "inf"
        let name = resultFilename ?? "openai-\(rateText)qps\(concurrency)-\(modelName)-\(formatter.string(from: Date())).json"
        guard let resultDir else { return name }
        return (resultDir as NSString).appendingPathComponent(name)
    }
}
