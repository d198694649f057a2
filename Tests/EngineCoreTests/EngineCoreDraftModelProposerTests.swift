// The draft-model proposer over the fake model: a draft that is the target itself proposes only right
// tokens (every draft accepted, which fails if its own paged KV bookkeeping is off: the fake model
// checks every position it reads back); a draft that is always wrong changes no output; its KV blocks
// come back when requests finish, are aborted or preempted.

import XCTest
import Models
@testable import EngineCore

/// The fake model with its logits rotated by one token: a draft that disagrees with the target.
final class RotatedFakeModel: CausalLanguageModel {
    let inner = FakeModel()
    var spec: ModelSpec { inner.spec }
    func kvCacheBytesPerBlock(blockSize: Int) -> Int { inner.kvCacheBytesPerBlock(blockSize: blockSize) }
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {
        try inner.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize)
    }
    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        try inner.forward(batch, logits: logits)
        let vocab = spec.vocabSize
        for row in 0..<batch.logitRows.count {
            let base = row * vocab
            let first = logits[base]
            for v in 0..<(vocab - 1) { logits[base + v] = logits[base + v + 1] }
            logits[base + vocab - 1] = first
        }
    }
}

final class EngineCoreDraftModelProposerTests: XCTestCase {
    let prompts = (0..<6).map { makePrompt(5 + 7 * $0, seed: UInt64(40 + $0)) }

    func run(draft: (any CausalLanguageModel)?, numBlocks: Int = 128, draftBlocks: Int = 128, k: Int = 3,
             temperature: Double = 0) throws -> (tokens: [String: [Int]], core: EngineCore, proposer: DraftModelProposer?) {
        let proposer = try draft.map { try DraftModelProposer(model: $0, numBlocks: draftBlocks, blockSize: 4) }
        let config = SchedulerConfig(numBlocks: numBlocks, maxModelLen: 128, blockSize: 4, maxNumBatchedTokens: 64,
                                     numSpeculativeTokens: draft == nil ? 0 : k)
        let core = try EngineCore(model: FakeModel(), config: config, proposer: proposer)
        for (index, prompt) in prompts.enumerated() {
            let params = makeParams(maxTokens: 25, temperature: temperature, seed: temperature > 0 ? UInt64(index) : nil)
            try core.addRequest(makeRequest("r\(index)", prompt, params))
        }
        var result = RunResult()
        try runToCompletion(core, into: &result)
        return (result.tokens, core, proposer)
    }

    func testTheTargetAsItsOwnDraftHasEveryDraftAccepted() throws {
        let plain = try run(draft: nil).tokens
        let (tokens, core, proposer) = try run(draft: FakeModel())
        XCTAssertEqual(tokens, plain)
        XCTAssertGreaterThan(core.stats.numDraftTokens, 0)
        XCTAssertEqual(core.stats.numAcceptedTokens, core.stats.numDraftTokens, "a perfect draft is always accepted")
        XCTAssertEqual(proposer?.numBlocksInUse, 0, "draft KV freed as requests finish")
    }

    func testAWrongDraftChangesNoOutputGreedyOrSeeded() throws {
        for temperature in [0.0, 0.9] {
            let plain = try run(draft: nil, temperature: temperature).tokens
            let (tokens, core, proposer) = try run(draft: RotatedFakeModel(), temperature: temperature)
            XCTAssertEqual(tokens, plain, "temperature \(temperature)")
            XCTAssertLessThan(core.stats.numAcceptedTokens, core.stats.numDraftTokens / 4)
            XCTAssertEqual(proposer?.numBlocksInUse, 0)
        }
    }

    func testPreemptionAndAbortKeepOutputsAndFreeDraftBlocks() throws {
        // A target cache too small for all six requests at once: preemption recomputes them.
        let plain = try run(draft: nil).tokens
        let (tokens, core, proposer) = try run(draft: FakeModel(), numBlocks: 24)
        XCTAssertGreaterThan(core.stats.numPreemptions, 0)
        XCTAssertEqual(tokens, plain)
        XCTAssertEqual(proposer?.numBlocksInUse, 0)

        let draftProposer = try DraftModelProposer(model: FakeModel(), numBlocks: 64, blockSize: 4)
        let aborting = try EngineCore(model: FakeModel(),
                                      config: SchedulerConfig(numBlocks: 64, maxModelLen: 128, blockSize: 4,
                                                              numSpeculativeTokens: 3), proposer: draftProposer)
        try aborting.addRequest(makeRequest("a", prompts[3], makeParams(maxTokens: 40)))
        for _ in 0..<4 { _ = try aborting.step() }
        XCTAssertGreaterThan(draftProposer.numBlocksInUse, 0)
        aborting.abortRequests(["a"])
        XCTAssertEqual(draftProposer.numBlocksInUse, 0)
    }

    func testAFullDraftCacheMeansNoDraftsNotFailures() throws {
        let plain = try run(draft: nil).tokens
        let (tokens, core, _) = try run(draft: FakeModel(), draftBlocks: 6)
        XCTAssertEqual(tokens, plain)
        XCTAssertLessThan(core.stats.numDrafts, core.stats.numSteps * prompts.count)
    }
}
