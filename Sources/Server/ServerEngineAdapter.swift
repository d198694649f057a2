import JSON
import ChatTemplate
import Engine
import EngineCore
import Foundation

/// Serves the real `AsyncLLMEngine` through the server's `ServingEngine` protocol.
public final class AsyncEngineServing: ServingEngine, @unchecked Sendable {
    public let engine: AsyncLLMEngine
    private let tokenTextLock = NSLock()
    private var tokenTexts: [Int: String] = [:]

    public init(engine: AsyncLLMEngine) { self.engine = engine }

    public var maxModelLen: Int { engine.maxModelLen }
    public var vocabSize: Int { engine.modelSpec.vocabSize }
    public var isHealthy: Bool { engine.isAcceptingRequests }

    public func tokenize(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        engine.encode(text, addSpecialTokens: addSpecialTokens)
    }

    public func detokenize(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        engine.decode(tokenIds, skipSpecialTokens: skipSpecialTokens)
    }

    public func tokenStrings(_ tokenIds: [Int]) -> [String] {
        tokenTextLock.lock()
        defer { tokenTextLock.unlock() }
        return tokenIds.map { id in
            if let cached = tokenTexts[id] { return cached }
            let text = engine.decode([id], skipSpecialTokens: false)
            tokenTexts[id] = text
            return text
        }
    }

    public func renderChat(_ chat: ChatRenderRequest) throws -> String {
        var extra: [String: TemplateValue] = [:]
        for (key, value) in chat.templateKwargs { extra[key] = TemplateValue(value) }
        let rendered: String
        do {
            rendered = try engine.renderChat(messages: .array(chat.messages.map(TemplateValue.init)),
                                             tools: chat.tools.map { .array($0.map(TemplateValue.init)) },
                                             addGenerationPrompt: chat.addGenerationPrompt && !chat.continueFinalMessage,
                                             extraContext: extra)
        } catch let error as EngineError {
            throw ServingError(error)
        }
        guard chat.continueFinalMessage else { return rendered }
        // Leave the final message open: cut the rendering right after its content (vLLM does the same).
        guard case .string(let content)? = chat.messages.last?["content"], !content.isEmpty,
              let range = rendered.range(of: content, options: .backwards) else {
            return rendered
        }
        return String(rendered[..<range.upperBound])
    }

    public var defaultSamplingParams: SamplingParams { engine.defaultSamplingParams }

    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, priority: Int) throws
        -> AsyncThrowingStream<GenerationOutput, Error> {
        let source: AsyncLLMEngine.OutputStream
        do {
            source = try engine.generate(requestId: requestId, prompt: .tokenIds(promptTokenIds),
                                         params: params, priority: priority, outputKind: .delta)
        } catch let error as EngineError {
            throw ServingError(error)
        } catch let error as SamplingParamsError {
            throw ServingError.invalidRequest(error.message, param: error.param)
        }
        let promptCount = promptTokenIds.count
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var sentPromptLogprobs = false
                    for try await output in source {
                        for completion in output.outputs {
                            var converted = GenerationOutput(
                                index: completion.index, textDelta: completion.text, tokenIds: completion.tokenIds,
                                logprobs: completion.logprobs, finishReason: completion.finishReason?.rawValue,
                                stopReason: completion.stopReason, promptTokenCount: promptCount,
                                cachedTokenCount: output.numCachedTokens)
                            if !sentPromptLogprobs, let prompt = output.promptLogprobs {
                                converted.promptLogprobs = prompt
                                sentPromptLogprobs = true
                            }
                            continuation.yield(converted)
                        }
                    }
                    continuation.finish()
                } catch let error as EngineError {
                    continuation.finish(throwing: ServingError(error))
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { termination in
                if case .cancelled = termination {
                    task.cancel()
                    self.engine.abort(requestId: requestId)
                }
            }
        }
    }

    public func abort(requestId: String) { engine.abort(requestId: requestId) }

    public func stats() -> ServingStats {
        let source = engine.stats()
        var stats = ServingStats()
        stats.numRunning = source.numRunning
        stats.numWaiting = source.numWaiting
        stats.kvCacheUsage = source.kvCacheUsage
        stats.prefixCacheQueries = source.prefixCacheQueries
        stats.prefixCacheHits = source.prefixCacheHits
        stats.numPreemptions = source.numPreemptions
        func snapshot(_ name: String, _ help: String, _ histogram: EngineHistogram) -> HistogramSnapshot {
            HistogramSnapshot(name: name, help: help, upperBounds: histogram.upperBounds,
                              cumulativeCounts: histogram.cumulativeCounts, sum: histogram.sum, count: histogram.count)
        }
        stats.engineHistograms = [
            snapshot("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
                     source.requestQueueTime),
            snapshot("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
                     source.requestPrefillTime),
            snapshot("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
                     source.requestDecodeTime),
            snapshot("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.",
                     source.requestInferenceTime),
            snapshot("vllm:request_time_per_output_token_seconds",
                     "Histogram of time_per_output_token_seconds per request.", source.requestTimePerOutputToken),
            snapshot("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
                     source.iterationTokens),
        ]
        return stats
    }
}

extension ServingError {
    init(_ error: EngineError) {
        switch error.kind {
        case .invalidRequest: self = .invalidRequest(error.message, param: error.param)
        case .contextLengthExceeded: self = .contextLengthExceeded(error.message)
        case .overloaded, .shuttingDown: self = .overloaded(error.message)
        case .loadFailed, .invalidConfig, .modelFailure: self = .internalFailure(error.message)
        }
    }
}

