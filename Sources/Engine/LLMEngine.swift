import ChatTemplate
import Foundation
import EngineCore
import Models
import Tokenizer

/// The synchronous engine: tokenizes requests, runs the engine core step by step, and turns its
/// token ids into text outputs with stop strings, n > 1, logprobs and metrics.
/// Not thread-safe: one thread drives it (AsyncLLMEngine runs it on its own thread).
public final class LLMEngine {
    public let bundle: ModelBundle
    public let config: EngineConfig
    /// Effective context length (prompt + output) after clamping to the KV cache.
    public let maxModelLen: Int
    /// KV blocks allocated (block 0 is the core's reserved null block).
    public let numKVBlocks: Int

    let core: EngineCore
    let validator: RequestValidator
    private let tokenTexts: TokenTextCache
    private var requests: [String: EngineRequestState] = [:]
    /// Core request id -> (request id, completion index).
    private var completionsByCoreId: [String: (requestId: String, index: Int)] = [:]
    private var metrics: EngineMetricsRecorder
    private var offlineCounter = 0
    // Reused by every step so that a warmed-up decode step allocates as little as possible.
    private var stepNumber = 0
    /// Requests that got core outputs this step, in first-seen order.
    private var touchedRequests: [EngineRequestState] = []
    /// The array `step()` returns, refilled in place once the caller has released the previous one.
    private var stepOutputs: [RequestOutput] = []
    /// Requests that reported an output last step (they still share its buffers).
    private var reportedRequests: [EngineRequestState] = []

    /// Loads the model named by `config.model` and builds the engine.
    public convenience init(config: EngineConfig) throws {
        try self.init(bundle: ModelBundle.load(config), config: config)
    }

    public init(bundle: ModelBundle, config: EngineConfig) throws {
        self.bundle = bundle
        self.config = config
        let sizing = try KVCacheSizing(spec: bundle.model.spec,
                                      bytesPerBlock: bundle.model.kvCacheBytesPerBlock(blockSize: config.blockSize),
                                      config: config)
        maxModelLen = sizing.maxModelLen
        numKVBlocks = sizing.numBlocks
        let scheduler = SchedulerConfig(numBlocks: sizing.numBlocks, maxModelLen: sizing.maxModelLen,
                                        blockSize: config.blockSize, maxNumSeqs: config.maxNumSeqs,
                                        maxNumBatchedTokens: config.maxNumBatchedTokens,
                                        enablePrefixCaching: config.enablePrefixCaching,
                                        enableChunkedPrefill: true,
                                        longPrefillTokenThreshold: config.longPrefillTokenThreshold,
                                        maxWaitingRequests: nil, policy: config.schedulingPolicy,
                                        maxLogprobs: config.maxLogprobs, seed: config.seed,
                                        numSpeculativeTokens: config.speculative?.numSpeculativeTokens ?? 0,
                                        speculativeDisableByBatchSize: config.speculative?.disableByBatchSize)
        do {
            let proposer = try config.speculative?.makeProposer(
                targetVocabSize: bundle.model.spec.vocabSize, numBlocks: sizing.numBlocks, blockSize: config.blockSize,
                threads: config.threads, cacheDirectory: config.cacheDirectory)
            core = try EngineCore(model: bundle.model, config: scheduler, proposer: proposer)
        } catch {
            throw EngineError.from(error)
        }
        validator = RequestValidator(tokenizer: bundle.tokenizer, vocabSize: bundle.model.spec.vocabSize,
                                     maxModelLen: sizing.maxModelLen, maxLogprobs: config.maxLogprobs,
                                     priorityScheduling: config.schedulingPolicy == .priority)
        tokenTexts = TokenTextCache(tokenizer: bundle.tokenizer)
        metrics = EngineMetricsRecorder(maxModelLen: sizing.maxModelLen)
        let bytesPerBlock = bundle.model.kvCacheBytesPerBlock(blockSize: config.blockSize)
        EngineLog.logger.info("\(kvCacheSummary(bytesPerBlock: bytesPerBlock))")
    }

    /// Tokens the KV cache holds (all blocks but the reserved null block).
    public var kvCacheTokens: Int { (numKVBlocks - 1) * config.blockSize }

