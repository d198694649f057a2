import Foundation
import Models
import XCTest

/// Our forward pass against HF transformers on tiny random models (scripts/make_model_fixtures.py).
final class ModelsReferenceLogitsTests: XCTestCase {
    static let tolerance: Float = 1e-4

    /// Prefill of the whole reference sequence in one step, logits at every position.
    func check(_ model: LlamaModel, reference: ReferenceLogits, tolerance: Float = tolerance,
               file: StaticString = #filePath, line: UInt = #line) throws {
        try model.allocateKVCache(numBlocks: 9, blockSize: 4)
        var batch = ForwardBatch()
        makeBatch([SequenceChunk(blocks: [6, 2, 8, 0], start: 0, tokens: reference.token_ids, allLogits: true)],
                  blockSize: 4, into: &batch)
        let logits = try runStep(model, batch)
        XCTAssertEqual(logits.count, reference.logits.count, file: file, line: line)
        let error = relativeError(logits, reference.logits)
        print("reference logits: relative error \(error)")
        XCTAssertLessThan(error, tolerance, "relative error \(error)", file: file, line: line)
    }

    func checkFolder(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let folder = TestPaths.fixture(name)
        let model = try loadLlama(.huggingFaceFolder(folder))
        try check(model, reference: try ReferenceLogits.load(folder), file: file, line: line)
    }

    func checkGGUF(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try loadLlama(.ggufFile(TestPaths.fixture("gguf/\(name).gguf")))
        try check(model, reference: try ReferenceLogits.load(TestPaths.fixture(name)), file: file, line: line)
    }

    func testLlamaUntied() throws { try checkFolder("llama_untied") }
    func testLlamaTied() throws { try checkFolder("llama_tied") }
    func testLlamaRopeScalingLlama3() throws { try checkFolder("llama_rope_llama3") }
    func testLlamaRopeScalingLinear() throws { try checkFolder("llama_rope_linear") }
    func testMistral() throws { try checkFolder("mistral") }
    func testQwen2WithQKVBias() throws { try checkFolder("qwen2") }
    func testQwen3WithQKNormAndWideHeads() throws { try checkFolder("qwen3") }

    func testGGUFLlamaWithPermutedQKUsesInterleavedRope() throws { try checkGGUF("llama_untied") }
    func testGGUFLlamaRopeFreqsTensorMatchesLlama3Scaling() throws { try checkGGUF("llama_rope_llama3") }
    func testGGUFQwen2() throws { try checkGGUF("qwen2") }

    /// Quantized GGUFs against transformers on the dequantized weights. Non-fp32 models keep K/V
    /// in fp16 (relative error ~3e-4 here, ~5e-7 with an fp32 cache), hence the looser bound.
    func checkQuantizedGGUF(_ stem: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let model = try loadLlama(.ggufFile(TestPaths.fixture("gguf/\(stem).gguf")))
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("gguf/\(stem).reference.json"))
        let reference = try JSONDecoder().decode(ReferenceLogits.self, from: data)
        try check(model, reference: reference, tolerance: 2e-2, file: file, line: line)
    }

    func testGGUFQ8_0() throws { try checkQuantizedGGUF("llama_untied_q8_0") }
    func testGGUFQ4_0() throws { try checkQuantizedGGUF("llama_untied_q4_0") }
    func testGGUFQ4_1WithF32Biases() throws { try checkQuantizedGGUF("qwen2_q4_1") }

    func testTiedModelHasNoLMHeadTensorAndUntiedDoes() throws {
        let tied = try LlamaConfig(huggingFaceFolder: TestPaths.fixture("llama_tied"))
        let untied = try LlamaConfig(huggingFaceFolder: TestPaths.fixture("llama_untied"))
        XCTAssertTrue(tied.tieWordEmbeddings)
        XCTAssertFalse(untied.tieWordEmbeddings)
    }

    func testGGUFConfigMatchesHFConfig() throws {
        let hf = try LlamaConfig(huggingFaceFolder: TestPaths.fixture("qwen2"))
        let gguf = try loadLlama(.ggufFile(TestPaths.fixture("gguf/qwen2.gguf"))).config
        XCTAssertEqual(gguf.family, .qwen2)
        XCTAssertEqual(gguf.hiddenSize, hf.hiddenSize)
        XCTAssertEqual(gguf.intermediateSize, hf.intermediateSize)
        XCTAssertEqual(gguf.numLayers, hf.numLayers)
        XCTAssertEqual(gguf.numHeads, hf.numHeads)
        XCTAssertEqual(gguf.numKVHeads, hf.numKVHeads)
        XCTAssertEqual(gguf.headDim, hf.headDim)
        XCTAssertEqual(gguf.vocabSize, hf.vocabSize)
        XCTAssertEqual(gguf.ropeTheta, hf.ropeTheta)
        XCTAssertEqual(gguf.maxPositionEmbeddings, hf.maxPositionEmbeddings)
        XCTAssertEqual(gguf.tieWordEmbeddings, hf.tieWordEmbeddings)
        XCTAssertEqual(gguf.bosTokenId, 1)
        XCTAssertEqual(gguf.eosTokenIds, [2])
        XCTAssertEqual(Float(gguf.rmsNormEps), Float(hf.rmsNormEps))
    }
}
