// Turns a SchedulerOutput into a ForwardBatch, runs the model, and samples: one token per request
// that reaches the end of its tokens, or, for a request with draft tokens, the verified run of them
// plus one. Changes no scheduling state: Scheduler.update applies the ModelRunnerOutput.
//
// Verification samples the target model at every draft position with the request's whole pipeline
// (processors, temperature, top-k/p) and accepts while the sample equals the draft. Each emitted
// token is thus exactly what plain decoding would sample, with one generator draw per token: greedy
// and seeded requests give identical outputs with or without speculation.

import Models

final class ModelRunner {
    let model: any CausalLanguageModel
    let vocabSize: Int
    let blockSize: Int
    let maxModelLen: Int
    private let sampler: Sampler

    // Reused every step so a warmed-up decode step allocates nothing.
    private var batch = ForwardBatch()
    private var logits: [Float] = []
    private var plans: [RowPlan] = []
    private var output = ModelRunnerOutput()

    /// Where a scheduled request's rows and logits sit in this step's batch.
    private struct RowPlan {
        var firstRow: Int
        var firstLogitRow: Int
        var numPromptLogitRows: Int
        /// First logit row to sample from, or -1 for a prefill chunk that does not reach the end.
        var sampleLogitRow: Int
    }

    init(model: any CausalLanguageModel, blockSize: Int, maxModelLen: Int, seed: UInt64) {
        self.model = model
        vocabSize = model.spec.vocabSize
        self.blockSize = blockSize
        self.maxModelLen = maxModelLen
        sampler = Sampler(vocabSize: vocabSize, seed: seed)
    }

    /// Runs one step. On a model error nothing was sampled and no request changed.
    func execute(_ schedule: SchedulerOutput) throws -> ModelRunnerOutput {
        // Releases last step's results first, so refilling them below copies nothing.
        output.reset()
        buildBatch(schedule.scheduled)
        let needed = batch.logitRows.count * vocabSize
        if logits.count < needed { logits = [Float](repeating: 0, count: needed) }
        do {
            try logits.withUnsafeMutableBufferPointer { buffer in
                try model.forward(batch, logits: UnsafeMutableBufferPointer(rebasing: buffer[0..<needed]))
            }
        } catch {
            throw EngineCoreError(.modelFailure, "Model forward failed on a batch of \(batch.numTokens) tokens "
                + "from \(schedule.scheduled.count) requests: \(error)")
        }
        output.requests.reserveCapacity(schedule.scheduled.count)
        logits.withUnsafeBufferPointer { allLogits in
            for (index, item) in schedule.scheduled.enumerated() {
                output.requests.append(sample(item, plan: plans[index], logits: allLogits))
            }
        }
        return output
    }

    private func buildBatch(_ scheduled: [ScheduledRequest]) {
        batch.reset()
        plans.removeAll(keepingCapacity: true)
        var maxBlocks = 0
        for item in scheduled { maxBlocks = max(maxBlocks, item.request.blocks.count) }
        batch.maxBlocksPerSeq = maxBlocks
        // Sized like vLLM's block table (every sequence at full length), so sequences growing into
        // new blocks never reallocate it during decode.
        let tableCapacity = scheduled.count * ((maxModelLen + blockSize - 1) / blockSize)
        if batch.blockTables.capacity < tableCapacity { batch.blockTables.reserveCapacity(tableCapacity) }

        for item in scheduled {
            let request = item.request
            let start = request.numComputedTokens
            let end = start + item.numNewTokens
            let knownEnd = end - item.numDraftTokens
            let firstRow = batch.tokenIds.count
            batch.appendSequence(from: start, count: item.numNewTokens, blocks: request.blocks,
                                 tableBlocks: request.blocks.count, blockSize: blockSize) { position in
                position < knownEnd ? request.tokens[position] : request.draftTokenIds[position - knownEnd]
            }

            var plan = RowPlan(firstRow: firstRow, firstLogitRow: batch.logitRows.count,
                               numPromptLogitRows: 0, sampleLogitRow: -1)
            if request.needsPromptLogprobs {
                // Row p predicts token p + 1: every prompt row of the chunk is needed.
                let promptEnd = min(end, request.promptLength)
                for position in start..<promptEnd {
                    batch.logitRows.append(Int32(firstRow + position - start))
                }
                plan.numPromptLogitRows = max(0, promptEnd - start)
            }
            if knownEnd == request.numTokens {
                if plan.numPromptLogitRows > 0 && knownEnd - 1 < request.promptLength {
                    plan.sampleLogitRow = batch.logitRows.count - 1
                } else {
                    plan.sampleLogitRow = batch.logitRows.count
                    // The last known token's row, then one row per draft token.
                    for position in (knownEnd - 1)..<end { batch.logitRows.append(Int32(firstRow + position - start)) }
                }
            }
            plans.append(plan)
        }
    }

    private func sample(_ item: ScheduledRequest, plan: RowPlan, logits: UnsafeBufferPointer<Float>) -> RunnerRequestOutput {
        let request = item.request
        func row(_ logitRow: Int) -> UnsafeBufferPointer<Float> {
            UnsafeBufferPointer(rebasing: logits[(logitRow * vocabSize)..<((logitRow + 1) * vocabSize)])
        }
        var result = RunnerRequestOutput(sampled: output.sampledTokenIds.count..<output.sampledTokenIds.count,
                                         numAcceptedDraftTokens: 0)
        if plan.numPromptLogitRows > 0, let topCount = request.params.promptLogprobs {
            var promptLogprobs: [TokenLogprobs?] = []
            let start = request.numComputedTokens
            for i in 0..<plan.numPromptLogitRows {
                let nextPosition = start + i + 1
                guard nextPosition < request.promptLength else { continue }
                promptLogprobs.append(sampler.logprobs(row: row(plan.firstLogitRow + i),
                                                       token: request.tokens[nextPosition], topCount: topCount))
            }
            result.promptLogprobs = promptLogprobs
        }
        guard plan.sampleLogitRow >= 0 else { return result }

        let first = output.sampledTokenIds.count
        var accepted = 0
        var newLogprobs: [TokenLogprobs]? = request.params.logprobs == nil ? nil : []
        while true {
            let sampleRow = row(plan.sampleLogitRow + accepted)
            let token = sampler.sample(row: sampleRow, request: request)
            output.sampledTokenIds.append(token)
            if let topCount = request.params.logprobs {
                newLogprobs?.append(sampler.logprobs(row: sampleRow, token: token, topCount: topCount))
            }
            guard accepted < item.numDraftTokens, token == request.draftTokenIds[accepted] else { break }
            // Later positions are sampled as if this token were already generated.
            request.appendOutputToken(token)
            accepted += 1
        }
        request.dropLastOutputTokens(accepted)
        result.sampled = first..<output.sampledTokenIds.count
        result.numAcceptedDraftTokens = accepted
        result.logprobs = newLogprobs
        return result
    }
}