    /// The startup line: the same block count as vllm:cache_config_info's num_gpu_blocks (every block
    /// allocated), and the tokens of the blocks that can hold them (the null block holds none).
    func kvCacheSummary(bytesPerBlock: Int) -> String {
        "KV cache: \(numKVBlocks) blocks of \(config.blockSize) tokens (\((numKVBlocks * bytesPerBlock) >> 20) MiB), "
            + "\(kvCacheTokens) tokens usable (one block is the reserved null block); maximum concurrency for "
            + "\(maxModelLen) tokens per request: \(String(format: "%.2f", maxConcurrency))x"
    }

    /// How many full-length (maxModelLen) sequences fit in the KV cache at once.
    public var maxConcurrency: Double { Double(kvCacheTokens) / Double(maxModelLen) }

    public var tokenizer: Tokenizer { bundle.tokenizer }
    public var modelName: String { bundle.modelName }

    /// Tokenizes and validates without adding (safe from any thread: touches only immutable state).
    public func prepare(requestId: String, prompt: PromptInput, params: SamplingParams, priority: Int = 0,
                        outputKind: RequestOutputKind = .cumulative, cacheSalt: String? = nil,
                        arrivalTime: Double? = nil) throws -> PreparedRequest {
        try validator.prepare(requestId: requestId, prompt: prompt, params: params, priority: priority,
                              outputKind: outputKind, cacheSalt: cacheSalt,
                              arrivalTime: arrivalTime ?? monotonicSeconds())
    }

    public func addRequest(requestId: String, prompt: PromptInput, params: SamplingParams, priority: Int = 0,
                           outputKind: RequestOutputKind = .cumulative, cacheSalt: String? = nil) throws {
        try addRequest(prepare(requestId: requestId, prompt: prompt, params: params, priority: priority,
                               outputKind: outputKind, cacheSalt: cacheSalt))
    }

    /// Adds a request prepared by `prepare` (possibly on another thread). Its n completions become
    /// n core requests; if one is refused, those already added are withdrawn.
    public func addRequest(_ request: PreparedRequest) throws {
        if requests[request.requestId] != nil {
            throw EngineError(.invalidRequest, "A request with id '\(request.requestId)' is already running.")
        }
        let state = EngineRequestState(requestId: request.requestId, prompt: request.prompt,
                                       promptTokenIds: request.promptTokenIds, params: request.params,
                                       outputKind: request.outputKind, arrivalTime: request.arrivalTime,
                                       tokenizer: bundle.tokenizer)
        var added: [String] = []
        for completion in state.completions {
            let coreRequest = EngineCoreRequest(requestId: completion.coreRequestId,
                                                promptTokenIds: request.promptTokenIds,
                                                params: state.coreParams(index: completion.index),
                                                eosTokenIds: bundle.eosTokenIds, arrivalTime: request.arrivalTime,
                                                priority: request.priority, cacheSalt: request.cacheSalt)
            do {
                try core.addRequest(coreRequest)
            } catch {
                core.abortRequests(added)
                for id in added { completionsByCoreId[id] = nil }
                throw EngineError.from(error)
            }
            added.append(completion.coreRequestId)
            completionsByCoreId[completion.coreRequestId] = (request.requestId, completion.index)
        }
        requests[request.requestId] = state
        metrics.requestAdded(params: request.params, maxModelLen: maxModelLen,
                             promptLength: request.promptTokenIds.count)
    }

    public var hasUnfinishedRequests: Bool { !requests.isEmpty || core.hasUnfinishedRequests }

    public var numUnfinishedRequests: Int { requests.count }

