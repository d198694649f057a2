// The step contract, driven call by call: Scheduler.schedule() -> ModelRunner.execute() ->
// Scheduler.update(), with prompt chunks, decodes and draft tokens in lookahead slots in one step,
// and rollback of rejected drafts checked against block tables and reference counts.

import XCTest
import Models
@testable import EngineCore

/// Proposes the fake model's true greedy continuation, corrupted from draft `wrongFrom` on.
final class ScriptedProposer: DraftProposer {
    let model: FakeModel
    var numDrafts: Int
    var wrongFrom: Int
    private(set) var calls = 0

    init(model: FakeModel, numDrafts: Int, wrongFrom: Int = .max) {
        self.model = model
        self.numDrafts = numDrafts
        self.wrongFrom = wrongFrom
    }

    func propose(_ context: DraftContext, maxTokens: Int, into drafts: inout [Int]) {
        calls += 1
        var tokens = Array(context.tokenIds)
        for index in 0..<min(numDrafts, maxTokens) {
            let right = model.referenceLogits(tokens).withUnsafeBufferPointer { Sampler.argmax($0) }
            let token = index >= wrongFrom ? (right + 1) % model.spec.vocabSize : right
            drafts.append(token)
            tokens.append(token)
        }
    }
}

final class EngineCoreContractTests: XCTestCase {
    /// Every held block is referenced, each request holds exactly the blocks of its computed tokens,
    /// and free + held blocks account for the whole pool.
    func assertBlocksExact(_ scheduler: Scheduler, file: StaticString = #filePath, line: UInt = #line) {
        let pool = scheduler.kvCache.pool
        var held = Set<Int>()
        for request in scheduler.running {
            let blockSize = scheduler.config.blockSize
            let expected = (request.numComputedTokens + blockSize - 1) / blockSize
            XCTAssertEqual(request.blocks.count, expected, "request \(request.id) holds blocks beyond its KV",
                           file: file, line: line)
            for block in request.blocks {
                XCTAssertGreaterThan(pool.refCount(of: block), 0, "block \(block) held with ref count 0",
                                     file: file, line: line)
                held.insert(block)
            }
        }
        XCTAssertEqual(pool.numFreeBlocks + held.count, pool.numUsableBlocks, "blocks leaked or double-freed",
                       file: file, line: line)
    }

    func testOneStepSchedulesPromptChunksDecodesAndLookaheadSlotsTogether() throws {
        let model = FakeModel()
        let config = SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4, maxNumBatchedTokens: 12,
                                     numSpeculativeTokens: 3)
        try model.allocateKVCache(numBlocks: config.numBlocks, blockSize: config.blockSize)
        let scheduler = Scheduler(config: config)
        let runner = ModelRunner(model: model, blockSize: 4, maxModelLen: 128, seed: 0)
        let promptA = makePrompt(5, seed: 1)
        let promptB = makePrompt(30, seed: 2)
        func state(_ id: String, _ prompt: [Int]) -> RequestState {
            RequestState(request: makeRequest(id, prompt, makeParams(maxTokens: 20)), maxTokens: 20, sequenceNumber: 0,
                         vocabSize: 64, maxDraftTokens: 3)
        }
        let a = state("a", promptA)
        scheduler.enqueue(a)
        // Step 1: a's whole prompt.
        var schedule = scheduler.schedule()
        XCTAssertEqual(schedule.scheduled.map(\.numNewTokens), [5])
        XCTAssertEqual(schedule.newBlockIds.count, 2, "5 tokens at block size 4")
        _ = scheduler.update(schedule, try runner.execute(schedule))
        let reference = model.referenceGreedy(prompt: promptA, maxTokens: 20)
        XCTAssertEqual(Array(a.outputTokens), [reference[0]])

