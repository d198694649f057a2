import AllocationCounter
import ArgumentParser
import Backend
import Foundation
import Models
import Weights

/// Raw forward-pass speed of the model runtime (prefill and decode), no scheduler or HTTP.
struct BenchForwardCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward", abstract: "Prefill/decode speed of the model runtime.",
        discussion: """
        For each batch size B: prefill of B prompts of --prompt-len random tokens in one step, then \
        --decode-len steps of B sequences decoding together. Weights are touched once before timing. \
        On Linux (glibc) it also counts heap allocations in the decode loop: 0 once warmed up.
        """)

    @Option(help: "Model folder or .gguf file (default: SmolLM2-135M-Instruct).") var model: String?
    @Option(help: "Kernel threads (0: one per core).") var threads: Int = 0
    @Option(name: .customLong("prompt-len"), help: "Tokens per prompt.") var promptLength: Int = 512
    @Option(name: .customLong("decode-len"), help: "Decode steps.") var decodeLength: Int = 128
    @Option(help: "Comma-separated batch sizes.") var batch: String = "1,8"

    func validate() throws {
        guard promptLength > 0, decodeLength > 0 else { throw ValidationError("--prompt-len and --decode-len must be positive") }
        guard threads >= 0 else { throw ValidationError("--threads must be >= 0") }
        guard !batchSizes.isEmpty, batchSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--batch must be a comma-separated list of positive integers, got '\(batch)'")
        }
    }

    var batchSizes: [Int] { batch.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() async throws {
        CPUKernels.initialize(threads: threads)
        let location = try ModelLocator.resolve(model)
        let loadStart = Date()
        let model = try ModelLoader.load(location)
        let spec = model.spec
        let kvHeads = Set(spec.layers.map(\.numKVHeads)).sorted().map(String.init).joined(separator: "/")
        print("model \(location.path)")
        print("  \(spec.architecture): layers \(spec.numLayers), kv heads \(kvHeads), vocab \(spec.vocabSize); loaded in \(String(format: "%.2f", Date().timeIntervalSince(loadStart))) s")
        print("  kernels: \(CPUKernels.activeISA), \(CPUKernels.threadCount) threads")
        let runner = ForwardBenchRunner(model: model, promptLength: promptLength, decodeLength: decodeLength)
        try runner.warmUp()
        print("")
        print("batch | prefill tokens | prefill s | prefill tok/s | decode tokens | decode s | decode tok/s")
        print("----- | -------------- | --------- | ------------- | ------------- | -------- | ------------")
        var allocationLines: [String] = []
        for size in batchSizes {
            let result = try runner.measure(batchSize: size)
            print(String(format: "%5d | %14d | %9.3f | %13.1f | %13d | %8.3f | %12.1f",
                         size, result.prefillTokens, result.prefillSeconds, Double(result.prefillTokens) / result.prefillSeconds,
                         result.decodeTokens, result.decodeSeconds, Double(result.decodeTokens) / result.decodeSeconds))
            if let allocations = result.decodeAllocations {
                let perStep = String(format: "%.2f", Double(allocations) / Double(decodeLength))
                allocationLines.append("batch \(size): heap allocations per decode step: \(perStep) (\(allocations) in \(decodeLength) steps)")
            }
        }
        print("")
        if allocationLines.isEmpty {
            print("heap allocations per decode step: not measured (needs Linux with glibc)")
        } else {
            allocationLines.forEach { print($0) }
        }
    }
}

/// Drives the model (any registered family) directly with engine-shaped batches.
struct ForwardBenchRunner {
    let model: any CausalLanguageModel
    let promptLength: Int
    let decodeLength: Int
    let blockSize = 16

    struct Result {
        var prefillTokens: Int, prefillSeconds: Double, decodeTokens: Int, decodeSeconds: Double
        /// Heap allocations over the whole decode loop (model forward, greedy pick and batch update);
        /// nil where they cannot be counted.
        var decodeAllocations: UInt64?
    }