    /// Runs one engine step; returns an output for every request that has something to report.
    public func step() throws -> [RequestOutput] {
        // First, so last step's outputs stop sharing the completions' text and id buffers, which
        // then grow in place instead of being copied.
        stepOutputs.removeAll(keepingCapacity: true)
        for state in reportedRequests { state.releaseReportedOutputs() }
        reportedRequests.removeAll(keepingCapacity: true)
        stepNumber += 1
        let stepStart = monotonicSeconds()
        let coreOutputs: [EngineCoreOutput]
        do {
            coreOutputs = try core.step()
        } catch {
            throw EngineError.from(error)
        }
        let now = monotonicSeconds()
        for output in coreOutputs {
            guard let (requestId, index) = completionsByCoreId[output.requestId],
                  let state = requests[requestId] else { continue }
            if state.lastTouchedStep != stepNumber {
                state.lastTouchedStep = stepNumber
                touchedRequests.append(state)
            }
            if let promptLogprobs = output.promptLogprobs, state.promptLogprobs == nil {
                state.promptLogprobs = promptLogprobs.map { $0.map(tokenTexts.positionLogprobs) }
            }
            if state.completions[index].scheduledTime == nil {
                state.completions[index].scheduledTime = stepStart
                state.completions[index].numCachedTokens = output.numCachedTokens
            }
            let previousTokenTime = state.completions[index].lastTokenTime
            let stoppedByString = state.completions[index].apply(output, tokenTexts: tokenTexts, now: now)
            if !output.newTokenIds.isEmpty {
                if let previous = previousTokenTime {
                    metrics.interToken(now - previous)
                } else {
                    metrics.firstToken(arrival: state.arrivalTime, scheduled: stepStart, now: now)
                }
            }
            if stoppedByString && output.finishReason == nil {
                core.abortRequests([output.requestId])
            }
            if state.completions[index].finished {
                completionsByCoreId[output.requestId] = nil
                metrics.completionFinished(state.completions[index], arrival: state.arrivalTime,
                                           promptLength: state.promptTokenIds.count, now: now)
            }
        }
        for state in touchedRequests {
            if let output = state.makeOutput() {
                stepOutputs.append(output)
                reportedRequests.append(state)
            }
            if state.finished {
                requests[state.requestId] = nil
                metrics.requestFinished(maxGenerationTokens: state.maxGenerationTokens)
            }
        }
        touchedRequests.removeAll(keepingCapacity: true)
        metrics.stepFinished(batchTokens: core.stats.lastStepNumTokens)
        return stepOutputs
    }

    /// Aborts requests (frees their KV blocks now); returns their final outputs (finish reason abort).
    /// Unknown or finished ids are ignored.
    @discardableResult
    public func abort(_ requestIds: [String]) -> [RequestOutput] {
        let now = monotonicSeconds()
        var results: [RequestOutput] = []
        for requestId in requestIds {
            guard let state = requests.removeValue(forKey: requestId) else { continue }
            var coreIds: [String] = []
            for index in state.completions.indices where !state.completions[index].finished {
                coreIds.append(state.completions[index].coreRequestId)
                completionsByCoreId[state.completions[index].coreRequestId] = nil
                state.completions[index].finish(.abort)
                metrics.completionFinished(state.completions[index], arrival: state.arrivalTime,
                                           promptLength: state.promptTokenIds.count, now: now)
            }
            core.abortRequests(coreIds)
            metrics.requestFinished(maxGenerationTokens: state.maxGenerationTokens)
            if let output = state.makeOutput() { results.append(output) }
        }
        return results
    }

    /// Aborts everything (shutdown); returns the final outputs.
    @discardableResult
    public func abortAll() -> [RequestOutput] {
        abort(Array(requests.keys))
    }

    public func stats() -> EngineStats {
        metrics.snapshot(core: core.stats, numKVBlocks: numKVBlocks, blockSize: config.blockSize,
                         enablePrefixCaching: config.enablePrefixCaching)
    }

    /// Offline batch generation: runs all prompts to completion; outputs in prompt order.
    public func generate(prompts: [PromptInput], params: SamplingParams) throws -> [RequestOutput] {
        var ids: [String] = []
        for prompt in prompts {
            offlineCounter += 1
            let id = "offline-\(offlineCounter)"
            do {
                try addRequest(requestId: id, prompt: prompt, params: params, outputKind: .finalOnly)
            } catch {
                abort(ids)
                throw error
            }
            ids.append(id)
        }
        var finished: [String: RequestOutput] = [:]
        do {
            while finished.count < ids.count && hasUnfinishedRequests {
                for output in try step() where output.finished {
                    finished[output.requestId] = output
                }
            }
        } catch {
            abort(ids)
            throw error
        }
        return try ids.map { id in
            guard let output = finished[id] else {
                throw EngineError(.modelFailure, "request \(id) did not finish")
            }
            return output
        }
    }
}
