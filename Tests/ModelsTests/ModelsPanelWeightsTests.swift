import CKernels
import Foundation
import Models
import Weights
import XCTest

/// BF16 and F16 weights are repacked at load into tiles of 16 outputs (VK_BF16_PANELS, VK_F16_PANELS).
/// A model stored so must give the logits of the same values stored as F32, and be batch invariant bit
/// for bit.
final class ModelsPanelWeightsTests: XCTestCase {
    let blockSize = 4

    /// Writes the fixture's matrices as `half` (BF16 or F16), or as F32 holding the same rounded values.
    func rewrite(_ source: GGUFFile, half: WeightDType, asF32: Bool, to path: String) throws {
        var writer = try GGUFWriter(alignment: source.alignment)
        for key in source.metadataKeys { writer.set(key, source.metadata[key]!) }
        for name in source.tensorNames {
            let tensor = try source.tensor(name)
            guard tensor.dtype == .f32 else { throw XCTSkip("fixture tensor \(name) is \(tensor.dtype.rawValue), not f32") }
            let values = Array(UnsafeBufferPointer(start: tensor.data.assumingMemoryBound(to: Float.self),
                                                   count: tensor.elementCount))
            guard tensor.shape.count == 2 else {
                try writer.addTensor(name: name, dtype: .f32, shape: tensor.shape, bytes: values.withUnsafeBytes { Array($0) })
                continue
            }
            let halves = values.map { half == .bf16 ? vk_f32_to_bf16($0) : vk_f32_to_f16($0) }
            if !asF32 {
                try writer.addTensor(name: name, dtype: half, shape: tensor.shape, bytes: halves.withUnsafeBytes { Array($0) })
            } else {
                let rounded = halves.map { half == .bf16 ? vk_bf16_to_f32($0) : vk_f16_to_f32($0) }
                try writer.addTensor(name: name, dtype: .f32, shape: tensor.shape, bytes: rounded.withUnsafeBytes { Array($0) })
            }
        }
        try writer.write(to: path)
    }

    func models(_ half: WeightDType) throws -> (half: LlamaModel, f32: LlamaModel) {
        let source = try GGUFFile(path: TestPaths.fixture("gguf/llama_untied.gguf"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("bf16-panels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let halfPath = dir.appendingPathComponent("half.gguf").path, f32Path = dir.appendingPathComponent("f32.gguf").path
        try rewrite(source, half: half, asF32: false, to: halfPath)
        try rewrite(source, half: half, asF32: true, to: f32Path)
        return (try loadLlama(.ggufFile(halfPath)), try loadLlama(.ggufFile(f32Path)))
    }

    /// 140 tokens: alone, the prompt's matmuls take the panel GEMM (128 rows and more); in chunks, the
    /// in-register gemv.
    let prompt: [Int32] = (0..<140).map { Int32(3 + ($0 * 37 + 11) % 125) }

    /// F32 weights bring an F32 KV cache and 16-bit ones an F16 cache (rounding K and V to 11 bits):
    /// that, not the matmuls (tested to 2e-5 in KernelsPanelTests), sets the tolerance.
    func testMatchesTheSameValuesStoredAsF32() throws {
        for half in [WeightDType.bf16, .f16] {
            let (panels, f32) = try models(half)
            let error = relativeError(try logitsAlone(panels), try logitsAlone(f32))
            XCTAssertLessThan(error, 1e-3, "\(half.rawValue) panels vs F32 rows of the same values: relative error \(error)")
        }
    }

    func logitsAlone(_ model: LlamaModel) throws -> [[Float]] {
        try model.allocateKVCache(numBlocks: 40, blockSize: blockSize)
        var batch = ForwardBatch()
        makeBatch([SequenceChunk(blocks: (0..<35).map { Int32(($0 * 13) % 35) }, start: 0, tokens: prompt, allLogits: true)],
                  blockSize: blockSize, into: &batch)
        return try runStep(model, batch)
    }

    /// Prefill in one step, in chunks beside other sequences, and as decode steps: the same bits.
    func testRowsBitIdenticalAloneChunkedAndDecoded() throws {
        for half in [WeightDType.bf16, .f16] { try checkBitIdentical(try models(half).half, half.rawValue) }
    }

    func checkBitIdentical(_ model: LlamaModel, _ name: String) throws {
        try model.allocateKVCache(numBlocks: 48, blockSize: blockSize)
        var batch = ForwardBatch()
        let mine = (0..<35).map { Int32(($0 * 13) % 35) }
        makeBatch([SequenceChunk(blocks: mine, start: 0, tokens: prompt, allLogits: true)], blockSize: blockSize, into: &batch)
        let alone = try runStep(model, batch)

        let other: [Int32] = [40, 36, 43, 38]
        let otherPrompt: [Int32] = [1, 40, 41, 42, 43, 44, 45, 46, 47, 48]
        XCTAssertEqual([6, 1, 1, 4, 1, 2, 125].reduce(0, +), prompt.count)
        var pieces: [[Float]] = []
        var start = 0
        for (step, length) in [6, 1, 1, 4, 1, 2, 125].enumerated() {
            let chunk = SequenceChunk(blocks: mine, start: start, tokens: Array(prompt[start ..< start + length]), allLogits: true)
            let neighbour = SequenceChunk(blocks: other, start: step, tokens: [otherPrompt[step]], allLogits: false)
            let chunks = step % 2 == 0 ? [chunk, neighbour] : [neighbour, chunk]
            makeBatch(chunks, blockSize: blockSize, into: &batch)
            let logits = try runStep(model, batch)
            pieces += step % 2 == 0 ? logits[0 ..< length] : logits[1 ... length]
            start += length
        }
        XCTAssertEqual(pieces.count, alone.count)
        for (index, (got, want)) in zip(pieces, alone).enumerated() {
            XCTAssertEqual(got, want, "\(name) position \(index): logits differ from the sequence alone")
        }
    }
}
