import XCTest
import Models
@testable import EngineCore

final class EngineCoreSchedulerTests: XCTestCase {
    private func config(blocks: Int = 64, blockSize: Int = 4, maxLen: Int = 256, budget: Int = 2048,
                        seqs: Int = 256, chunked: Bool = true, caching: Bool = true,
                        policy: SchedulingPolicy = .fcfs, threshold: Int? = nil) -> SchedulerConfig {
        SchedulerConfig(numBlocks: blocks, maxModelLen: maxLen, blockSize: blockSize, maxNumSeqs: seqs,
                        maxNumBatchedTokens: budget, enablePrefixCaching: caching, enableChunkedPrefill: chunked,
                        longPrefillTokenThreshold: threshold, policy: policy)
    }

    func testGreedyOutputsMatchCachelessReference() throws {
        let model = FakeModel()
        let prompts = (0..<5).map { makePrompt(3 + 7 * $0, seed: UInt64($0)) }
        let requests = prompts.enumerated().map { makeRequest("r\($0.offset)", $0.element, makeParams(maxTokens: 12)) }
        let (result, core) = try runAll(requests, config: config(), model: model)
        for (i, prompt) in prompts.enumerated() {
            XCTAssertEqual(result.tokens["r\(i)"], model.referenceGreedy(prompt: prompt, maxTokens: 12))
            XCTAssertEqual(result.finish["r\(i)"], .length)
        }
        XCTAssertFalse(core.hasUnfinishedRequests)
        XCTAssertEqual(core.stats.kvCacheUsage, 0)
        XCTAssertEqual(core.stats.generationTokens, 60)
        XCTAssertEqual(core.stats.promptTokens, prompts.reduce(0) { $0 + $1.count })
    }

