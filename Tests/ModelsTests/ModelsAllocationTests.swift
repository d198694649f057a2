import AllocationCounter
import Models
import XCTest

/// Once warmed up, a decode step of the model runtime must not touch the heap: every buffer it needs
/// (activations, kernel scratch, KV cache) is sized by earlier steps and reused.
final class ModelsAllocationTests: XCTestCase {
    let blockSize = 4
    let sequences = 3
    let blocksPerSequence = 8

    /// Prefills `sequences` prompts, decodes a few warm-up steps, then counts heap allocations over
    /// `measuredSteps` more decode steps (the batch is updated in place, as the engine does).
    func decodeAllocations(_ model: LlamaModel, measuredSteps: Int = 8) throws -> UInt64 {
        try XCTSkipUnless(vk_alloc_counter_supported() != 0, "heap allocation counting needs Linux with glibc")
        try model.allocateKVCache(numBlocks: sequences * blocksPerSequence, blockSize: blockSize)
        let vocab = model.spec.vocabSize
        let prompt: [Int32] = [1, 5, 9, 13, 2]
        let tables = (0..<sequences).map { s in (0..<blocksPerSequence).map { Int32($0 * sequences + s) } }
        var batch = ForwardBatch()
        makeBatch(tables.map { SequenceChunk(blocks: $0, start: 0, tokens: prompt, allLogits: false) },
                  blockSize: blockSize, into: &batch)
        let logits = UnsafeMutableBufferPointer<Float>.allocate(capacity: sequences * vocab)
        defer { logits.deallocate() }
        // The first step sizes the activation buffers: seeing it allocate shows the counter covers the
        // model's code path, so the zero below means something.
        vk_alloc_counting_begin()
        do { try model.forward(batch, logits: logits) } catch { _ = vk_alloc_counting_end(); throw error }
        XCTAssertGreaterThan(vk_alloc_counting_end(), 0, "the first (prefill) step must size its buffers")
        makeBatch(tables.map { SequenceChunk(blocks: $0, start: prompt.count, tokens: [0], allLogits: false) },
                  blockSize: blockSize, into: &batch)

        let warmUpSteps = 3
        for step in 0 ..< warmUpSteps + measuredSteps {
            if step == warmUpSteps { vk_alloc_counting_begin() }
            let position = prompt.count + step
            for s in 0..<sequences {
                batch.tokenIds[s] = greedyToken(logits, row: s, vocab: vocab)
                batch.positions[s] = Int32(position)
                batch.slotMapping[s] = tables[s][position / blockSize] * Int32(blockSize) + Int32(position % blockSize)
                batch.seqLens[s] = Int32(position + 1)
            }
            do { try model.forward(batch, logits: logits) } catch { _ = vk_alloc_counting_end(); throw error }
        }
        return vk_alloc_counting_end()
    }

    private func greedyToken(_ logits: UnsafeMutableBufferPointer<Float>, row: Int, vocab: Int) -> Int32 {
        var best = row * vocab
        for index in row * vocab ..< (row + 1) * vocab where logits[index] > logits[best] { best = index }
        return Int32(best - row * vocab)
    }

    func testFixtureDecodeStepAllocatesNothing() throws {
        // Plain, tied, biased (qwen2) and q/k-normed (qwen3) layers.
        for fixture in ["llama_untied", "llama_tied", "qwen2", "qwen3"] {
            let model = try loadLlama(.huggingFaceFolder(TestPaths.fixture(fixture)))
            let allocations = try decodeAllocations(model)
            XCTAssertEqual(allocations, 0, "\(fixture): heap allocations over 8 warmed-up decode steps")
        }
    }

    func testQuantizedGGUFDecodeStepAllocatesNothing() throws {
        for file in ["llama_untied_q4_0", "llama_untied_q8_0", "qwen2_q4_1"] {
            let model = try loadLlama(.ggufFile(TestPaths.fixture("gguf/\(file).gguf")))
            let allocations = try decodeAllocations(model)
            XCTAssertEqual(allocations, 0, "\(file): heap allocations over 8 warmed-up decode steps")
        }
    }

    func testStoriesDecodeStepAllocatesNothing() throws {
        let folder = try TestPaths.requireSharedAsset("stories260K-hf")
        let model = try loadLlama(.huggingFaceFolder(folder))
        let allocations = try decodeAllocations(model)
        XCTAssertEqual(allocations, 0, "stories260K: heap allocations over 8 warmed-up decode steps")
    }
}
