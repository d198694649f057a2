import AllocationCounter
import Engine
import EngineCore

/// Heap allocations of warmed-up engine decode steps, as `vllm bench latency` reports them.
public struct BenchStepAllocations: Sendable, Equatable {
    /// Decode steps counted (every request decoding, none finishing).
    public var steps: Int
    public var total: UInt64
    public var maxPerStep: UInt64

    public var perStep: Double { steps == 0 ? 0 : Double(total) / Double(steps) }

    public var summary: String {
        String(format: "Heap allocations per decode step: %.2f (engine step, max %d, %d steps)", perStep, Int(maxPerStep), steps)
    }

    /// Whether heap allocations can be counted in this build (Linux with glibc, no sanitizer).
    public static var isSupported: Bool { vk_alloc_counter_supported() != 0 }

    /// Runs `batch` once through `engine` the way `generate` does (final-only outputs, the latency
    /// benchmark's sampling), stepping by hand: after prefill and a few warm-up steps it counts the
    /// heap allocations of each decode step that finishes no request, then runs the rest uncounted.
    /// Nil when counting is unsupported or `outputLength` leaves no step to count.
    public static func measure(engine: LLMEngine, batch: [[Int]], outputLength: Int,
                               warmUpSteps: Int = 3) throws -> BenchStepAllocations? {
        // Prefill leaves one token per request; the step producing the last token finishes them.
        let countable = outputLength - 2 - warmUpSteps
        guard isSupported, countable > 0, !batch.isEmpty else { return nil }
        let params = BenchOffline.samplingParams(outputLength: outputLength)
        let tokensBefore = engine.stats().generationTokens
        var ids: [String] = []
        for (index, prompt) in batch.enumerated() {
            let id = "bench-allocations-\(index)"
            try engine.addRequest(requestId: id, prompt: .tokenIds(prompt), params: params, outputKind: .finalOnly)
            ids.append(id)
        }
        defer { engine.abort(ids) }
        // Prefill may take several steps (chunked); it is over once every request has a token.
        var guardSteps = 0
        while engine.stats().generationTokens - tokensBefore < batch.count * (1 + warmUpSteps) {
            _ = try engine.step()
            guardSteps += 1
            if guardSteps > 10_000 { return nil }
        }
        let stepsLeft = outputLength - 1 - warmUpSteps - 1
        var result = BenchStepAllocations(steps: 0, total: 0, maxPerStep: 0)
        for _ in 0..<stepsLeft {
            vk_alloc_counting_begin()
            let outputs: [RequestOutput]
            do { outputs = try engine.step() } catch { _ = vk_alloc_counting_end(); throw error }
            let count = vk_alloc_counting_end()
            guard outputs.isEmpty else { break }  // a request finished (or was cut short): not a steady step
            result.steps += 1
            result.total += count
            result.maxPerStep = max(result.maxPerStep, count)
        }
        while engine.hasUnfinishedRequests { _ = try engine.step() }
        return result.steps > 0 ? result : nil
    }
}
