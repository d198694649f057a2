import JSON
import Foundation
import Engine
import EngineCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The OpenAI-compatible HTTP API (plus vLLM's utility routes) over a `ServingEngine`.
public final class OpenAIServer: Sendable {
    public let engine: any ServingEngine
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    public let state: ServerState

    public init(engine: any ServingEngine, configuration: ServerConfiguration, state: ServerState = ServerState()) {
        self.engine = engine
        self.configuration = configuration
        self.metrics = ServerMetrics(modelName: configuration.servedModelNames.first ?? "model")
        self.state = state
    }

    var modelName: String { configuration.servedModelNames.first ?? "model" }

    public func makeRouter() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        router.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys))
        router.add(middleware: DrainingMiddleware(state: state))

        router.get("health") { _, _ in
            Response(status: self.engine.isHealthy && !self.state.isDraining ? .ok : .serviceUnavailable)
        }
        router.get("version") { _, _ in Response.json(.object([("version", .string(self.configuration.version))])) }
        router.get("metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: self.metrics.render(stats: self.engine.stats()))))
        }
        router.get("v1/models") { _, _ in
            Response.json(.object([("object", "list"), ("data", .array(self.configuration.servedModelNames.map(self.modelCard)))]))
        }
        router.get("v1/models/:model") { _, context in
            let name = context.parameters.get("model") ?? ""
            guard self.configuration.servedModelNames.contains(name) else { throw APIError.modelNotFound(name) }
            return Response.json(self.modelCard(name))
        }
        router.post("v1/completions") { request, context in try await self.completions(request, channel: context.channel) }
        router.post("v1/chat/completions") { request, context in
            try await self.chatCompletions(request, channel: context.channel)
        }
        router.post("tokenize") { request, _ in try await self.tokenize(request) }
        router.post("detokenize") { request, _ in try await self.detokenize(request) }
        return router
    }

    func modelCard(_ name: String) -> JSONValue {
        .object([("id", .string(name)), ("object", "model"), ("created", .number(configuration.startTime)),
                 ("owned_by", "vllm"), ("root", .string(modelName)), ("parent", .null),
                 ("max_model_len", .number(engine.maxModelLen)), ("permission", .array([]))])
    }

    /// Reads and parses a JSON body, enforcing the content type and the size limit.
    func readJSON(_ request: Request) async throws -> JSONValue {
        if let type = request.headers[.contentType]?.lowercased(), !type.contains("json") {
            throw APIError(status: .unsupportedMediaType,
                           message: "Content-Type must be application/json, got '\(type)'.",
                           type: "invalid_request_error")
        }
        let limit = configuration.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw APIError.payloadTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge(limit: limit)
        }
        do {
            return try JSONParser.parse(Array(buffer.readableBytesView), maxDepth: requestMaxNesting)
        } catch let error as JSONParseError {
            throw APIError.badRequest("The request body is not valid JSON: \(error.description)")
        }
    }

    func completions(_ request: Request, channel: any Channel) async throws -> Response {
        let body = try await readJSON(request)
        let plan = try CompletionPlan(body: body, engine: engine, servedModels: configuration.servedModelNames,
                                      limits: configuration.limits)
        logRequest(plan.id, promptTokens: plan.prompts.map(\.tokenIds.count), maxTokens: plan.maxTokens, params: plan.params)
        if !plan.stream.stream {
            let engine = self.engine
            let json = try await cancellingWhenClientLeaves(channel) { try await completeNonStreaming(plan, engine: engine) }
            return Response.json(json, requestId: plan.id)
        }
        let (run, stream) = try plan.start(engine: engine)
        let engine = self.engine
        return sseResponse(id: plan.id) { emit in
            try await streamCompletion(plan, run: run, stream: stream, engine: engine, emit: emit)
        }
    }

    func chatCompletions(_ request: Request, channel: any Channel) async throws -> Response {
        let body = try await readJSON(request)
        let plan = try ChatPlan(body: body, engine: engine, servedModels: configuration.servedModelNames,
                                limits: configuration.limits)
        logRequest(plan.id, promptTokens: [plan.prompt.tokenIds.count], maxTokens: [plan.maxTokens], params: plan.params)
        if !plan.stream.stream {
            let engine = self.engine
            let json = try await cancellingWhenClientLeaves(channel) { try await chatNonStreaming(plan, engine: engine) }
            return Response.json(json, requestId: plan.id)
        }
        let (run, stream) = try plan.start(engine: engine)
        return sseResponse(id: plan.id) { emit in
            try await streamChat(plan, run: run, stream: stream, emit: emit)
        }
    }

    /// A `text/event-stream` response; write failures (client gone) surface as `SSEWriteError`.
    func sseResponse(id: String, _ produce: @escaping @Sendable ((String) async throws -> Void) async throws -> Void)
        -> Response {
        let headers: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache",
                                   requestIdHeader: id]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var writer = writer
            try await produce { text in
                do {
                    try await writer.write(ByteBuffer(string: text))
                } catch {
                    throw SSEWriteError(underlying: error)
                }
            }
            try await writer.finish(nil)
        })
    }

    func logRequest(_ id: String, promptTokens: [Int], maxTokens: [Int], params: SamplingParams) {
        guard configuration.logRequests else { return }
        serverLogger.info("Received request \(id): prompt tokens \(promptTokens), n=\(params.n), max_tokens=\(maxTokens), temperature=\(params.temperature)")
    }

    func tokenize(_ request: Request) async throws -> Response {
        let fields = try FieldReader(body: try await readJSON(request))
        _ = try resolveModelName(fields, served: configuration.servedModelNames)
        let tokens: [Int]
        if fields.has("messages") {
            let render = ChatRenderRequest(
                messages: try normalizeChatMessages(fields.value("messages")), tools: try parseTools(fields),
                addGenerationPrompt: try fields.bool("add_generation_prompt") ?? true,
                continueFinalMessage: try fields.bool("continue_final_message") ?? false,
                templateKwargs: try parseTemplateKwargs(fields))
            let text = try wrapEngineErrors(param: "messages") { try engine.renderChat(render) }
            let addSpecial = try fields.bool("add_special_tokens") ?? false
            tokens = try engine.prepare(.text(text), addSpecialTokens: addSpecial, param: "messages").tokenIds
        } else {
            // vLLM's `prompt` / `add_special_tokens`, or llama.cpp's `content` / `add_special`.
            guard let text = try fields.string("prompt") ?? fields.string("content") else {
                throw APIError.badRequest("'prompt' (a string) or 'messages' is required.", param: "prompt")
            }
            let addSpecial = try fields.bool("add_special_tokens") ?? fields.bool("add_special") ?? true
            tokens = try engine.prepare(.text(text), addSpecialTokens: addSpecial, param: "prompt").tokenIds
        }
        let strings: JSONValue = try fields.bool("return_token_strs") == true
            ? .array(engine.tokenStrings(tokens).map { .string($0) }) : .null
        return Response.json(.object([("count", .number(tokens.count)), ("max_model_len", .number(engine.maxModelLen)),
                                      ("tokens", .array(tokens.map { .number($0) })), ("token_strs", strings)]))
    }

    func detokenize(_ request: Request) async throws -> Response {
        let fields = try FieldReader(body: try await readJSON(request))
        _ = try resolveModelName(fields, served: configuration.servedModelNames)
        guard let tokens = try fields.ints("tokens") else {
            throw APIError.badRequest("'tokens' (a list of token ids) is required.", param: "tokens")
        }
        for id in tokens where id < 0 || id >= engine.vocabSize {
            throw APIError.badRequest("Token id \(id) is out of vocabulary (vocab size \(engine.vocabSize)).",
                                      param: "tokens")
        }
        let text = try wrapEngineErrors(param: "tokens") { try engine.detokenize(tokens, skipSpecialTokens: false) }
        return Response.json(.object([("prompt", .string(text)), ("content", .string(text))]))
    }

    private func wrapEngineErrors<T>(param: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as EngineError {
            throw APIError(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("\(error)", param: param)
        }
    }
}

let serverLogger = Logger(label: "vllm.server")
