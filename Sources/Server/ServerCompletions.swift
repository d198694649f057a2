import JSON
import Engine
import Foundation
import EngineCore

/// A validated POST /v1/completions request.
struct CompletionPlan: Sendable {
    var id: String
    var created: Int
    var model: String
    var prompts: [PreparedPrompt]
    var maxTokens: [Int]
    var params: SamplingParams
    var priority: Int
    /// vLLM's cache_salt: only requests with the same salt share prefix-cache blocks.
    var cacheSalt: String?
    var echo: Bool
    var stream: StreamSettings

    init(body: JSONValue, engine: any ServingEngine, servedModels: [String], limits: RequestLimits) throws {
        let fields = try FieldReader(body: body)
        model = try resolveModelName(fields, served: servedModels)
        stream = try StreamSettings(fields)
        try rejectUnsupported(fields)
        if let suffix = try fields.string("suffix"), !suffix.isEmpty {
            throw APIError.badRequest("suffix is not currently supported.", param: "suffix")
        }
        params = try parseSamplingFields(fields, engine: engine, limits: limits)
        if let logprobs = try fields.int("logprobs") {
            guard logprobs >= 0, logprobs <= limits.maxLogprobs else {
                throw APIError.badRequest("logprobs must be in [0, \(limits.maxLogprobs)], got \(logprobs).",
                                          param: "logprobs")
            }
            params.logprobs = logprobs
        }
        echo = try fields.bool("echo") ?? false
        if echo, let logprobs = params.logprobs {
            // Echoed prompt tokens carry logprobs too.
            params.promptLogprobs = max(params.promptLogprobs ?? 0, logprobs)
        }
        priority = try parsePriority(fields)
        cacheSalt = try fields.string("cache_salt")
        let addSpecial = try fields.bool("add_special_tokens") ?? true
        let requestedMax = try fields.int("max_tokens") ?? 16
        var prepared: [PreparedPrompt] = []
        var budgets: [Int] = []
        for input in try parseCompletionPrompts(fields) {
            var prompt = try engine.prepare(input, addSpecialTokens: addSpecial, param: "prompt")
            try truncatePrompt(&prompt, fields: fields, maxModelLen: engine.maxModelLen)
            guard !prompt.tokenIds.isEmpty else {
                throw APIError.badRequest("Either prompt or prompt_embeds must be provided and non-empty.",
                                          param: "prompt")
            }
            budgets.append(try resolveMaxTokens(requested: requestedMax, promptLength: prompt.tokenIds.count,
                                                maxModelLen: engine.maxModelLen, param: "max_tokens"))
            prepared.append(prompt)
        }
        prompts = prepared
        maxTokens = budgets
        id = makeRequestId(prefix: "cmpl-")
        created = Int(Date().timeIntervalSince1970)
    }

    func start(engine: any ServingEngine) throws -> (GenerationRun, AsyncThrowingStream<ChoiceOutput, Error>) {
        try GenerationRun.start(engine: engine, baseId: id, prompts: prompts, params: params, maxTokens: maxTokens,
                                priority: priority, cacheSalt: cacheSalt)
    }

    func echoText(_ prompt: PreparedPrompt, engine: any ServingEngine) -> String {
        guard echo else { return "" }
        if let text = prompt.text { return text }
        return (try? engine.detokenize(prompt.tokenIds, skipSpecialTokens: params.skipSpecialTokens)) ?? ""
    }

    func chunk(choices: [JSONValue], usage: JSONValue?) -> JSONValue {
        var members: [(String, JSONValue)] = [("id", .string(id)), ("object", "text_completion"),
                                              ("created", .number(created)), ("model", .string(model)),
                                              ("choices", .array(choices))]
        if let usage { members.append(("usage", usage)) }
        return .object(members)
    }
}

func completionChoiceJSON(index: Int, text: String, logprobs: JSONValue, finishReason: String?,
                          stopReason: StopReason?, extra: [(String, JSONValue)] = []) -> JSONValue {
    .object([("index", .number(index)), ("text", .string(text)), ("logprobs", logprobs),
             ("finish_reason", .optional(finishReason)), ("stop_reason", stopReasonJSON(stopReason))] + extra)
}