        // Step 2: a decodes with three correct drafts while b's prompt starts in the rest of the budget.
        let proposer = ScriptedProposer(model: model, numDrafts: 3)
        proposer.propose(DraftContext(request: a), maxTokens: 3, into: &a.draftTokenIds)
        let b = state("b", promptB)
        scheduler.enqueue(b)
        schedule = scheduler.schedule()
        XCTAssertEqual(schedule.scheduled.map(\.requestId), ["a", "b"])
        XCTAssertEqual(schedule.scheduled.map(\.numNewTokens), [4, 8], "1 decode + 3 drafts, then an 8-token chunk")
        XCTAssertEqual(schedule.scheduled.map(\.numDraftTokens), [3, 0])
        XCTAssertEqual(schedule.scheduled.map(\.isPrefill), [false, true])
        XCTAssertEqual(schedule.numScheduledTokens, 12)
        // a: tokens 5...8 need a third block (positions 8); b: two blocks.
        XCTAssertEqual(schedule.scheduled[0].newBlocks.count, 1)
        XCTAssertEqual(schedule.scheduled[1].newBlocks.count, 2)
        let result = try runner.execute(schedule)
        XCTAssertEqual(result.requests.map(\.numAcceptedDraftTokens), [3, 0])
        XCTAssertEqual(result.requests[0].sampled.count, 4, "three accepted drafts plus the bonus token")
        XCTAssertTrue(result.requests[1].sampled.isEmpty, "a prompt chunk short of the end samples nothing")
        let outputs = scheduler.update(schedule, result)
        XCTAssertEqual(outputs.map(\.requestId), ["a"])
        XCTAssertEqual(outputs[0].newTokenIds, Array(reference[1...4]))
        XCTAssertEqual(Array(a.outputTokens), Array(reference[0...4]))
        XCTAssertEqual(a.numComputedTokens, a.numTokens - 1)
        XCTAssertEqual(b.numComputedTokens, 8)
        assertBlocksExact(scheduler)
    }

    func testRejectedDraftsAreRolledBackExactly() throws {
        let model = FakeModel()
        let config = SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4, numSpeculativeTokens: 4)
        try model.allocateKVCache(numBlocks: config.numBlocks, blockSize: config.blockSize)
        let scheduler = Scheduler(config: config)
        let runner = ModelRunner(model: model, blockSize: 4, maxModelLen: 128, seed: 0)
        let prompt = makePrompt(7, seed: 3)
        let request = RequestState(request: makeRequest("r", prompt, makeParams(maxTokens: 30)), maxTokens: 30,
                                   sequenceNumber: 0, vocabSize: 64, maxDraftTokens: 4)
        scheduler.enqueue(request)
        let reference = model.referenceGreedy(prompt: prompt, maxTokens: 30)
        var generated: [Int] = []
        // In turn: every draft wrong, one right, two right, all right, ...
        let wrongFrom = [0, 1, 2, 4, 0, 3]
        var expectedAccepted: Int?
        var sawRollbackAcrossBlocks = false
        for step in 0..<40 {
            let schedule = scheduler.schedule()
            let result = try runner.execute(schedule)
            let blocksBefore = request.blocks.count
            for output in scheduler.update(schedule, result) { generated += output.newTokenIds }
            if let expected = expectedAccepted, let item = schedule.scheduled.first {
                XCTAssertEqual(result.requests[0].numAcceptedDraftTokens, min(expected, item.numDraftTokens))
                if request.blocks.count < blocksBefore { sawRollbackAcrossBlocks = true }
            }
            assertBlocksExact(scheduler)
            guard request.status == .running else { break }
            let proposer = ScriptedProposer(model: model, numDrafts: 4, wrongFrom: wrongFrom[step % wrongFrom.count])
            proposer.propose(DraftContext(request: request), maxTokens: 4, into: &request.draftTokenIds)
            expectedAccepted = wrongFrom[step % wrongFrom.count]
        }
        XCTAssertEqual(request.status, .finished)
        XCTAssertTrue(sawRollbackAcrossBlocks, "some rejection must free a whole lookahead block")
        let after = scheduler.schedule()
        XCTAssertTrue(after.isEmpty)
        XCTAssertEqual(after.finishedRequestIds, ["r"], "the next step names the request that finished")
        XCTAssertEqual(scheduler.schedule().finishedRequestIds, [], "once")
        XCTAssertEqual(generated, Array(reference[0..<generated.count]), "verification changes no token")
        XCTAssertEqual(generated.count, 30)
    }

    /// Through EngineCore: greedy and seeded sampled outputs are identical with and without drafts,
    /// wrong drafts included, and every block comes back.
    func testSpeculationChangesNoOutput() throws {
        let prompts = (0..<4).map { makePrompt(6 + 5 * $0, seed: UInt64(10 + $0)) }
        func run(numDrafts: Int, wrongFrom: Int) throws -> [String: [Int]] {
            let model = FakeModel()
            let config = SchedulerConfig(numBlocks: 128, maxModelLen: 128, blockSize: 4, maxNumBatchedTokens: 32,
                                         numSpeculativeTokens: numDrafts)
            let proposer = ScriptedProposer(model: model, numDrafts: numDrafts, wrongFrom: wrongFrom)
            let core = try EngineCore(model: model, config: config, proposer: proposer)
            for (index, prompt) in prompts.enumerated() {
                let params = makeParams(maxTokens: 17, temperature: index < 2 ? 0 : 0.9, seed: index < 2 ? nil : 5)
                try core.addRequest(makeRequest("r\(index)", prompt, params, eos: [0]))
            }
            var result = RunResult()
            try runToCompletion(core, into: &result)
            XCTAssertEqual(core.blockPoolForTesting.numFreeBlocks, core.blockPoolForTesting.numUsableBlocks)
            if numDrafts > 0 {
                XCTAssertGreaterThan(proposer.calls, 0)
                XCTAssertGreaterThan(core.stats.numDraftTokens, 0)
                if wrongFrom == .max { XCTAssertGreaterThan(core.stats.numAcceptedTokens, 0) }
                if wrongFrom == 0 { XCTAssertEqual(core.stats.numAcceptedTokens, 0) }
            }
            return result.tokens
        }
        let plain = try run(numDrafts: 0, wrongFrom: .max)
        XCTAssertEqual(try run(numDrafts: 3, wrongFrom: .max), plain, "all drafts right")
        XCTAssertEqual(try run(numDrafts: 3, wrongFrom: 1), plain, "one right, then wrong")
        XCTAssertEqual(try run(numDrafts: 5, wrongFrom: 0), plain, "all wrong")
    }

    func testDraftsNeverRunPastMaxTokens() throws {
        let model = FakeModel()
        let config = SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4, numSpeculativeTokens: 8)
        let core = try EngineCore(model: model, config: config, proposer: ScriptedProposer(model: model, numDrafts: 8))
        try core.addRequest(makeRequest("r", makePrompt(5, seed: 4), makeParams(maxTokens: 6)))
        var result = RunResult()
        try runToCompletion(core, into: &result)
        XCTAssertEqual(result.tokens["r"], model.referenceGreedy(prompt: makePrompt(5, seed: 4), maxTokens: 6))
        XCTAssertEqual(result.finish["r"], .length)
    }
}

