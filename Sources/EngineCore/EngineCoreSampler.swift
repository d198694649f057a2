// Turns one logits row into the next token, in vLLM v1's order: logit_bias and min_tokens,
// penalties (repetition, frequency, presence), then greedy argmax or temperature -> min_p ->
// top-k / top-p -> a draw from the request's generator. Logprobs come from the raw row.

import Foundation

final class Sampler {
    let vocabSize: Int
    /// vLLM raises temperatures in [1e-5, 0.01) to 0.01 to keep the softmax finite.
    static let minimumTemperature = 0.01
    /// top-p alone buckets logits instead of sorting the vocabulary: buckets per pass, the logit
    /// range the first pass covers (lower logits share the last bucket), and the subset size below
    /// which the remaining candidates are simply sorted.
    private static let topPBuckets = 256
    private static let topPInitialSpan: Float = 32
    private static let topPSortLimit = 64

    private var weights: [Float]
    private var subset: [Int32] = []
    private var nextSubset: [Int32] = []
    private var bucketMass: [Double]

    private var work: [Float]
    private var candidates: [Int32] = []
    private var selector = TopKSelector()
    private var sharedGenerator: SeededGenerator

    init(vocabSize: Int, seed: UInt64) {
        self.vocabSize = vocabSize
        work = [Float](repeating: 0, count: vocabSize)
        weights = [Float](repeating: 0, count: vocabSize)
        bucketMass = [Double](repeating: 0, count: Sampler.topPBuckets)
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
            // A NaN logit (a broken model row) is treated as masked rather than poisoning the draw.
            for i in 0..<logits.count { logits[i] = row[i].isNaN ? -.infinity : row[i] }
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
            for i in 0..<vocab {
                let w = exp(logits[i] - maxValue)
                weights[i] = w
                total += Double(w)
            }
            let target = uniform * total
            var cumulative = 0.0
            var lastValid = 0
            for i in 0..<vocab where weights[i] > 0 {
                cumulative += Double(weights[i])
                lastValid = i
                if cumulative > target { return i }
            }
            return lastValid
        }

        if topK == 0 {
            return sampleTopP(logits, maxValue: maxValue, topP: params.topP, uniform: uniform)
        }
        let count = selector.select(UnsafeBufferPointer(logits), k: topK, into: &candidates)
        var kept = count
        if usesTopP {
            // top-p applies to the top-k distribution, renormalized.
            let mass = candidates[0..<count].reduce(0.0) { $0 + exp(Double(logits[Int($1)] - maxValue)) }
            let threshold = params.topP * mass
            var cumulative = 0.0
            kept = 0
            // Keep token i while the mass strictly before it is below top_p (vLLM keeps at least one).
            while kept < count && (kept == 0 || cumulative < threshold) {
                cumulative += exp(Double(logits[Int(candidates[kept])] - maxValue))
                kept += 1
            }
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

    /// Nucleus sampling without a full sort: bucket the candidates by logit, keep whole buckets
    /// while the kept mass stays below top_p, and refine only the bucket that crosses it. Keeps
    /// exactly the tokens a descending sort would (token i kept iff the mass before it < top_p).
    private func sampleTopP(_ logits: UnsafeMutableBufferPointer<Float>, maxValue: Float, topP: Double,
                            uniform: Double) -> Int {
        let keptMass = selectNucleus(UnsafeBufferPointer(logits), maxValue: maxValue, topP: topP)
        guard !candidates.isEmpty else { return Sampler.argmax(UnsafeBufferPointer(logits)) }
        let target = uniform * keptMass
        var cumulative = 0.0
        for id in candidates {
            cumulative += Double(weights[Int(id)])
            if cumulative > target { return Int(id) }
        }
        return Int(candidates[candidates.count - 1])
    }

    /// Fills `candidates` with the nucleus of `logits` (any order) and returns its unnormalized mass.
    func selectNucleus(_ logits: UnsafeBufferPointer<Float>, maxValue: Float, topP: Double) -> Double {
        var total = 0.0
        subset.removeAll(keepingCapacity: true)
        for i in 0..<logits.count {
            let v = logits[i]
            if v == -.infinity { weights[i] = 0; continue }
            let w = exp(v - maxValue)
            weights[i] = w
            total += Double(w)
            subset.append(Int32(i))
        }
        let threshold = topP * total
        candidates.removeAll(keepingCapacity: true)
        var keptMass = 0.0
        var top = maxValue
        var span = Sampler.topPInitialSpan
        let buckets = Sampler.topPBuckets
        while subset.count > Sampler.topPSortLimit && span > 1e-5 {
            let width = span / Float(buckets)
            func bucket(_ v: Float) -> Int {
                let distance = (top - v) / width
                return distance >= Float(buckets - 1) ? buckets - 1 : max(0, Int(distance))
            }
            for b in 0..<buckets { bucketMass[b] = 0 }
            for id in subset { bucketMass[bucket(logits[Int(id)])] += Double(weights[Int(id)]) }
            // The first bucket whose mass reaches the threshold (the last one if rounding never does).
            var crossing = buckets - 1
            for b in 0..<buckets {
                if keptMass + bucketMass[b] >= threshold || b == buckets - 1 { crossing = b; break }
                keptMass += bucketMass[b]
            }
            nextSubset.removeAll(keepingCapacity: true)
            for id in subset {
                let b = bucket(logits[Int(id)])
                if b < crossing { candidates.append(id) } else if b == crossing { nextSubset.append(id) }
            }
            swap(&subset, &nextSubset)
            top -= Float(crossing) * width
            span = width
        }
        subset.sort { logits[Int($0)] > logits[Int($1)] || (logits[Int($0)] == logits[Int($1)] && $0 < $1) }
        for id in subset where candidates.isEmpty || keptMass < threshold {
            candidates.append(id)
            keptMass += Double(weights[Int(id)])
        }
        return keptMass
    }

    /// The last selection (nucleus or top-k), for tests.
    var candidatesForTesting: [Int32] { candidates }
}
