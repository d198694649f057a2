import ArgumentParser
import Foundation
import Logging
import Server

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API.",
        discussion: """
            Routes: /v1/completions, /v1/chat/completions, /v1/models, /tokenize, /detokenize, /health, \
            /version, /metrics. Without MODEL the default SmolLM2-135M-Instruct GGUF is used (downloaded once \
            into ~/.cache/swift-vllm, or $VLLM_CACHE_DIR). SIGTERM/SIGINT stop accepting requests, let \
            in-flight ones finish (up to --shutdown-timeout seconds) and exit 0.

            Example: vllm serve --port 8000, then
            curl http://127.0.0.1:8000/v1/chat/completions -H 'Content-Type: application/json' \\
            -d '{"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 32}'
            """)

    @Argument(help: "Model folder (Hugging Face layout) or .gguf file. Default: SmolLM2-135M-Instruct.")
    var model: String?

    @Option(name: .customLong("model"), help: "Same as the positional MODEL argument.")
    var modelOption: String?

    @Option(help: "Address to listen on. vLLM listens on all interfaces (0.0.0.0) by default; so does this.")
    var host: String = "0.0.0.0"

    @Option(help: "Port to listen on (0 picks a free port and prints it).")
    var port: Int = 8000

    @Option(help: "Model name(s) clients use, comma-separated; the first is reported. Default: the model's name.")
    var servedModelName: String?

    @Option(help: "API key(s) required on /v1/* (repeat or comma-separate for several). Also $VLLM_API_KEY.")
    var apiKey: [String] = []

    @Flag(help: "Do not log each request.")
    var disableLogRequests = false

    @Option(help: "Seconds to let in-flight requests finish after SIGTERM before aborting them.")
    var shutdownTimeout: Int = 30

    @Option(help: "Largest accepted request body in bytes (larger: 413); suffixes like 32MiB accepted.",
            transform: parseByteSize)
    var maxRequestBodySize: Int = 32 * 1024 * 1024

    @OptionGroup var engine: EngineOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be in 0...65535") }
        guard shutdownTimeout >= 0 else { throw ValidationError("--shutdown-timeout must be >= 0") }
        if model != nil, modelOption != nil, model != modelOption {
            throw ValidationError("give the model either as MODEL or as --model, not both")
        }
    }

    var apiKeys: [String] {
        var keys = apiKey.flatMap { $0.split(separator: ",").map(String.init) }
        if keys.isEmpty, let fromEnvironment = ProcessInfo.processInfo.environment["VLLM_API_KEY"], !fromEnvironment.isEmpty {
            keys = [fromEnvironment]
        }
        return keys.filter { !$0.isEmpty }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        let logger = Logger(label: "vllm.serve")
        if let note = engine.dtypeNote { logger.notice("\(note)") }

        let modelArgument = model ?? modelOption
        let loaded = try loadServingEngine(model: modelArgument, options: engine, servedModelName: servedModelName,
                                           logger: logger)
        var configuration = ServerConfiguration(servedModelNames: loaded.servedModelNames, apiKeys: apiKeys,
                                                version: vllmVersion)
        configuration.logRequests = !disableLogRequests
        configuration.maxBodyBytes = maxRequestBodySize
        logger.info("""
            Effective configuration: model=\(loaded.modelPath) served_model_name=\(loaded.servedModelNames.joined(separator: ",")) \
            host=\(host) port=\(port) max_model_len=\(loaded.engine.maxModelLen) \(loaded.engineSummary) \
            api_key=\(apiKeys.isEmpty ? "none" : "\(apiKeys.count) key(s)") log_requests=\(!disableLogRequests) \
            shutdown_timeout=\(shutdownTimeout)s max_request_body=\(maxRequestBodySize)B
            """)
        let server = OpenAIServer(engine: loaded.engine, configuration: configuration)
        let displayHost = host == "0.0.0.0" ? "127.0.0.1" : host
        try await ServerRunner.run(server, host: host, port: port, drainTimeout: .seconds(shutdownTimeout),
                                   logger: logger) { boundPort in
            logger.info("Application startup complete. Serving on http://\(displayHost):\(boundPort) (OpenAI API under /v1)")
        }
        logger.info("Server stopped; shutting down the engine.")
        await loaded.shutdown()
    }
}

let vllmVersion = "0.1.0"