    func testSharedPrefixIsServedFromCache() throws {
        let model = FakeModel()
        let core = try EngineCore(model: model, config: config())
        let system = makePrompt(20, seed: 9)
        var result = RunResult()
        try core.addRequest(makeRequest("first", system + [5, 6, 7]))
        try runToCompletion(core, into: &result)
        try core.addRequest(makeRequest("second", system + [8, 9]))
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.cached["first"], 0)
        XCTAssertEqual(result.cached["second"], 20)
        XCTAssertEqual(result.tokens["second"], model.referenceGreedy(prompt: system + [8, 9], maxTokens: 8))
        XCTAssertEqual(core.stats.prefixCacheQueries, 23 + 22)
        XCTAssertEqual(core.stats.prefixCacheHits, 20)
    }

    func testParallelChildrenComputeTheSharedPromptOnce() throws {
        let model = FakeModel()
        let prompt = makePrompt(40, seed: 3)
        let children = (0..<4).map { makeRequest("\($0)_parent", prompt, makeParams(maxTokens: 5)) }
        let (result, core) = try runAll(children, config: config(), model: model)
        let expected = model.referenceGreedy(prompt: prompt, maxTokens: 5)
        for i in 0..<4 { XCTAssertEqual(result.tokens["\(i)_parent"], expected) }
        // 39 of 40 prompt tokens can be shared at block size 4 -> 36 cached tokens per later child.
        XCTAssertEqual((1..<4).map { result.cached["\($0)_parent"] }, [36, 36, 36])
        XCTAssertEqual(core.stats.prefixCacheHits, 3 * 36)
        XCTAssertLessThan(model.totalRowsComputed, 40 + 3 * 4 + 4 * 5 + 1)
    }

    func testTokenBudgetAndMaxNumSeqsAreNeverExceeded() throws {
        let model = FakeModel()
        let prompts = (0..<9).map { makePrompt(5 + 3 * $0, seed: 100 + UInt64($0)) }
        let requests = prompts.enumerated().map { makeRequest("r\($0.offset)", $0.element, makeParams(maxTokens: 6)) }
        let (result, _) = try runAll(requests, config: config(budget: 7, seqs: 3), model: model)
        XCTAssertFalse(model.batchShapes.isEmpty)
        for shape in model.batchShapes {
            XCTAssertLessThanOrEqual(shape.tokens, 7)
            XCTAssertLessThanOrEqual(shape.seqs, 3)
        }
        XCTAssertEqual(model.batchShapes.map(\.tokens).max(), 7, "the budget should be used fully at some step")
        for (i, prompt) in prompts.enumerated() {
            XCTAssertEqual(result.tokens["r\(i)"], model.referenceGreedy(prompt: prompt, maxTokens: 6))
        }
    }

    func testChunkedPrefillMatchesUnchunked() throws {
        let prompts = (0..<4).map { makePrompt(30 + 11 * $0, seed: 40 + UInt64($0)) }
        func requests() -> [EngineCoreRequest] {
            prompts.enumerated().map {
                makeRequest("r\($0.offset)", $0.element, makeParams(maxTokens: 10, temperature: 0.8, seed: UInt64($0.offset)))
            }
        }
        let (whole, _) = try runAll(requests(), config: config(budget: 1024, caching: false))
        let chunkedModel = FakeModel()
        let (chunked, _) = try runAll(requests(), config: config(budget: 9, caching: false), model: chunkedModel)
        XCTAssertEqual(whole.tokens, chunked.tokens)
        XCTAssertTrue(chunkedModel.batchShapes.allSatisfy { $0.tokens <= 9 })
        let (thresholded, _) = try runAll(requests(), config: config(budget: 1024, threshold: 5))
        XCTAssertEqual(whole.tokens, thresholded.tokens)
    }

    func testUnchunkedPrefillWaitsForAFullBudget() throws {
        let model = FakeModel()
        let (result, _) = try runAll([makeRequest("a", makePrompt(30, seed: 1)), makeRequest("b", makePrompt(30, seed: 2))],
                                  config: config(maxLen: 40, budget: 40, chunked: false), model: model)
        XCTAssertEqual(result.tokens.count, 2)
        XCTAssertEqual(model.batchShapes.first?.tokens, 30, "the second prompt does not fit the first step's budget")
    }

    func testPreemptionUnderTinyKVBudgetKeepsOutputs() throws {
        let prompts = (0..<6).map { makePrompt(6 + 5 * $0, seed: 70 + UInt64($0)) }
        func requests() -> [EngineCoreRequest] {
            prompts.enumerated().map { item -> EngineCoreRequest in
                let params = item.offset % 2 == 0
                    ? makeParams(maxTokens: 20)
                    : makeParams(maxTokens: 20, temperature: 1.0, seed: 1000 + UInt64(item.offset))
                return makeRequest("r\(item.offset)", item.element, params, arrival: Double(item.offset))
            }
        }
        let (reference, _) = try runAll(requests(), config: config(blocks: 256))
        for policy in [SchedulingPolicy.fcfs, .priority] {
            for caching in [true, false] {
                let (tight, core) = try runAll(requests(), config: config(blocks: 16, caching: caching, policy: policy))
                XCTAssertGreaterThan(core.stats.numPreemptions, 0, "\(policy) caching=\(caching)")
                XCTAssertEqual(tight.tokens, reference.tokens, "\(policy) caching=\(caching)")
                XCTAssertEqual(core.stats.kvCacheUsage, 0)
            }
        }
    }

    func testPriorityPolicyServesLowerValueFirstAndPreemptsTheLowestPriority() throws {
        let model = FakeModel()
        let core = try EngineCore(model: model, config: config(seqs: 1, policy: .priority))
        try core.addRequest(makeRequest("late-urgent", [1, 2, 3], arrival: 2, priority: -1))
        try core.addRequest(makeRequest("background", [4, 5, 6], arrival: 0, priority: 5))
        try core.addRequest(makeRequest("normal", [7, 8, 9], arrival: 1, priority: 0))
        var order: [String] = []
        while core.hasUnfinishedRequests {
            for output in try core.step() where output.finished { order.append(output.requestId) }
        }
        XCTAssertEqual(order, ["late-urgent", "normal", "background"])

        // Victim choice: with blocks for only one long request, the low-priority one is preempted.
        let tight = try EngineCore(model: FakeModel(), config: config(blocks: 9, policy: .priority))
        try tight.addRequest(makeRequest("low", makePrompt(12, seed: 1), makeParams(maxTokens: 16), arrival: 0, priority: 9))
        try tight.addRequest(makeRequest("high", makePrompt(12, seed: 2), makeParams(maxTokens: 16), arrival: 1, priority: 0))
        var finishedFirst: String?
        while tight.hasUnfinishedRequests {
            for output in try tight.step() where output.finished && finishedFirst == nil { finishedFirst = output.requestId }
        }
        XCTAssertEqual(finishedFirst, "high")
        XCTAssertGreaterThan(tight.stats.numPreemptions, 0)
    }

    func testCacheSaltIsolatesTenants() throws {
        let model = FakeModel()
        let core = try EngineCore(model: model, config: config())
        let prompt = makePrompt(24, seed: 5)
        var result = RunResult()
        try core.addRequest(makeRequest("a", prompt, salt: "alice"))
        try runToCompletion(core, into: &result)
        try core.addRequest(makeRequest("b", prompt, salt: "bob"))
        try core.addRequest(makeRequest("c", prompt))
        try runToCompletion(core, into: &result)
        try core.addRequest(makeRequest("d", prompt, salt: "alice"))
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.cached["b"], 0)
        XCTAssertEqual(result.cached["c"], 0)
        XCTAssertEqual(result.cached["d"], 20)
        XCTAssertEqual(Set(result.tokens.values.map { $0 }).count, 1, "salt never changes outputs")
    }

    func testAbortFreesBlocksImmediately() throws {
        let core = try EngineCore(model: FakeModel(), config: config())
        try core.addRequest(makeRequest("a", makePrompt(20, seed: 1), makeParams(maxTokens: 50)))
        try core.addRequest(makeRequest("b", makePrompt(20, seed: 2), makeParams(maxTokens: 50)))
        _ = try core.step()
        XCTAssertGreaterThan(core.stats.kvCacheUsage, 0)
        XCTAssertEqual(core.stats.numRunning, 2)
        core.abortRequests(["a", "b", "unknown"])
        XCTAssertEqual(core.stats.kvCacheUsage, 0)
        XCTAssertEqual(core.stats.numRunning, 0)
        XCTAssertFalse(core.hasUnfinishedRequests)
        XCTAssertEqual(try core.step().count, 0)
        XCTAssertTrue(core.resetPrefixCache())
    }

    func testModelFailureLeavesStateRetriable() throws {
        let model = FakeModel()
        let core = try EngineCore(model: model, config: config())
        let prompt = makePrompt(10, seed: 8)
        try core.addRequest(makeRequest("a", prompt))
        model.failNextForward = true
        XCTAssertThrowsError(try core.step()) { error in
            XCTAssertEqual((error as? EngineCoreError)?.kind, .modelFailure)
        }
        var result = RunResult()
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.tokens["a"], model.referenceGreedy(prompt: prompt, maxTokens: 8))
    }

    /// Thousands of random adds, aborts and steps under KV pressure, for several scheduler
    /// configurations: every step stays within its limits, completed greedy requests match the
    /// cacheless reference, and at the end every block is free with a zero reference count.
    func testRandomizedEventsLeakNoBlocks() throws {
        let variants: [(SchedulingPolicy, Bool, Bool)] = [(.fcfs, true, true), (.priority, true, true), (.fcfs, false, false)]
        for (variant, (policy, caching, chunked)) in variants.enumerated() {
            try randomizedRun(seed: 2024 + UInt64(variant), events: 1500,
                              config: config(blocks: 14, blockSize: 4, maxLen: 32, budget: chunked ? 12 : 32, seqs: 5,
                                             chunked: chunked, caching: caching, policy: policy,
                                             threshold: chunked ? 8 : nil))
        }
    }

    private func randomizedRun(seed: UInt64, events: Int, config cfg: SchedulerConfig) throws {
        let label = "\(cfg.policy) caching=\(cfg.enablePrefixCaching) chunked=\(cfg.enableChunkedPrefill)"
        let model = FakeModel(vocabSize: 32)
        let core = try EngineCore(model: model, config: cfg)
        var rng = SeededGenerator(seed: seed)
        var live: [String] = []
        var prompts: [String: [Int]] = [:]
        var greedyIds = Set<String>()
        var produced: [String: [Int]] = [:]
        let prefixes = (0..<3).map { makePrompt(8, seed: 500 + UInt64($0), vocab: 32) }
        var nextId = 0
        var finished = 0
        for event in 0..<events {
            let roll = rng.next() % 10
            if roll < 3 && live.count < 12 {
                let id = "q\(nextId)"; nextId += 1
                let shared = prefixes[Int(rng.next() % 3)]
                let prompt = Array(shared.prefix(Int(rng.next() % 9)))
                    + makePrompt(1 + Int(rng.next() % 12), seed: rng.next(), vocab: 32)
                let greedy = rng.next() % 2 == 0
                let params = makeParams(maxTokens: 1 + Int(rng.next() % 10), temperature: greedy ? 0 : 0.9,
                                        seed: rng.next() % 3 == 0 ? nil : rng.next() % 100) {
                    $0.promptLogprobs = rng.next() % 5 == 0 ? 1 : nil
                }
                try core.addRequest(makeRequest(id, prompt, params, eos: [0], arrival: Double(event),
                                                priority: Int(rng.next() % 3)))
                live.append(id); prompts[id] = prompt
                if greedy { greedyIds.insert(id) }
            } else if roll == 3 && !live.isEmpty {
                let id = live.remove(at: Int(rng.next() % UInt64(live.count)))
                core.abortRequests([id])
                produced[id] = nil
            } else {
                for output in try core.step() {
                    produced[output.requestId, default: []].append(contentsOf: output.newTokenIds)
                    guard output.finished else { continue }
                    live.removeAll { $0 == output.requestId }
                    XCTAssertTrue(output.finishReason == .stop || output.finishReason == .length, label)
                    finished += 1
                    if greedyIds.contains(output.requestId), let prompt = prompts[output.requestId],
                       let tokens = produced[output.requestId] {
                        XCTAssertEqual(tokens, model.referenceGreedy(prompt: prompt, maxTokens: tokens.count), label)
                    }
                }
            }
            let stats = core.stats
            XCTAssertLessThanOrEqual(stats.numRunning, cfg.maxNumSeqs, label)
            XCTAssertLessThanOrEqual(stats.lastStepNumTokens, cfg.maxNumBatchedTokens, label)
        }
        core.abortRequests(live)
        XCTAssertGreaterThan(finished, 50, label)
        XCTAssertGreaterThan(core.stats.numPreemptions, 0, label)
        if cfg.enablePrefixCaching { XCTAssertGreaterThan(core.stats.prefixCacheHits, 0, label) }
        XCTAssertFalse(core.hasUnfinishedRequests, label)
        let pool = core.blockPoolForTesting
        XCTAssertEqual(pool.numFreeBlocks, pool.numUsableBlocks, label)
        XCTAssertTrue((0..<pool.numBlocks).allSatisfy { pool.refCount(of: $0) == 0 }, label)
        XCTAssertEqual(Set(pool.freeQueueOrder()).count, pool.numUsableBlocks, label)
        XCTAssertEqual(core.stats.kvCacheUsage, 0, label)
        XCTAssertTrue(model.batchShapes.allSatisfy { $0.tokens <= cfg.maxNumBatchedTokens && $0.seqs <= cfg.maxNumSeqs }, label)
    }
}
