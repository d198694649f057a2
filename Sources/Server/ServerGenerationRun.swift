import JSON
import Engine
import Foundation
import EngineCore

/// The engine's delta output of one choice, tagged with its position in the response
/// (`prompt index * n + choice index`).
struct ChoiceOutput: Sendable {
    var choiceIndex: Int
    var promptIndex: Int
    var completion: CompletionOutput
    /// The prompt's logprobs (first entry nil), on the first output of the prompt's request only.
    var promptLogprobs: [PositionLogprobs?]?
    var promptTokenCount: Int
    var cachedTokenCount: Int
}

/// One engine request per prompt, merged into a single stream of choice outputs. Tracks which choices have
/// finished so that an early exit (client gone, write failure) aborts exactly the unfinished requests.
/// Latency and token metrics are the engine's (EngineStats), not measured here.
final class GenerationRun: @unchecked Sendable {
    let requestIds: [String]
    let n: Int
    private let engine: any ServingEngine
    private let lock = NSLock()
    private var finishedChoices = Set<Int>()

    var totalChoices: Int { requestIds.count * n }

    /// Starts all requests; if one is refused, the ones already started are aborted and the error is rethrown.
    static func start(engine: any ServingEngine, baseId: String, prompts: [PreparedPrompt], params: SamplingParams,
                      maxTokens: [Int], priority: Int, cacheSalt: String?)
        throws -> (GenerationRun, AsyncThrowingStream<ChoiceOutput, Error>) {
        let ids = prompts.count == 1 ? [baseId] : prompts.indices.map { "\(baseId)-\($0)" }
        let run = GenerationRun(requestIds: ids, n: params.n, engine: engine)
        var streams: [AsyncThrowingStream<RequestOutput, Error>] = []
        do {
            for (position, prompt) in prompts.enumerated() {
                var promptParams = params
                promptParams.maxTokens = maxTokens[position]
                streams.append(try engine.generate(requestId: ids[position], promptTokenIds: prompt.tokenIds,
                                                   params: promptParams, priority: priority, cacheSalt: cacheSalt))
            }
        } catch {
            for id in ids.prefix(streams.count) { engine.abort(requestId: id) }
            throw error
        }
        return (run, run.merge(streams))
    }

    private init(requestIds: [String], n: Int, engine: any ServingEngine) {
        self.requestIds = requestIds
        self.n = n
        self.engine = engine
    }

    private func merge(_ streams: [AsyncThrowingStream<RequestOutput, Error>]) -> AsyncThrowingStream<ChoiceOutput, Error> {
        let n = self.n
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (promptIndex, stream) in streams.enumerated() {
                            group.addTask {
                                var promptLogprobsSent = false
                                for try await output in stream {
                                    for completion in output.outputs {
                                        let choiceIndex = promptIndex * n + completion.index
                                        self.observe(completion, choiceIndex: choiceIndex)
                                        var item = ChoiceOutput(choiceIndex: choiceIndex, promptIndex: promptIndex,
                                                                completion: completion, promptLogprobs: nil,
                                                                promptTokenCount: output.promptTokenIds.count,
                                                                cachedTokenCount: output.numCachedTokens)
                                        if !promptLogprobsSent, let prompt = output.promptLogprobs {
                                            item.promptLogprobs = prompt
                                            promptLogprobsSent = true
                                        }
                                        continuation.yield(item)
                                    }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    private func observe(_ output: CompletionOutput, choiceIndex: Int) {
        guard output.finishReason != nil else { return }
        lock.lock()
        finishedChoices.insert(choiceIndex)
        lock.unlock()
    }

    var allFinished: Bool {
        lock.lock()
        defer { lock.unlock() }
        return finishedChoices.count >= totalChoices
    }

    /// Aborts every request that still has unfinished choices (client went away or the handler failed).
    func abortUnfinished() {
        lock.lock()
        let unfinished = requestIds.indices.filter { promptIndex in
            (0..<n).contains { !finishedChoices.contains(promptIndex * n + $0) }
        }
        lock.unlock()
        for promptIndex in unfinished { engine.abort(requestId: requestIds[promptIndex]) }
    }
}

/// Everything generated for one choice, for non-streaming responses.
struct ChoiceAccumulator {
    var text = ""
    var tokenIds: [Int] = []
    var logprobs: [PositionLogprobs] = []
    var promptLogprobs: [PositionLogprobs?]?
    var finishReason: String?
    var stopReason: StopReason?

    mutating func add(_ item: ChoiceOutput) {
        let output = item.completion
        text += output.text
        tokenIds += output.tokenIds
        if let entries = output.logprobs { logprobs += entries }
        if let prompt = item.promptLogprobs { promptLogprobs = prompt }
        if let reason = output.finishReason {
            finishReason = reason.rawValue
            stopReason = output.stopReason
        }
    }
}

/// Collects a whole run (non-streaming requests). Aborts the requests if the collecting task is cancelled.
func collectRun(_ run: GenerationRun, _ stream: AsyncThrowingStream<ChoiceOutput, Error>)
    async throws -> (choices: [ChoiceAccumulator], promptTokens: [Int], cachedTokens: Int) {
    var choices = Array(repeating: ChoiceAccumulator(), count: run.totalChoices)
    var promptTokens = Array(repeating: 0, count: run.requestIds.count)
    var cached = Array(repeating: 0, count: run.requestIds.count)
    do {
        for try await item in stream {
            guard choices.indices.contains(item.choiceIndex) else { continue }
            choices[item.choiceIndex].add(item)
            promptTokens[item.promptIndex] = item.promptTokenCount
            cached[item.promptIndex] = max(cached[item.promptIndex], item.cachedTokenCount)
        }
        try Task.checkCancellation()
    } catch {
        run.abortUnfinished()
        throw error
    }
    if !run.allFinished { run.abortUnfinished() }
    return (choices, promptTokens, cached.reduce(0, +))
}

func stopReasonJSON(_ reason: StopReason?) -> JSONValue {
    switch reason {
    case .none: return .null
    case .string(let text): return .string(text)
    case .tokenId(let id): return .number(id)
    }
}

func usageJSON(promptTokens: Int, completionTokens: Int) -> JSONValue {
    .object([("prompt_tokens", .number(promptTokens)), ("completion_tokens", .number(completionTokens)),
             ("total_tokens", .number(promptTokens + completionTokens))])
}

func makeRequestId(prefix: String) -> String {
    prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
