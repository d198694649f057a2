import ChatTemplate
import EngineCore
import Foundation
import Models
import Tokenizer

/// The engine for servers: one dedicated thread runs `LLMEngine.step()` while there is work and sleeps
/// on a condition otherwise; callers talk to it through a locked command inbox.
///
/// Errors: `generate` tokenizes and validates on the caller's thread and THROWS (`EngineError`) for
/// invalid requests, context-length overflow, a full waiting queue (`.overloaded`), a duplicate id, or
/// shutdown. Only a failure once the request is on the engine thread (the core refusing it, or the model
/// failing mid-run) arrives as the stream's error.
///
/// Call `shutdown(drainTimeout:)` before dropping the engine: the engine thread keeps it alive until then.
public final class AsyncLLMEngine: @unchecked Sendable {
    public typealias OutputStream = AsyncThrowingStream<RequestOutput, Error>

    private enum Command {
        case add(PreparedRequest, OutputStream.Continuation)
        case abort(String)
    }

    private let engine: LLMEngine
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var inbox: [Command] = []
    private var acceptingRequests = true
    private var stopRequested = false
    private var threadExited = false
    /// Requests accepted by `generate` and not yet finished (includes those still in the inbox).
    private var activeRequestIds: Set<String> = []
    /// Core requests (n per request) in the inbox, not yet counted by the core as waiting.
    private var queuedCoreRequests = 0
    private var latestStats: EngineStats
    // Engine thread only.
    private var streams: [String: OutputStream.Continuation] = [:]
    private var engineHasWork = false
    private var throughputLog: EngineThroughputLog?

