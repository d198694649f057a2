import JSON
import Engine
import Foundation
import EngineCore

/// A validated POST /v1/chat/completions request.
struct ChatPlan: Sendable {
    var id: String
    var created: Int
    var model: String
    var prompt: PreparedPrompt
    var maxTokens: Int
    var params: SamplingParams
    var priority: Int
    /// vLLM's cache_salt: only requests with the same salt share prefix-cache blocks.
    var cacheSalt: String?
    var stream: StreamSettings
    /// `top_logprobs` when `logprobs: true`.
    var topLogprobs: Int?
    /// With `echo`, the content of a final assistant message is prepended to the reply (vLLM).
    var echoPrefix: String

    init(body: JSONValue, engine: any ServingEngine, servedModels: [String], limits: RequestLimits) throws {
        let fields = try FieldReader(body: body)
        model = try resolveModelName(fields, served: servedModels)
        stream = try StreamSettings(fields)
        try rejectUnsupported(fields)
        if fields.has("chat_template") {
            throw APIError.badRequest("Per-request chat templates are not allowed; start the server with --chat-template instead.",
                                      param: "chat_template")
        }
        let messages = try normalizeChatMessages(fields.value("messages"))
        let tools = try parseTools(fields)
        params = try parseSamplingFields(fields, engine: engine, limits: limits)
        let wantsLogprobs = try fields.bool("logprobs") ?? false
        let top = try fields.int("top_logprobs")
        if let top {
            guard top >= 0, top <= limits.maxLogprobs else {
                throw APIError.badRequest("top_logprobs must be in [0, \(limits.maxLogprobs)], got \(top).",
                                          param: "top_logprobs")
            }
            if top > 0, !wantsLogprobs {
                throw APIError.badRequest("when using `top_logprobs`, `logprobs` must be set to true.",
                                          param: "top_logprobs")
            }
        }
        topLogprobs = wantsLogprobs ? (top ?? 0) : nil
        params.logprobs = topLogprobs
        priority = try parsePriority(fields)
        cacheSalt = try fields.string("cache_salt")

        let addGenerationPrompt = try fields.bool("add_generation_prompt") ?? true
        let continueFinal = try fields.bool("continue_final_message") ?? false
        if addGenerationPrompt && continueFinal && fields.has("add_generation_prompt") {
            throw APIError.badRequest("Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                                      param: "continue_final_message")
        }
        let render = ChatRenderRequest(messages: messages, tools: tools,
                                       addGenerationPrompt: continueFinal ? false : addGenerationPrompt,
                                       continueFinalMessage: continueFinal,
                                       templateKwargs: try parseTemplateKwargs(fields))
        let rendered: String
        do {
            rendered = try engine.renderChat(render)
        } catch let error as EngineError {
            throw APIError(error)
        } catch {
            throw APIError.badRequest("Could not apply the chat template: \(error)", param: "messages")
        }
        let addSpecial = try fields.bool("add_special_tokens") ?? false
        var prepared = try engine.prepare(.text(rendered), addSpecialTokens: addSpecial, param: "messages")
        try truncatePrompt(&prepared, fields: fields, maxModelLen: engine.maxModelLen)
        prompt = prepared
        let requested = try fields.int("max_completion_tokens") ?? fields.int("max_tokens")
        maxTokens = try resolveMaxTokens(requested: requested, promptLength: prepared.tokenIds.count,
                                         maxModelLen: engine.maxModelLen,
                                         param: fields.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens")
        echoPrefix = ""
        if try fields.bool("echo") == true, case .object? = messages.last,
           case .string("assistant")? = messages.last?["role"], case .string(let content)? = messages.last?["content"] {
            echoPrefix = content
        }
        id = makeRequestId(prefix: "chatcmpl-")
        created = Int(Date().timeIntervalSince1970)
    }

    func start(engine: any ServingEngine) throws -> (GenerationRun, AsyncThrowingStream<ChoiceOutput, Error>) {
        try GenerationRun.start(engine: engine, baseId: id, prompts: [prompt], params: params, maxTokens: [maxTokens],
                                priority: priority, cacheSalt: cacheSalt)
    }

    func chunk(choices: [JSONValue], usage: JSONValue?) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("object", "chat.completion.chunk"),
                                              ("created", .number(created)), ("model", .string(model)),
                                              ("choices", .array(choices))]
        if let usage { members.append(("usage", usage)) }
        return .object(members)
    }
}

