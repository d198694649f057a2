import Foundation
import Models
import Weights
import XCTest

/// The default model (SmolLM2-135M-Instruct, Q4_1 GGUF) against transformers' dequantized fp32 run.
final class ModelsSmolLM2Tests: XCTestCase {
    struct Reference: Decodable {
        struct Case: Decodable {
            var prompt: String
            var prompt_ids: [Int32]
            var generated_ids: [Int32]
            /// Per step, five [token id, logprob] pairs, best first.
            var top5_logprobs: [[[Double]]]
        }
        var cases: [Case]
    }

    func testGreedyTokensAndTop5LogprobsMatchTransformers() throws {
        let path = (ModelLocator.defaultCacheDirectory as NSString).appendingPathComponent(DefaultModel.fileName)
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("default model not cached at \(path) (run `vllm serve` once, or see scripts/make_model_fixtures.py); tests never download")
        }
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("smollm2_q4_1_greedy.json"))
        let reference = try JSONDecoder().decode(Reference.self, from: data)
        let model = try loadLlama(.ggufFile(path))
        XCTAssertEqual(model.config.family, .llama)
        XCTAssertTrue(model.config.tieWordEmbeddings)
        let blockSize = 16
        try model.allocateKVCache(numBlocks: 8, blockSize: blockSize)
        var batch = ForwardBatch()
        let blocks: [Int32] = [6, 1, 4, 7]
        for test in reference.cases {
            var generated: [Int32] = []
            var worst = 0.0
            var tokens = test.prompt_ids
            var start = 0
            for (step, expected) in test.top5_logprobs.enumerated() {
                makeBatch([SequenceChunk(blocks: blocks, start: start, tokens: tokens, allLogits: false)],
                          blockSize: blockSize, into: &batch)
                let logits = try runStep(model, batch)[0]
                let logprobs = logSoftmax(logits)
                for pair in expected {
                    worst = max(worst, abs(logprobs[Int(pair[0])] - pair[1]))
                }
                let next = Int32(argmax(logits))
                generated.append(next)
                // Follow the reference's tokens so one early near-tie cannot derail the rest.
                start += tokens.count
                tokens = [test.generated_ids[step]]
            }
            XCTAssertEqual(generated, test.generated_ids, "greedy tokens for \(test.prompt.debugDescription)")
            XCTAssertLessThan(worst, 1e-2, "top-5 logprob difference for \(test.prompt.debugDescription)")
        }
    }

    func logSoftmax(_ logits: [Float]) -> [Double] {
        let peak = Double(logits.max() ?? 0)
        let total = logits.reduce(0.0) { $0 + exp(Double($1) - peak) }
        let logTotal = log(total) + peak
        return logits.map { Double($0) - logTotal }
    }
}