    /// Starts the engine thread around an already built engine (which must not be used directly afterwards).
    public init(engine: LLMEngine) {
        self.engine = engine
        latestStats = engine.stats()
        throughputLog = engine.config.logStatsInterval.map {
            EngineThroughputLog(interval: $0, now: monotonicSeconds(), stats: latestStats)
        }
        let thread = Thread { [self] in runLoop() }
        thread.name = "vllm-engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Loads the model named by the config and starts the engine.
    public static func load(_ config: EngineConfig) throws -> AsyncLLMEngine {
        AsyncLLMEngine(engine: try LLMEngine(config: config))
    }

    // MARK: Facts for the server (immutable, any thread)

    public var config: EngineConfig { engine.config }
    public var modelName: String { engine.bundle.modelName }
    public var maxModelLen: Int { engine.maxModelLen }
    public var modelSpec: ModelSpec { engine.bundle.spec }
    public var tokenizer: Tokenizer { engine.bundle.tokenizer }
    public var chatTemplate: ChatTemplate? { engine.bundle.chatTemplate }
    /// Why `chatTemplate` is nil, worded for an API error.
    public var chatTemplateError: String? { engine.bundle.chatTemplateError }
    public var eosTokenIds: Set<Int> { engine.bundle.eosTokenIds }
    public var generationDefaults: GenerationDefaults { engine.bundle.generationDefaults }
    /// vLLM defaults with the model's generation_config.json applied; set the request's fields on top.
    public var defaultSamplingParams: SamplingParams { engine.bundle.generationDefaults.samplingParams() }
    public var numKVBlocks: Int { engine.numKVBlocks }
    public var kvCacheTokens: Int { engine.kvCacheTokens }
    public var maxConcurrency: Double { engine.maxConcurrency }

    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        engine.bundle.tokenizer.encode(text, addSpecialTokens: addSpecialTokens)
    }

    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        engine.bundle.tokenizer.decode(ids, skipSpecialTokens: skipSpecialTokens)
    }

    /// Renders a conversation with the model's (or the --chat-template) template.
    public func renderChat(messages: TemplateValue, tools: TemplateValue? = nil, documents: TemplateValue? = nil,
                           addGenerationPrompt: Bool = true,
                           extraContext: [String: TemplateValue] = [:]) throws -> String {
        guard let template = engine.bundle.chatTemplate else {
            throw EngineError(.invalidRequest, engine.bundle.chatTemplateError ?? "This model has no chat template.")
        }
        do {
            return try template.renderChat(messages: messages, tools: tools, documents: documents,
                                           addGenerationPrompt: addGenerationPrompt,
                                           bosToken: tokenizer.bosToken, eosToken: tokenizer.eosToken,
                                           extraContext: extraContext)
        } catch {
            throw EngineError(.invalidRequest, "\(error)")
        }
    }

    // MARK: Requests

    /// Starts a request; the stream yields its outputs (deltas by default) and finishes after the one
    /// with `finished == true`. Ending the stream early aborts the request and frees its KV blocks: cancel
    /// the consuming task, or release the stream (breaking out of a loop while still holding the stream
    /// keeps the request running until the stream is released). Throws `EngineError` for requests that
    /// cannot start (see the type docs).
    public func generate(requestId: String, prompt: PromptInput, params: SamplingParams, priority: Int = 0,
                         outputKind: RequestOutputKind = .delta, cacheSalt: String? = nil) throws -> OutputStream {
        let prepared = try engine.prepare(requestId: requestId, prompt: prompt, params: params, priority: priority,
                                          outputKind: outputKind, cacheSalt: cacheSalt)
        let (stream, continuation) = OutputStream.makeStream()
        let coreRequests = max(1, params.n)
        condition.lock()
        defer { condition.unlock() }
        guard acceptingRequests else {
            throw EngineError(.shuttingDown, "The engine is shutting down and accepts no new requests.")
        }
        guard !activeRequestIds.contains(requestId) else {
            throw EngineError(.invalidRequest, "A request with id '\(requestId)' is already running.")
        }
        if let limit = engine.config.maxWaitingRequests,
           latestStats.numWaiting + queuedCoreRequests + coreRequests > limit {
            throw EngineError(.overloaded,
                              "The server is overloaded: \(latestStats.numWaiting + queuedCoreRequests) requests are "
                                  + "waiting (limit \(limit)). Please retry later.")
        }
        activeRequestIds.insert(requestId)
        queuedCoreRequests += coreRequests
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abort(requestId: requestId) }
        }
        inbox.append(.add(prepared, continuation))
        condition.signal()
        return stream
    }

    /// Aborts a request: its stream gets a final output with finish reason abort. Unknown ids are ignored.
    public func abort(requestId: String) {
        locked {
            inbox.append(.abort(requestId))
            condition.signal()
        }
    }

    /// The latest gauges, counters and histograms (updated after every engine step).
    public func stats() -> EngineStats {
        locked { latestStats }
    }

    /// Requests accepted and not finished yet.
    public var numActiveRequests: Int {
        locked { activeRequestIds.count }
    }

    public var isAcceptingRequests: Bool {
        locked { acceptingRequests && !stopRequested }
    }

    /// True once no request is active, or false when `timeout` seconds pass first.
    public func waitUntilIdle(timeout: Double) async -> Bool {
        let deadline = monotonicSeconds() + timeout
        while numActiveRequests > 0 {
            if monotonicSeconds() >= deadline { return false }
            try? await Task.sleep(nanoseconds: 5_000_000)
        }
        return true
    }

    /// Stops accepting requests, lets running ones finish for up to `drainTimeout` seconds, aborts the
    /// rest (their streams end with finish reason abort) and stops the engine thread.
    public func shutdown(drainTimeout: Double) async {
        locked { acceptingRequests = false }
        _ = await waitUntilIdle(timeout: max(0, drainTimeout))
        locked {
            stopRequested = true
            condition.signal()
        }
        while !locked({ threadExited }) {
            try? await Task.sleep(nanoseconds: 2_000_000)
        }
    }

    /// Runs `body` holding the inbox lock (a synchronous helper so async callers may use it too).
    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        condition.lock()
        defer { condition.unlock() }
        return try body()
    }

    // MARK: Engine thread

    private func runLoop() {
        while true {
            condition.lock()
            while inbox.isEmpty && !engineHasWork && !stopRequested {
                condition.wait()
            }
            let commands = inbox
            inbox.removeAll(keepingCapacity: true)
            let stopping = stopRequested
            condition.unlock()

            var finishedIds: [String] = []
            for command in commands {
                handle(command, finishedIds: &finishedIds)
            }
            if stopping {
                deliver(engine.abortAll(), finishedIds: &finishedIds)
                for (id, continuation) in streams {
                    continuation.finish()
                    finishedIds.append(id)
                }
                streams.removeAll()
            } else if engine.hasUnfinishedRequests {
                do {
                    deliver(try engine.step(), finishedIds: &finishedIds)
                } catch {
                    failAll(EngineError.from(error), finishedIds: &finishedIds)
                }
            }
            engineHasWork = engine.hasUnfinishedRequests
            let snapshot = engine.stats()
            throughputLog?.logIfDue(snapshot, now: monotonicSeconds())
            condition.lock()
            for id in finishedIds { activeRequestIds.remove(id) }
            latestStats = snapshot
            if stopping {
                acceptingRequests = false
                threadExited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
        }
    }

    private func handle(_ command: Command, finishedIds: inout [String]) {
        switch command {
        case .add(let request, let continuation):
            condition.lock()
            queuedCoreRequests -= max(1, request.params.n)
            condition.unlock()
            do {
                try engine.addRequest(request)
                streams[request.requestId] = continuation
            } catch {
                continuation.finish(throwing: EngineError.from(error))
                finishedIds.append(request.requestId)
            }
        case .abort(let requestId):
            deliver(engine.abort([requestId]), finishedIds: &finishedIds)
        }
    }

    private func deliver(_ outputs: [RequestOutput], finishedIds: inout [String]) {
        for output in outputs {
            guard let continuation = streams[output.requestId] else { continue }
            continuation.yield(output)
            if output.finished {
                continuation.finish()
                streams[output.requestId] = nil
                finishedIds.append(output.requestId)
            }
        }
    }

    /// A failed step leaves the batch in an unknown state: every request ends with the error.
    private func failAll(_ error: EngineError, finishedIds: inout [String]) {
        engine.abortAll()
        for (id, continuation) in streams {
            continuation.finish(throwing: error)
            finishedIds.append(id)
        }
        streams.removeAll()
    }
}
