// Measures the core's own per-step cost (scheduling, batch building, sampling) with a model that
// only copies precomputed logits. Opt-in: VLLM_CORE_BENCH=1, meant for release builds:
//   VLLM_TARGETS=EngineCoreTests swift build -c release -Xswiftc -enable-testing --scratch-path .build-release --build-tests
//   VLLM_CORE_BENCH=1 VLLM_TARGETS=EngineCoreTests swift test -c release -Xswiftc -enable-testing \
//       --scratch-path .build-release --skip-build --filter EngineCoreOverheadBenchmark

import XCTest
import Foundation
import Models
import EngineCore

private final class CopyingModel: CausalLanguageModel {
    let spec: ModelSpec
    private let table: [Float]

    init(vocabSize: Int) {
        spec = ModelSpec(architecture: "Copy", vocabSize: vocabSize, maxPositionEmbeddings: 1 << 20,
                         numLayers: 1, numKVHeads: 1, headDim: 1)
        var generator = SeededGenerator(seed: 1)
        table = (0..<(vocabSize + 4096)).map { _ in Float(generator.nextUnitDouble() * 12 - 6) }
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize }
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {}

    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        let vocab = spec.vocabSize
        table.withUnsafeBufferPointer { source in
            for (i, row) in batch.logitRows.enumerated() {
                let offset = Int(batch.tokenIds[Int(row)]) % 4096
                UnsafeMutableBufferPointer(rebasing: logits[(i * vocab)..<((i + 1) * vocab)])
                    .update(fromContentsOf: source[offset..<(offset + vocab)])
            }
        }
    }
}

final class EngineCoreOverheadBenchmark: XCTestCase {
    private func measureDecode(vocab: Int, seqs: Int, params: SamplingParams, label: String) throws {
        let config = SchedulerConfig(numBlocks: seqs * 40 + 1, maxModelLen: 1024, blockSize: 16, maxNumSeqs: seqs,
                                     maxNumBatchedTokens: 8192)
        let core = try EngineCore(model: CopyingModel(vocabSize: vocab), config: config)
        for i in 0..<seqs {
            var p = params
            p.maxTokens = 400
            p.ignoreEOS = true
            try core.addRequest(EngineCoreRequest(requestId: "r\(i)", promptTokenIds: (0..<128).map { ($0 * 7 + i) % vocab },
                                                  params: p))
        }
        _ = try core.step()  // prefill
        for _ in 0..<2 { _ = try core.step() }
        let steps = 20
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<steps { _ = try core.step() }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let perStep = elapsed / Double(steps) * 1000
        print(String(format: "[core-bench] %@ vocab=%d seqs=%d: %.3f ms/step, %.2f us/token",
                     label, vocab, seqs, perStep, perStep * 1000 / Double(seqs)))
    }

    func testDecodeOverhead() throws {
        guard ProcessInfo.processInfo.environment["VLLM_CORE_BENCH"] == "1" else {
            throw XCTSkip("set VLLM_CORE_BENCH=1 (release build) to measure core overhead")
        }
        var greedy = SamplingParams()
        greedy.temperature = 0
        var random = SamplingParams()
        random.temperature = 0.8
        random.seed = 7
        var nucleus = random
        nucleus.topP = 0.95
        var topK = random
        topK.topK = 50
        var logprobs = greedy
        logprobs.logprobs = 5
        var penalties = random
        penalties.repetitionPenalty = 1.1
        penalties.presencePenalty = 0.5
        for vocab in [512, 32000] {
            try measureDecode(vocab: vocab, seqs: 64, params: greedy, label: "greedy")
            try measureDecode(vocab: vocab, seqs: 64, params: random, label: "temperature")
            try measureDecode(vocab: vocab, seqs: 64, params: nucleus, label: "top_p=0.95")
            try measureDecode(vocab: vocab, seqs: 64, params: topK, label: "top_k=50")
            try measureDecode(vocab: vocab, seqs: 64, params: logprobs, label: "greedy+logprobs=5")
            try measureDecode(vocab: vocab, seqs: 64, params: penalties, label: "penalties")
        }
    }
}
