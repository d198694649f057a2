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

    func testGreedyDecodeStepAllocations() throws {
        let counts = try decodeStepAllocations(requests(4) { _, params in params.temperature = 0 })
        print("engine core greedy decode step allocations: \(counts)")
    }

    func testSampledDecodeStepAllocations() throws {
        let counts = try decodeStepAllocations(requests(4) { index, params in
            params.temperature = 0.8
            params.topP = index % 2 == 0 ? 0.9 : 1
            params.topK = index == 1 ? 20 : 0
            params.seed = index == 3 ? 7 : nil
        })
        print("engine core sampled decode step allocations: \(counts)")
    }
}