    /// Deterministic pseudo-random token ids (no tokenizer needed).
    func tokens(count: Int, seed: UInt64) -> [Int32] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32(truncatingIfNeeded: (state >> 33) % UInt64(model.spec.vocabSize))
        }
    }

    /// Pages the mmapped weights in so the first timed step does not pay for disk reads.
    func warmUp() throws {
        try model.allocateKVCache(numBlocks: 4, blockSize: blockSize)
        var batch = ForwardBatch()
        fill(&batch, sequences: [(blocks: [0, 1, 2, 3], start: 0, tokens: tokens(count: 32, seed: 99))])
        var logits = [Float](repeating: 0, count: model.spec.vocabSize)
        try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }
    }

    func measure(batchSize: Int) throws -> Result {
        let blocksPerSequence = (promptLength + decodeLength + blockSize - 1) / blockSize
        try model.allocateKVCache(numBlocks: batchSize * blocksPerSequence, blockSize: blockSize)
        let blockTables = (0..<batchSize).map { sequence in
            (0..<blocksPerSequence).map { Int32($0 * batchSize + sequence) }  // interleaved, like a busy cache
        }
        var logits = [Float](repeating: 0, count: batchSize * model.spec.vocabSize)
        var batch = ForwardBatch()
        fill(&batch, sequences: (0..<batchSize).map {
            (blocks: blockTables[$0], start: 0, tokens: tokens(count: promptLength, seed: UInt64($0)))
        })
        let prefillStart = DispatchTime.now()
        try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }
        let prefillSeconds = seconds(since: prefillStart)

        // One row per sequence; each step rewrites the rows in place, as the engine does, so the loop
        // itself allocates nothing and the count below is the model's.
        fill(&batch, sequences: (0..<batchSize).map { (blocks: blockTables[$0], start: promptLength, tokens: [0]) })
        let counting = vk_alloc_counter_supported() != 0
        if counting { vk_alloc_counting_begin() }
        let decodeStart = DispatchTime.now()
        for step in 0..<decodeLength {
            let position = promptLength + step
            for sequence in 0..<batchSize {
                batch.tokenIds[sequence] = greedy(logits, row: sequence)
                batch.positions[sequence] = Int32(position)
                batch.slotMapping[sequence] = blockTables[sequence][position / blockSize] * Int32(blockSize)
                    + Int32(position % blockSize)
                batch.seqLens[sequence] = Int32(position + 1)
            }
            do {
                try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }
            } catch {
                if counting { _ = vk_alloc_counting_end() }
                throw error
            }
        }
        let decodeSeconds = seconds(since: decodeStart)
        let allocations = counting ? vk_alloc_counting_end() : nil
        return Result(prefillTokens: batchSize * promptLength, prefillSeconds: prefillSeconds,
                      decodeTokens: batchSize * decodeLength, decodeSeconds: decodeSeconds,
                      decodeAllocations: allocations)
    }

    private func greedy(_ logits: [Float], row: Int) -> Int32 {
        let vocab = model.spec.vocabSize
        var best = row * vocab
        for index in row * vocab ..< (row + 1) * vocab where logits[index] > logits[best] { best = index }
        return Int32(best - row * vocab)
    }

    private func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// One logits row per sequence (its last token), as the engine asks for.
    private func fill(_ batch: inout ForwardBatch, sequences: [(blocks: [Int32], start: Int, tokens: [Int32])]) {
        batch.reset()
        batch.maxBlocksPerSeq = sequences.map(\.blocks.count).max() ?? 0
        for sequence in sequences {
            for (offset, token) in sequence.tokens.enumerated() {
                let position = sequence.start + offset
                batch.tokenIds.append(token)
                batch.positions.append(Int32(position))
                batch.slotMapping.append(sequence.blocks[position / blockSize] * Int32(blockSize) + Int32(position % blockSize))
            }
            batch.logitRows.append(Int32(batch.tokenIds.count - 1))
            batch.queryStart.append(Int32(batch.tokenIds.count))
            batch.seqLens.append(Int32(sequence.start + sequence.tokens.count))
            batch.blockTables.append(contentsOf: sequence.blocks)
            batch.blockTables.append(contentsOf: repeatElement(0, count: batch.maxBlocksPerSeq - sequence.blocks.count))
        }
    }
}
