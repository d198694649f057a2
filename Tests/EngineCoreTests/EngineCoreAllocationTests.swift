import AllocationCounter
import Foundation
import Models
import XCTest
@testable import EngineCore

/// Heap allocations of a warmed-up decode step of the engine core (schedule, batch, forward, sample,
/// update), run on a real (tiny, fixture) Llama so the model side is measured too.
final class EngineCoreAllocationTests: XCTestCase {
    static let fixture: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("ModelsTests/Fixtures/llama_untied").path

    /// Steps `requests` through prefill and `warmUpSteps` decode steps, then returns the allocations of
    /// each of the next `measuredSteps` steps (each must still be a decode step of every request).
    func decodeStepAllocations(_ requests: [EngineCoreRequest], warmUpSteps: Int = 4,
                               measuredSteps: Int = 8) throws -> [UInt64] {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        let model = try ModelLoader.load(.huggingFaceFolder(Self.fixture))
        let core = try EngineCore(model: model, config: SchedulerConfig(numBlocks: 64, maxModelLen: 256, blockSize: 4))
        for request in requests { try core.addRequest(request) }
        var outputs = try core.step()  // prefill
        for _ in 0..<warmUpSteps { outputs = try core.step() }
        var counts: [UInt64] = []
        counts.reserveCapacity(measuredSteps)
        for _ in 0..<measuredSteps {
            outputs = []
            vk_alloc_counting_begin()
            do { outputs = try core.step() } catch { _ = vk_alloc_counting_end(); throw error }
            counts.append(vk_alloc_counting_end())
            XCTAssertEqual(outputs.count, requests.count, "every request decodes one token per measured step")
            XCTAssertTrue(outputs.allSatisfy { $0.finishReason == nil }, "no request may finish while measured")
        }
        return counts
    }

    func requests(_ count: Int, configure: (Int, inout SamplingParams) -> Void) -> [EngineCoreRequest] {
        (0..<count).map { index in
            var params = SamplingParams()
            params.maxTokens = 64
            params.ignoreEOS = true
            configure(index, &params)
            return EngineCoreRequest(requestId: "request-\(index)", promptTokenIds: makePrompt(5 + index, seed: UInt64(index)),
                                     params: params, eosTokenIds: [2])
        }
    }

    func testGreedyDecodeStepAllocatesNothing() throws {
        let counts = try decodeStepAllocations(requests(4) { _, params in params.temperature = 0 })
        XCTAssertEqual(counts, Array(repeating: 0, count: counts.count), "greedy")
    }

    func testSampledDecodeStepAllocatesNothing() throws {
        let counts = try decodeStepAllocations(requests(4) { index, params in
            params.temperature = 0.8
            params.topP = index % 2 == 0 ? 0.9 : 1
            params.topK = index == 1 ? 20 : 0
            params.minP = index == 2 ? 0.05 : 0
            params.seed = index == 3 ? 7 : nil
        })
        XCTAssertEqual(counts, Array(repeating: 0, count: counts.count), "sampled")
    }

    func testPenalizedDecodeStepAllocatesNothing() throws {
        let counts = try decodeStepAllocations(requests(4) { index, params in
            params.temperature = index % 2 == 0 ? 0 : 0.7
            params.repetitionPenalty = index < 2 ? 1.2 : 1
            params.frequencyPenalty = index >= 2 ? 0.5 : 0
            params.presencePenalty = index == 3 ? 0.3 : 0
            params.logitBias = index == 0 ? [5: 2.0] : [:]
        })
        XCTAssertEqual(counts, Array(repeating: 0, count: counts.count), "penalties and logit bias")
    }

    /// A grammar-style mask processor on every request (one forced token per step) keeps the step
    /// allocation-free, and the forced tokens are what comes out.
    func testMaskedDecodeStepAllocatesNothing() throws {
        let forced = (0..<40).map { 3 + ($0 * 7) % 50 }
        var processors: [ForcedSequenceProcessor] = []
        let masked = requests(4) { index, params in params.temperature = index % 2 == 0 ? 0 : 0.9 }.map { request in
            var request = request
            let processor = ForcedSequenceProcessor(sequence: forced, end: 2, vocabSize: 128)
            processors.append(processor)
            request.logitsProcessors = [processor]
            return request
        }
        let counts = try decodeStepAllocations(masked)
        XCTAssertEqual(counts, Array(repeating: 0, count: counts.count), "masked")
        XCTAssertTrue(processors.allSatisfy { $0.calls == 13 }, "prefill + 4 warm-up + 8 measured steps")
    }

    /// Logprobs are returned as arrays: one for the step's entries, one for each non-empty top list.
    func testLogprobsDecodeStepAllocations() throws {
        let counts = try decodeStepAllocations(requests(4) { index, params in
            params.temperature = 0
            params.logprobs = index == 0 ? 0 : 5
        })
        XCTAssertEqual(counts, Array(repeating: 1 + 3 * 2, count: counts.count), "logprobs 0 for one request, 5 for three")
    }

    /// A step that has to grow the batch's buffers does allocate: the zeros above are not an artifact.
    func testCounterSeesTheCoreGrowing() throws {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        let model = try ModelLoader.load(.huggingFaceFolder(Self.fixture))
        let core = try EngineCore(model: model, config: SchedulerConfig(numBlocks: 64, maxModelLen: 256, blockSize: 4))
        try core.addRequest(requests(1) { _, params in params.temperature = 0 }[0])
        vk_alloc_counting_begin()
        let outputs = try core.step()
        let count = vk_alloc_counting_end()
        XCTAssertEqual(outputs.count, 1)
        XCTAssertGreaterThan(count, 0, "the first step sizes the batch, logits and output buffers")
    }
}
