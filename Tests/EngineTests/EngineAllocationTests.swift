import AllocationCounter
import Engine
import EngineCore
import Foundation
import XCTest

/// Heap allocations of a warmed-up `LLMEngine.step()` with several requests decoding together.
final class EngineAllocationTests: XCTestCase {
    typealias Support = EngineTestSupport

    func decodeStepAllocations(_ engine: LLMEngine, requests: Int, params: (Int) -> SamplingParams,
                               outputKind: RequestOutputKind, warmUpSteps: Int = 4,
                               measuredSteps: Int = 8) throws -> [UInt64] {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        for index in 0..<requests {
            try engine.addRequest(requestId: "r\(index)", prompt: .tokenIds(Array(repeating: 98, count: 3 + index) + [99]),
                                  params: params(index), outputKind: outputKind)
        }
        var outputs = try engine.step()
        for _ in 0..<warmUpSteps { outputs = try engine.step() }
        var counts: [UInt64] = []
        counts.reserveCapacity(measuredSteps)
        for _ in 0..<measuredSteps {
            outputs = []
            vk_alloc_counting_begin()
            do { outputs = try engine.step() } catch { _ = vk_alloc_counting_end(); throw error }
            counts.append(vk_alloc_counting_end())
            XCTAssertTrue(outputs.allSatisfy { !$0.finished }, "no request may finish while measured")
        }
        XCTAssertEqual(engine.numUnfinishedRequests, requests)
        return counts
    }

    func params(maxTokens: Int, stop: [String] = []) -> SamplingParams {
        var params = Support.greedy(maxTokens: maxTokens)
        params.ignoreEOS = true
        params.stop = stop
        return params
    }

    func testFakeModelDecodeStepAllocations() throws {
        for kind in [RequestOutputKind.finalOnly, .delta, .cumulative] {
            let engine = try Support.engine(.script(Support.script))
            let counts = try decodeStepAllocations(engine, requests: 4, params: { _ in self.params(maxTokens: 64) },
                                                   outputKind: kind)
            print("engine fake \(kind) decode step allocations: \(counts)")
            let engine2 = try Support.engine(.script(Support.script))
            let counts2 = try decodeStepAllocations(engine2, requests: 4, params: { _ in self.params(maxTokens: 64, stop: ["zzz"]) },
                                                   outputKind: kind)
            print("engine fake \(kind) stop-string decode step allocations: \(counts2)")
        }
    }
}
