import Foundation
import Models
import XCTest

/// stories260K (a real trained Llama) against llama2.c's greedy output.
final class ModelsStoriesGoldenTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable {
            var prompt: String
            /// Total positions run.c processes: prompt tokens (BOS included) plus generated ones, minus one.
            var steps: Int
            var prompt_ids: [Int32]
            var generated_ids: [Int32]
            var logits_first_positions: [[Float]]?
        }
        var cases: [Case]
    }

    func loadFixtures() throws -> (LlamaModel, Golden) {
        let folder = try TestPaths.requireSharedAsset("stories260K-hf")
        let goldenPath = try TestPaths.requireSharedAsset("llama2c/stories260K_golden.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: URL(fileURLWithPath: goldenPath)))
        return (try loadLlama(.huggingFaceFolder(folder)), golden)
    }

    func testGreedyIdsMatchLlama2c() throws {
        let (model, golden) = try loadFixtures()
        let blockSize = 16
        try model.allocateKVCache(numBlocks: 40, blockSize: blockSize)
        var batch = ForwardBatch()
        for (caseIndex, test) in golden.cases.enumerated() {
            // Blocks deliberately scattered and reversed so block-table indexing is exercised.
            let blocks = (0..<20).map { Int32(39 - 2 * $0) }
            let wanted = test.steps - test.prompt_ids.count + 1
            XCTAssertEqual(wanted, test.generated_ids.count, "case \(caseIndex): steps vs generated count")
            makeBatch([SequenceChunk(blocks: blocks, start: 0, tokens: test.prompt_ids, allLogits: false)],
                      blockSize: blockSize, into: &batch)
            var next = Int32(argmax(try runStep(model, batch)[0]))
            var generated: [Int32] = [next]
            while generated.count < wanted {
                let position = test.prompt_ids.count + generated.count - 1
                makeBatch([SequenceChunk(blocks: blocks, start: position, tokens: [next], allLogits: false)],
                          blockSize: blockSize, into: &batch)
                next = Int32(argmax(try runStep(model, batch)[0]))
                generated.append(next)
            }
            XCTAssertEqual(generated, test.generated_ids, "case \(caseIndex) (\"\(test.prompt)\")")
        }
    }

    func testFirstPositionLogitsMatchLlama2c() throws {
        let (model, golden) = try loadFixtures()
        try model.allocateKVCache(numBlocks: 4, blockSize: 8)
        var batch = ForwardBatch()
        for (caseIndex, test) in golden.cases.enumerated() {
            guard let reference = test.logits_first_positions else { continue }
            let tokens = Array((test.prompt_ids + test.generated_ids).prefix(reference.count))
            makeBatch([SequenceChunk(blocks: [3, 1], start: 0, tokens: tokens, allLogits: true)], blockSize: 8, into: &batch)
            let logits = try runStep(model, batch)
            for (position, (ours, theirs)) in zip(logits, reference).enumerated() {
                let worst = zip(ours, theirs).map { abs($0 - $1) }.max() ?? .infinity
                // The reference is printed with 5 decimals.
                XCTAssertLessThan(worst, 2e-4, "case \(caseIndex) position \(position)")
            }
        }
    }
}
