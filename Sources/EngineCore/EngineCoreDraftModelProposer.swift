// Draft-model speculation (vLLM's `draft_model` method): a smaller model sharing the target's
// vocabulary proposes the next tokens greedily, with its own paged KV cache kept in step with each
// request. After a step it keeps the KV of every token the target accepted and recomputes nothing
// else; rejected drafts' slots are simply overwritten. Drafts are argmax guesses (a one-hot draft
// distribution), so the runner's verification is exact rejection sampling for every request.

import Models

public final class DraftModelProposer: DraftProposer {
    public let model: any CausalLanguageModel
    public let blockSize: Int
    private let pool: BlockPool
    private var sequences: [String: DraftSequence] = [:]
    private var batch = ForwardBatch()
    private var logits: [Float]

    /// What the draft cache holds for one request.
    private final class DraftSequence {
        var blocks: [Int] = []
        /// Leading tokens of the request whose draft KV is written and still right.
        var numValid = 0
        /// The drafts fed back last time (KV written after the request's `baseCount` tokens): those the
        /// target accepted stay valid.
        var fedDrafts: [Int] = []
        var baseCount = 0
    }

    /// `numBlocks` blocks of `blockSize` tokens are allocated in the draft model's own cache.
    public init(model: any CausalLanguageModel, numBlocks: Int, blockSize: Int) throws {
        self.model = model
        self.blockSize = blockSize
        pool = BlockPool(numBlocks: numBlocks, enableCaching: false)
        logits = [Float](repeating: 0, count: model.spec.vocabSize)
        try model.allocateKVCache(numBlocks: numBlocks, blockSize: blockSize)
    }

    public func forget(requestId: String) {
        guard let sequence = sequences.removeValue(forKey: requestId) else { return }
        pool.free(sequence.blocks.reversed())
    }

    /// Draft KV blocks in use, for tests.
    public var numBlocksInUse: Int { pool.numUsableBlocks - pool.numFreeBlocks }

    public func propose(_ context: DraftContext, maxTokens: Int, into drafts: inout [Int]) {
        let tokens = context.tokenIds
        let count = tokens.count
        guard maxTokens > 0, count > 0 else { return }
        let sequence = sequences[context.requestId] ?? DraftSequence()
        sequences[context.requestId] = sequence
        // Keep the KV of fed drafts the target accepted, then feed the rest of the real tokens.
        var valid = min(sequence.numValid, count)
        if sequence.baseCount == valid {
            var index = 0
            while index < sequence.fedDrafts.count, valid < count,
                  tokens[tokens.startIndex + valid] == sequence.fedDrafts[index] {
                valid += 1
                index += 1
            }
        }
        valid = min(valid, count - 1)  // the last real token is always fed: its logits give the first draft
        let needed = (count + maxTokens - 1 + blockSize - 1) / blockSize
        if needed > sequence.blocks.count {
            guard needed - sequence.blocks.count <= pool.numFreeBlocks else { return }  // no room: no drafts
            pool.allocate(needed - sequence.blocks.count, appendingTo: &sequence.blocks)
        }
        sequence.fedDrafts.removeAll(keepingCapacity: true)
        sequence.baseCount = count
        let base = tokens.startIndex
        // First the real tokens the draft cache lacks, then each draft fed back for the next one.
        guard var token = runDraftStep(from: valid, count: count - valid, blocks: sequence.blocks,
                                       tokenAt: { tokens[base + $0] }) else { return }
        drafts.append(token)
        var position = count
        while drafts.count < maxTokens {
            sequence.fedDrafts.append(token)
            let fed = token
            guard let next = runDraftStep(from: position, count: 1, blocks: sequence.blocks, tokenAt: { _ in fed })
            else { break }
            token = next
            drafts.append(token)
            position += 1
        }
        sequence.numValid = count
    }

    /// Feeds `count` tokens (`tokenAt(position)`) at positions `start...` and returns the argmax of the
    /// last row's logits.
    private func runDraftStep(from start: Int, count: Int, blocks: [Int], tokenAt: (Int) -> Int) -> Int? {
        batch.reset()
        let used = (start + count + blockSize - 1) / blockSize
        batch.maxBlocksPerSeq = used
        batch.appendSequence(from: start, count: count, blocks: blocks, tableBlocks: used, blockSize: blockSize,
                             tokenAt: tokenAt)
        batch.logitRows.append(Int32(count - 1))
        do {
            try logits.withUnsafeMutableBufferPointer { try model.forward(batch, logits: $0) }
        } catch {
            return nil  // a failing draft costs the speculation, never the request
        }
        return logits.withUnsafeBufferPointer { Sampler.argmax($0) }
    }
}
