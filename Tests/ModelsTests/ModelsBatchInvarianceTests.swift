import Models
import XCTest

/// A sequence's logits must not depend on what else shares its step or how its prompt is chunked.
final class ModelsBatchInvarianceTests: XCTestCase {
    static let tolerance: Float = 1e-5
    let blockSize = 4

    func checkInvariance(fixture name: String) throws {
        let folder = TestPaths.fixture(name)
        let model = try loadLlama(.huggingFaceFolder(folder))
        let sequence = try ReferenceLogits.load(folder).token_ids
        try model.allocateKVCache(numBlocks: 24, blockSize: blockSize)
        var batch = ForwardBatch()

        // Alone, the whole sequence in one step.
        let mainBlocks: [Int32] = [17, 3, 22, 9]
        makeBatch([SequenceChunk(blocks: mainBlocks, start: 0, tokens: sequence, allLogits: true)],
                  blockSize: blockSize, into: &batch)
        let alone = try runStep(model, batch)

        // Chunked 5 + 1 + 7 + 3, each chunk sharing its step with another prefill and a decode
        // that sit at different positions, in different orders.
        let otherPrompt: [Int32] = [1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50]
        let otherBlocks: [Int32] = [5, 14, 0]
        let decoderBlocks: [Int32] = [20, 11, 7, 2, 13]
        makeBatch([SequenceChunk(blocks: decoderBlocks, start: 0, tokens: Array(sequence.reversed()).dropLast(2).map { $0 }, allLogits: false)],
                  blockSize: blockSize, into: &batch)
        _ = try runStep(model, batch)
        var decoderPosition = sequence.count - 2

        var chunked: [[Float]] = []
        var start = 0
        var otherStart = 0
        for (step, length) in [5, 1, 7, 3].enumerated() {
            let mine = SequenceChunk(blocks: mainBlocks, start: start, tokens: Array(sequence[start ..< start + length]), allLogits: true)
            let otherLength = min(3 + step, otherPrompt.count - otherStart)
            let other = SequenceChunk(blocks: otherBlocks, start: otherStart,
                                      tokens: Array(otherPrompt[otherStart ..< otherStart + otherLength]), allLogits: false)
            let decode = SequenceChunk(blocks: decoderBlocks, start: decoderPosition, tokens: [Int32(60 + step)], allLogits: false)
            var chunks = step % 2 == 0 ? [other, mine, decode] : [decode, mine, other]
            chunks.removeAll { $0.tokens.isEmpty }
            makeBatch(chunks, blockSize: blockSize, into: &batch)
            let logits = try runStep(model, batch)
            let mineIndex = chunks.firstIndex { $0.blocks == mainBlocks }!
            // Logits come back in row order: one row for each other chunk, `length` rows for mine.
            chunked += logits[mineIndex ..< mineIndex + length]
            start += length
            otherStart += otherLength
            decoderPosition += 1
        }
        XCTAssertEqual(chunked.count, alone.count)
        let error = relativeError(chunked, alone)
        XCTAssertLessThan(error, Self.tolerance, "\(name): chunked + mixed vs alone, relative error \(error)")
    }

    func testLlamaLogitsIndependentOfBatchAndChunking() throws { try checkInvariance(fixture: "llama_untied") }
    func testQwen3LogitsIndependentOfBatchAndChunking() throws { try checkInvariance(fixture: "qwen3") }

    func testRejectsBadBatchesWithClearErrors() throws {
        let model = try loadLlama(.huggingFaceFolder(TestPaths.fixture("llama_tied")))
        var batch = ForwardBatch()
        makeBatch([SequenceChunk(blocks: [0], start: 0, tokens: [1, 2], allLogits: true)], blockSize: blockSize, into: &batch)
        var logits = [Float](repeating: 0, count: 2 * model.spec.vocabSize)
        XCTAssertThrowsError(try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }) {
            XCTAssertEqual($0 as? ModelError, .kvCacheNotAllocated)
        }
        try model.allocateKVCache(numBlocks: 2, blockSize: blockSize)
        var bad = batch
        bad.tokenIds[1] = Int32(model.spec.vocabSize)
        XCTAssertThrowsError(try logits.withUnsafeMutableBufferPointer { try model.forward(bad, logits: $0) }) {
            XCTAssertTrue("\($0)".contains("outside the vocabulary"), "\($0)")
        }
        bad = batch
        bad.blockTables[0] = 2
        XCTAssertThrowsError(try logits.withUnsafeMutableBufferPointer { try model.forward(bad, logits: $0) }) {
            XCTAssertTrue("\($0)".contains("block id 2"), "\($0)")
        }
        bad = batch
        bad.seqLens[0] = 1
        XCTAssertThrowsError(try logits.withUnsafeMutableBufferPointer { try model.forward(bad, logits: $0) })
        var small = [Float](repeating: 0, count: model.spec.vocabSize)
        XCTAssertThrowsError(try small.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }) {
            XCTAssertEqual($0 as? ModelError, .logitsBufferTooSmall(needed: 2 * model.spec.vocabSize, got: model.spec.vocabSize))
        }
        XCTAssertNoThrow(try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) })
    }
}
