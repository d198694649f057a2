import Foundation
import Models
import Weights
import XCTest
@testable import CUDABackend

/// CUDA vs CPU on stories260K: a prefill step then a decode step through the paged cache.
/// Runs only where a driver and a GPU are present (skips with "no CUDA driver found" otherwise).
final class CUDABackendTestsGPUParity: XCTestCase {
    func makeDevice() throws -> CUDADevice {
        let path = CUDABackendTestsRuntime.builtLibrary
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("cuda/build/libvllm_cuda.so not built (run cuda/build.sh)")
        }
        do {
            return try CUDADevice(runtime: try CUDARuntime.load(candidates: [path]))
        } catch CUDAError.noDriver(let message) {
            throw XCTSkip("no CUDA driver found: \(message)")
        } catch CUDAError.noDevice(let message) {
            throw XCTSkip("no CUDA device found: \(message)")
        }
    }

    func storiesFolder() throws -> String {
        let folder = CUDABackendTestsRuntime.repositoryRoot + "/../shared/assets/stories260K-hf"
        guard FileManager.default.fileExists(atPath: folder + "/config.json") else {
            throw XCTSkip("shared assets not found at \(folder)")
        }
        return folder
    }

    func prefill(_ tokens: [Int32]) -> ForwardBatch {
        var batch = ForwardBatch()
        batch.tokenIds = tokens
        batch.positions = tokens.indices.map(Int32.init)
        batch.slotMapping = tokens.indices.map(Int32.init)  // blocks 0, 1, ... in order
        batch.queryStart = [0, Int32(tokens.count)]
        batch.seqLens = [Int32(tokens.count)]
        batch.maxBlocksPerSeq = 4
        batch.blockTables = [0, 1, 2, 3]
        batch.logitRows = tokens.indices.map(Int32.init)
        return batch
    }

    func decode(_ token: Int32, position: Int32) -> ForwardBatch {
        var batch = prefill([token])
        batch.positions = [position]
        batch.slotMapping = [position]
        batch.seqLens = [position + 1]
        return batch
    }

    func testStoriesPrefillAndDecodeMatchCPU() throws {
        let device = try makeDevice()
        let folder = try storiesFolder()
        let cpu = try LlamaModel.loadLlama(ModelLoader.source(for: .huggingFaceFolder(folder)))
        let gpu = try CUDALlamaModel.load(.huggingFaceFolder(folder), device: device)
        try cpu.allocateKVCache(numBlocks: 4, blockSize: 4)
        try gpu.allocateKVCache(numBlocks: 4, blockSize: 4)
        let vocab = cpu.spec.vocabSize
        let prompt: [Int32] = [1, 403, 407, 261, 378, 1172 % Int32(vocab), 9]
        for batch in [prefill(prompt), decode(42, position: Int32(prompt.count))] {
            let count = batch.logitRows.count * vocab
            var expected = [Float](repeating: 0, count: count), actual = expected
            try expected.withUnsafeMutableBufferPointer { try cpu.forward(batch, logits: $0) }
            try actual.withUnsafeMutableBufferPointer { try gpu.forward(batch, logits: $0) }
            let scale = expected.map(abs).max() ?? 1
            let worst = zip(expected, actual).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 0.03 * scale, "bf16 activations should stay within 3% of the logit range")
            for row in 0..<batch.logitRows.count {
                let slice = { (values: [Float]) in Array(values[(row * vocab)..<((row + 1) * vocab)]) }
                let cpuBest = slice(expected).indices.max { slice(expected)[$0] < slice(expected)[$1] }
                let gpuBest = slice(actual).indices.max { slice(actual)[$0] < slice(actual)[$1] }
                XCTAssertEqual(cpuBest, gpuBest, "greedy token differs at row \(row)")
            }
        }
    }

    func testDeviceGreedyMatchesHostArgmax() throws {
        let device = try makeDevice()
        let gpu = try CUDALlamaModel.load(.huggingFaceFolder(try storiesFolder()), device: device)
        try gpu.allocateKVCache(numBlocks: 4, blockSize: 4)
        let batch = prefill([1, 403, 407, 261])
        let vocab = gpu.spec.vocabSize
        var logits = [Float](repeating: 0, count: batch.logitRows.count * vocab)
        try logits.withUnsafeMutableBufferPointer { try gpu.forward(batch, logits: $0) }
        try gpu.allocateKVCache(numBlocks: 4, blockSize: 4)  // same step again from an empty cache
        let greedy = try gpu.forwardGreedy(batch, topK: 5)
        for row in 0..<batch.logitRows.count {
            let values = Array(logits[(row * vocab)..<((row + 1) * vocab)])
            let ranked = values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
            XCTAssertEqual(Int(greedy.tokens[row]), ranked[0])
            XCTAssertEqual(greedy.topIds[(row * 5)..<(row * 5 + 5)].map(Int.init), Array(ranked.prefix(5)))
            let maxValue = values[ranked[0]]
            let logSum = maxValue + log(values.reduce(0) { $0 + exp($1 - maxValue) })
            XCTAssertEqual(greedy.topLogprobs[row * 5], values[ranked[0]] - logSum, accuracy: 1e-3)
        }
    }
}