/// Non-streaming completion response.
func completeNonStreaming(_ plan: CompletionPlan, engine: any ServingEngine) async throws -> JSONValue {
    let (run, stream) = try plan.start(engine: engine)
    let result = try await collectRun(run, stream)
    var choices: [JSONValue] = []
    var completionTokens = 0
    for (choiceIndex, choice) in result.choices.enumerated() {
        let prompt = plan.prompts[choiceIndex / plan.params.n]
        let echoed = plan.echoText(prompt, engine: engine)
        var logprobs: JSONValue = .null
        if let topCount = plan.params.logprobs {
            var builder = CompletionLogprobsBuilder()
            if plan.echo {
                builder.appendPrompt(tokenIds: prompt.tokenIds, entries: choice.promptLogprobs,
                                     firstTokenString: engine.tokenStrings(Array(prompt.tokenIds.prefix(1))).first,
                                     topCount: topCount)
                builder.offset = echoed.unicodeScalars.count
            }
            for entry in choice.logprobs { builder.append(entry, topCount: topCount) }
            logprobs = builder.json
        }
        var extra: [(String, JSONValue)] = []
        if plan.params.promptLogprobs != nil, !plan.echo {
            extra.append(("prompt_logprobs", promptLogprobsJSON(choice.promptLogprobs)))
        }
        completionTokens += choice.tokenIds.count
        choices.append(completionChoiceJSON(index: choiceIndex, text: echoed + choice.text, logprobs: logprobs,
                                            finishReason: choice.finishReason ?? "abort",
                                            stopReason: choice.stopReason, extra: extra))
    }
    let promptTokens = plan.prompts.reduce(0) { $0 + $1.tokenIds.count }
    return .object([("id", .string(plan.id)), ("object", "text_completion"), ("created", .number(plan.created)),
                    ("model", .string(plan.model)), ("choices", .array(choices)),
                    ("usage", usageJSON(promptTokens: promptTokens, completionTokens: completionTokens))])
}

/// Streams a completion as SSE events through `emit`. A failing `emit` (client gone) aborts the requests.
func streamCompletion(_ plan: CompletionPlan, run: GenerationRun, stream: AsyncThrowingStream<ChoiceOutput, Error>,
                      engine: any ServingEngine, emit: (String) async throws -> Void) async throws {
    let usageField: JSONValue? = plan.stream.includeUsage ? .null : nil
    var builders = (0..<run.totalChoices).map { _ in CompletionLogprobsBuilder() }
    var started = Array(repeating: false, count: run.totalChoices)
    var generated = Array(repeating: 0, count: run.totalChoices)
    let promptTokens = plan.prompts.reduce(0) { $0 + $1.tokenIds.count }
    // JSONValue is ExpressibleByNilLiteral: spell out the Optional so "no usage" is no chunk, not null.
    let finalUsage: () -> JSONValue? = {
        guard plan.stream.includeUsage else { return Optional<JSONValue>.none }
        return plan.chunk(choices: [], usage: usageJSON(promptTokens: promptTokens, completionTokens: generated.reduce(0, +)))
    }
    try await streamSSE(run: run, emit: emit, finalChunk: finalUsage) {
        for try await item in stream {
            let choice = item.choiceIndex
            guard builders.indices.contains(choice) else { continue }
            let output = item.completion
            var text = output.text
            if !started[choice] {
                started[choice] = true
                let prompt = plan.prompts[item.promptIndex]
                let echoed = plan.echoText(prompt, engine: engine)
                if plan.echo, let topCount = plan.params.logprobs {
                    builders[choice].appendPrompt(
                        tokenIds: prompt.tokenIds, entries: item.promptLogprobs,
                        firstTokenString: engine.tokenStrings(Array(prompt.tokenIds.prefix(1))).first,
                        topCount: topCount)
                    builders[choice].offset = echoed.unicodeScalars.count
                }
                text = echoed + text
            }
            generated[choice] += output.tokenIds.count
            var logprobs: JSONValue = .null
            if let topCount = plan.params.logprobs {
                for entry in output.logprobs ?? [] { builders[choice].append(entry, topCount: topCount) }
                logprobs = builders[choice].take()
            }
            if text.isEmpty, output.finishReason == nil, output.logprobs?.isEmpty ?? true { continue }
            var usage = usageField
            if plan.stream.continuousUsage {
                usage = usageJSON(promptTokens: plan.prompts[item.promptIndex].tokenIds.count,
                                  completionTokens: generated[choice])
            }
            let choiceJSON = completionChoiceJSON(index: choice, text: text, logprobs: logprobs,
                                                  finishReason: output.finishReason?.rawValue, stopReason: output.stopReason)
            try await emit(sseEvent(plan.chunk(choices: [choiceJSON], usage: usage)))
        }
    }
}

/// Runs `events` (which emits the stream's chunks) and ends the SSE response as every endpoint does: a
/// failure after the 200 is reported in-band as an error event followed by [DONE]; otherwise `finalChunk`
/// (the usage chunk, when asked for) and [DONE]. A client gone (SSEWriteError) or any failure aborts the
/// requests still running, so their KV blocks are freed.
func streamSSE(run: GenerationRun, emit: (String) async throws -> Void, finalChunk: () -> JSONValue?,
               events: () async throws -> Void) async throws {
    do {
        do {
            try await events()
        } catch let error as SSEWriteError {
            throw error
        } catch {
            try await emit(sseEvent(APIError(any: error).json))
            try await emit(sseDone)
            run.abortUnfinished()
            return
        }
        if let chunk = finalChunk() { try await emit(sseEvent(chunk)) }
        try await emit(sseDone)
    } catch {
        run.abortUnfinished()
        throw error
    }
    if !run.allFinished { run.abortUnfinished() }
}

/// Thrown by SSE emitters when the client connection is gone.
struct SSEWriteError: Error {
    var underlying: Error
}

func sseEvent(_ json: JSONValue) -> String { "data: " + JSONWriter.string(json) + "\n\n" }
let sseDone = "data: [DONE]\n\n"
