// Turns one logits row into the next token, in vLLM v1's order: logit_bias and min_tokens,
// penalties (repetition, frequency, presence), then greedy argmax or temperature -> min_p ->
// top-k / top-p -> a draw from the request's generator. Logprobs come from the raw row.

import Foundation

final class Sampler {
    let vocabSize: Int
    /// vLLM raises temperatures in [1e-5, 0.01) to 0.01 to keep the softmax finite.
    static let minimumTemperature = 0.01
    /// First candidate count tried for top-p alone; grows by 4x while the kept mass is short.
    private static let initialTopPCandidates = 64

    private var work: [Float]
    private var candidates: [Int32] = []
    private var selector = TopKSelector()
    private var sharedGenerator: SeededGenerator

    init(vocabSize: Int, seed: UInt64) {
        self.vocabSize = vocabSize
        work = [Float](repeating: 0, count: vocabSize)
        sharedGenerator = SeededGenerator(seed: seed)
    }

    /// Samples the next token of `request` from its raw logits `row` (vocabSize floats).
    func sample(row: UnsafeBufferPointer<Float>, request: RequestState) -> Int {
        let params = request.params
        // Draw before branching so each sample consumes exactly one number from the generator.
        let uniform: Double
        if params.isGreedy {
            uniform = 0
        } else if var generator = request.generator {
            uniform = generator.nextUnitDouble()
            request.generator = generator
        } else {
            uniform = sharedGenerator.nextUnitDouble()
        }
        return work.withUnsafeMutableBufferPointer { logits -> Int in
            _ = logits.initialize(from: row)
            applyLogitsProcessors(logits, request: request)
            if params.isGreedy { return Sampler.argmax(UnsafeBufferPointer(logits)) }
            let inverseTemperature = Float(1.0 / max(params.temperature, Sampler.minimumTemperature))
            for i in 0..<logits.count { logits[i] *= inverseTemperature }
            return sampleFiltered(logits, params: params, uniform: uniform)
        }
    }

    /// Log-probabilities of the raw row: `token`'s value and rank plus the `topCount` best
    /// (-1 = whole vocabulary).
    func logprobs(row: UnsafeBufferPointer<Float>, token: Int, topCount: Int) -> TokenLogprobs {
        var maxValue = -Float.infinity
        for v in row where v > maxValue { maxValue = v }
        var sum = 0.0
        for v in row { sum += exp(Double(v - maxValue)) }
        let logNormalizer = Double(maxValue) + log(sum)
        let value = row[token]
        var rank = 0
        for v in row where v >= value { rank += 1 }
        let k = topCount < 0 ? row.count : topCount
        var top: [TopLogprob] = []
        if k > 0 {
            let count = selector.select(row, k: k, into: &candidates)
            top.reserveCapacity(count)
            for i in 0..<count {
                let id = Int(candidates[i])
                top.append(TopLogprob(tokenId: id, logprob: Float(Double(row[id]) - logNormalizer)))
            }
        }
        return TokenLogprobs(tokenId: token, logprob: Float(Double(value) - logNormalizer), rank: max(rank, 1), top: top)
    }

    /// Largest value; ties go to the lowest id.
    static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<values.count where values[i] > bestValue {
            best = i
            bestValue = values[i]
        }
        return best
    }

    private func applyLogitsProcessors(_ logits: UnsafeMutableBufferPointer<Float>, request: RequestState) {
        let params = request.params
        let vocab = logits.count
        for (token, bias) in params.logitBias where token >= 0 && token < vocab {
            logits[token] += Float(bias)
        }
        if request.numOutputTokens < params.minTokens {
            for token in request.eosTokenIds where token >= 0 && token < vocab { logits[token] = -.infinity }
            for token in params.stopTokenIds where token >= 0 && token < vocab { logits[token] = -.infinity }
        }
        if params.repetitionPenalty != 1 {
            let penalty = Float(params.repetitionPenalty)
            func penalize(_ token: Int) {
                guard token >= 0 && token < vocab else { return }
                let v = logits[token]
                logits[token] = v > 0 ? v / penalty : v * penalty
            }
            let promptTokens = request.promptTokenSet
            for token in promptTokens { penalize(token) }
            for token in request.outputTokenCounts.keys where !promptTokens.contains(token) { penalize(token) }
        }
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 {
            let frequency = Float(params.frequencyPenalty)
            let presence = Float(params.presencePenalty)
            for (token, count) in request.outputTokenCounts where token >= 0 && token < vocab {
                logits[token] -= frequency * Float(count) + presence
            }
        }
    }

    /// min_p, top-k and top-p over temperature-scaled logits, then one inverse-CDF draw.
    private func sampleFiltered(_ logits: UnsafeMutableBufferPointer<Float>, params: SamplingParams,
                                uniform: Double) -> Int {
        let vocab = logits.count
        var maxValue = -Float.infinity
        for v in logits where v > maxValue { maxValue = v }
        guard maxValue.isFinite else { return Sampler.argmax(UnsafeBufferPointer(logits)) }

        if params.minP > 0 {
            // p_i < minP * p_max  <=>  logit_i < logit_max + ln(minP)
            let cutoff = maxValue + Float(log(params.minP))
            for i in 0..<vocab where logits[i] < cutoff { logits[i] = -.infinity }
        }
        let topK = params.topK > 0 && params.topK < vocab ? params.topK : 0
        let usesTopP = params.topP < 1

        if topK == 0 && !usesTopP {
            var total = 0.0
            for v in logits { total += exp(Double(v - maxValue)) }
            let target = uniform * total
            var cumulative = 0.0
            var lastValid = 0
            for i in 0..<vocab where logits[i] != -.infinity {
                cumulative += exp(Double(logits[i] - maxValue))
                lastValid = i
                if cumulative > target { return i }
            }
            return lastValid
        }

        var fullMass: Double?
        var wanted = topK > 0 ? topK : min(vocab, Sampler.initialTopPCandidates)
        var kept = 0
        while true {
            let count = selector.select(UnsafeBufferPointer(logits), k: wanted, into: &candidates)
            kept = count
            guard usesTopP else { break }
            let mass: Double
            if topK > 0 {
                // top-p applies to the top-k distribution, renormalized.
                mass = candidates[0..<count].reduce(0.0) { $0 + exp(Double(logits[Int($1)] - maxValue)) }
            } else {
                if fullMass == nil { fullMass = logits.reduce(0.0) { $0 + exp(Double($1 - maxValue)) } }
                mass = fullMass ?? 0
            }
            let threshold = params.topP * mass
            var cumulative = 0.0
            kept = 0
            // Keep token i while the mass strictly before it is below top_p (vLLM keeps at least one).
            while kept < count && (kept == 0 || cumulative < threshold) {
                cumulative += exp(Double(logits[Int(candidates[kept])] - maxValue))
                kept += 1
            }
            if cumulative < threshold && count == wanted && topK == 0 && wanted < vocab {
                wanted = min(vocab, wanted * 4)
                continue
            }
            break
        }
        guard kept > 0 else { return Sampler.argmax(UnsafeBufferPointer(logits)) }
        var total = 0.0
        for i in 0..<kept { total += exp(Double(logits[Int(candidates[i])] - maxValue)) }
        let target = uniform * total
        var cumulative = 0.0
        for i in 0..<kept {
            cumulative += exp(Double(logits[Int(candidates[i])] - maxValue))
            if cumulative > target { return Int(candidates[i]) }
        }
        return Int(candidates[kept - 1])
    }
}
