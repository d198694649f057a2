import Foundation
import Models
import Weights
import XCTest

/// Paths and helpers shared by the model tests.
enum TestPaths {
    /// Repository root, from Tests/ModelsTests/<file>.swift.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = repoRoot.appendingPathComponent("Tests/ModelsTests/Fixtures")
    static let sharedAssets = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/assets")

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    static func requireSharedAsset(_ relative: String) throws -> String {
        let path = sharedAssets.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("shared asset \(relative) not found at \(path) (../shared/assets beside the repo root)")
        }
        return path
    }
}

/// One sequence's part in a step: rows for positions start ..< start + tokens.count.
struct SequenceChunk {
    var blocks: [Int32]
    var start: Int
    var tokens: [Int32]
    /// Logits wanted for every row (true) or only the last (false).
    var allLogits: Bool
}

/// Builds a ForwardBatch the way the engine would (slot = block * blockSize + offset).
func makeBatch(_ chunks: [SequenceChunk], blockSize: Int, into batch: inout ForwardBatch) {
    batch.reset()
    batch.maxBlocksPerSeq = chunks.map(\.blocks.count).max() ?? 0
    for chunk in chunks {
        for (offset, token) in chunk.tokens.enumerated() {
            let position = chunk.start + offset
            let row = Int32(batch.tokenIds.count)
            batch.tokenIds.append(token)
            batch.positions.append(Int32(position))
            batch.slotMapping.append(chunk.blocks[position / blockSize] * Int32(blockSize) + Int32(position % blockSize))
            if chunk.allLogits || offset == chunk.tokens.count - 1 { batch.logitRows.append(row) }
        }
        batch.queryStart.append(Int32(batch.tokenIds.count))
        batch.seqLens.append(Int32(chunk.start + chunk.tokens.count))
        batch.blockTables.append(contentsOf: chunk.blocks)
        batch.blockTables.append(contentsOf: repeatElement(0, count: batch.maxBlocksPerSeq - chunk.blocks.count))
    }
}

/// Runs one step and returns the wanted logits as rows.
func runStep(_ model: LlamaModel, _ batch: ForwardBatch) throws -> [[Float]] {
    let vocab = model.spec.vocabSize
    var flat = [Float](repeating: .nan, count: batch.logitRows.count * vocab)
    try flat.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }
    return (0..<batch.logitRows.count).map { Array(flat[$0 * vocab ..< ($0 + 1) * vocab]) }
}

/// Max abs difference over max abs reference value.
func relativeError(_ ours: [[Float]], _ reference: [[Float]]) -> Float {
    var maxDiff: Float = 0
    var maxRef: Float = 0
    for (a, b) in zip(ours, reference) {
        for (x, y) in zip(a, b) {
            maxDiff = max(maxDiff, abs(x - y).isNaN ? .infinity : abs(x - y))
            maxRef = max(maxRef, abs(y))
        }
    }
    return maxRef > 0 ? maxDiff / maxRef : maxDiff
}

func argmax(_ values: [Float]) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
}

/// Reference logits written by scripts/make_model_fixtures.py.
struct ReferenceLogits: Decodable {
    var token_ids: [Int32]
    var positions: [Int]
    var logits: [[Float]]

    static func load(_ folder: String) throws -> ReferenceLogits {
        let data = try Data(contentsOf: URL(fileURLWithPath: folder).appendingPathComponent("reference.json"))
        return try JSONDecoder().decode(ReferenceLogits.self, from: data)
    }
}

/// Loads a Llama-family fixture through the registry's source reading, typed as the concrete model.
func loadLlama(_ location: ModelLocation) throws -> LlamaModel {
    try LlamaModel.loadLlama(ModelLoader.source(for: location))
}