/// Non-streaming chat completion response.
func chatNonStreaming(_ plan: ChatPlan, engine: any ServingEngine) async throws -> JSONValue {
    let (run, stream) = try plan.start(engine: engine)
    let result = try await collectRun(run, stream)
    var choices: [JSONValue] = []
    var completionTokens = 0
    for (index, choice) in result.choices.enumerated() {
        completionTokens += choice.tokenIds.count
        let message: JSONValue = .object([("role", "assistant"), ("content", .string(plan.echoPrefix + choice.text)),
                                          ("refusal", .null), ("tool_calls", .array([]))])
        var members: [(String, JSONValue)] = [
            ("index", .number(index)), ("message", message),
            ("logprobs", plan.topLogprobs.map { chatLogprobsJSON(choice.logprobs, topCount: $0) } ?? .null),
            ("finish_reason", .string(choice.finishReason ?? "abort")), ("stop_reason", stopReasonJSON(choice.stopReason)),
        ]
        if plan.params.promptLogprobs != nil {
            members.append(("prompt_logprobs", promptLogprobsJSON(choice.promptLogprobs)))
        }
        choices.append(.object(members))
    }
    return .object([("id", .string(plan.id)), ("object", "chat.completion"), ("created", .number(plan.created)),
                    ("model", .string(plan.model)), ("choices", .array(choices)),
                    ("usage", usageJSON(promptTokens: plan.prompt.tokenIds.count, completionTokens: completionTokens))])
}

/// Streams a chat completion as SSE events. First chunk per choice: `delta: {role: assistant, content: ""}`;
/// the finishing chunk carries the last text (vLLM style) and `finish_reason`.
func streamChat(_ plan: ChatPlan, run: GenerationRun, stream: AsyncThrowingStream<ChoiceOutput, Error>,
                emit: (String) async throws -> Void) async throws {
    let usageField: JSONValue? = plan.stream.includeUsage ? .null : nil
    var generated = Array(repeating: 0, count: run.totalChoices)
    var started = Array(repeating: false, count: run.totalChoices)
    func choiceJSON(_ index: Int, delta: JSONValue, logprobs: JSONValue, finish: String?, stop: StopReason?) -> JSONValue {
        .object([("index", .number(index)), ("delta", delta), ("logprobs", logprobs),
                 ("finish_reason", .optional(finish)), ("stop_reason", stopReasonJSON(stop))])
    }
    func usage(for choice: Int) -> JSONValue? {
        plan.stream.continuousUsage
            ? usageJSON(promptTokens: plan.prompt.tokenIds.count, completionTokens: generated[choice]) : usageField
    }
    // JSONValue is ExpressibleByNilLiteral: spell out the Optional so "no usage" is no chunk, not null.
    let finalUsage: () -> JSONValue? = {
        guard plan.stream.includeUsage else { return Optional<JSONValue>.none }
        return plan.chunk(choices: [], usage: usageJSON(promptTokens: plan.prompt.tokenIds.count,
                                                       completionTokens: generated.reduce(0, +)))
    }
    try await streamSSE(run: run, emit: emit, finalChunk: finalUsage) {
        for try await item in stream {
            let choice = item.choiceIndex
            guard generated.indices.contains(choice) else { continue }
            let output = item.completion
            var text = output.text
            if !started[choice] {
                started[choice] = true
                let roleDelta: JSONValue = .object([("role", "assistant"), ("content", "")])
                try await emit(sseEvent(plan.chunk(
                    choices: [choiceJSON(choice, delta: roleDelta, logprobs: .null, finish: nil, stop: nil)],
                    usage: usage(for: choice))))
                text = plan.echoPrefix + text
            }
            generated[choice] += output.tokenIds.count
            let entries = output.logprobs ?? []
            if text.isEmpty, output.finishReason == nil, entries.isEmpty { continue }
            let delta: JSONValue = text.isEmpty ? .object([]) : .object([("content", .string(text))])
            let logprobs = plan.topLogprobs.map { chatLogprobsJSON(entries, topCount: $0) } ?? .null
            try await emit(sseEvent(plan.chunk(
                choices: [choiceJSON(choice, delta: delta, logprobs: logprobs, finish: output.finishReason?.rawValue,
                                     stop: output.stopReason)],
                usage: usage(for: choice))))
        }
    }
}
