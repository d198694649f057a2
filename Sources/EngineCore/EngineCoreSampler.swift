// Turns one logits row into the next token, in vLLM v1's order: the request's logits processors
// (allowed tokens, bad words, logit_bias, min_tokens, penalties, then its own), then greedy argmax or temperature -> min_p ->
// top-k / top-p -> one draw from the request's generator. Logprobs come from the raw row.
// Vocabulary-sized buffers are allocated once; no per-token allocation except logprob results.

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

    private let paddedSize: Int
    /// Processed logits of the row being sampled.
    private let work: UnsafeMutablePointer<Float>
    /// exp(logit - max) of `work`.
    private let weights: UnsafeMutablePointer<Float>
    /// Sanitized raw row for logprobs.
    private let raw: UnsafeMutablePointer<Float>
    private var candidates: [Int32] = []
    private var subset: [Int32] = []
    private var nextSubset: [Int32] = []
    private var bucketMass: [Double]
    private var selector = TopKSelector()
    private var sharedGenerator: SeededGenerator

    init(vocabSize: Int, seed: UInt64) {
        self.vocabSize = vocabSize
        paddedSize = VectorMath.paddedCount(vocabSize)
        work = .allocate(capacity: paddedSize)
        weights = .allocate(capacity: paddedSize)
        raw = .allocate(capacity: paddedSize)
        work.initialize(repeating: -.infinity, count: paddedSize)
        weights.initialize(repeating: 0, count: paddedSize)
        raw.initialize(repeating: -.infinity, count: paddedSize)
        bucketMass = [Double](repeating: 0, count: Sampler.topPBuckets)
        sharedGenerator = SeededGenerator(seed: seed)
    }

    deinit {
        work.deallocate()
        weights.deallocate()
        raw.deallocate()
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
        guard let base = row.baseAddress, row.count == vocabSize else { return 0 }
        VectorMath.sanitizedCopy(base, count: vocabSize, to: work)
        applyLogitsProcessors(request: request)
        var maxValue = VectorMath.max(work, paddedCount: paddedSize)
        if params.isGreedy || !maxValue.isFinite {
            return VectorMath.firstIndex(of: maxValue, in: work, count: vocabSize)
        }
        let inverseTemperature = Float(1.0 / max(params.temperature, Sampler.minimumTemperature))
        VectorMath.scale(work, paddedCount: paddedSize, by: inverseTemperature)
        maxValue *= inverseTemperature
        return sampleFiltered(params: params, maxValue: maxValue, uniform: uniform)
    }

    /// Log-probabilities of the raw row: `token`'s value and rank plus the `topCount` best
    /// (-1 = whole vocabulary). Tokens with NaN logits count as impossible.
    func logprobs(row: UnsafeBufferPointer<Float>, token: Int, topCount: Int) -> TokenLogprobs {
        guard let base = row.baseAddress, row.count == vocabSize, token >= 0, token < vocabSize else {
            return TokenLogprobs(tokenId: token, logprob: -.infinity, rank: vocabSize, top: [])
        }
        VectorMath.sanitizedCopy(base, count: vocabSize, to: raw)
        let maxValue = VectorMath.max(raw, paddedCount: paddedSize)
        let total = VectorMath.expShifted(raw, paddedCount: paddedSize, shift: maxValue, into: weights)
        let logNormalizer = Double(maxValue) + log(total)
        let value = raw[token]
        let rank = VectorMath.countAtLeast(raw, count: vocabSize, value: value)
        let k = topCount < 0 ? vocabSize : topCount
        var top: [TopLogprob] = []
        if k > 0 {
            var selected: [Int32] = []
            swap(&selected, &candidates)
            let count = selector.select(UnsafeBufferPointer(start: raw, count: vocabSize), k: k, into: &selected)
            top.reserveCapacity(count)
            for i in 0..<count {
                let id = Int(selected[i])
                top.append(TopLogprob(tokenId: id, logprob: Float(Double(raw[id]) - logNormalizer)))
            }
            swap(&selected, &candidates)
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

    /// The request's pipeline over `work`, in its order (built-ins first, see BuiltinLogitsProcessors).
    private func applyLogitsProcessors(request: RequestState) {
        let processors = request.logitsProcessors
        guard !processors.isEmpty else { return }
        let row = UnsafeMutableBufferPointer(start: work, count: vocabSize)
        let context = LogitsContext(request: request, vocabSize: vocabSize)
        for processor in processors { processor.apply(row, context: context) }
    }

    /// min_p, top-k and top-p over the temperature-scaled `work`, then one inverse-CDF draw.
    private func sampleFiltered(params: SamplingParams, maxValue: Float, uniform: Double) -> Int {
        let vocab = vocabSize
        if params.minP > 0 {
            // p_i < minP * p_max  <=>  logit_i < logit_max + ln(minP)
            VectorMath.maskBelow(work, paddedCount: paddedSize, cutoff: maxValue + Float(log(params.minP)))
        }
        let topK = params.topK > 0 && params.topK < vocab ? params.topK : 0
        let total = VectorMath.expShifted(work, paddedCount: paddedSize, shift: maxValue, into: weights)

        if topK == 0 && params.topP >= 1 {
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

        var kept: [Int32] = []
        swap(&kept, &candidates)
        defer { swap(&kept, &candidates) }
        var keptMass = 0.0
        if topK == 0 {
            keptMass = selectNucleus(topP: params.topP, total: total, into: &kept)
        } else {
            let count = selector.select(UnsafeBufferPointer(start: work, count: vocab), k: topK, into: &kept)
            // top-p applies to the top-k distribution, renormalized.
            var mass = 0.0
            for i in 0..<count { mass += Double(weights[Int(kept[i])]) }
            let threshold = params.topP * mass
            var keep = 0
            // Keep token i while the mass strictly before it is below top_p (vLLM keeps at least one).
            while keep < count && (keep == 0 || keptMass < threshold) {
                keptMass += Double(weights[Int(kept[keep])])
                keep += 1
            }
            kept.removeLast(count - keep)
        }
        guard let last = kept.last else { return VectorMath.firstIndex(of: maxValue, in: work, count: vocab) }
        let target = uniform * keptMass
        var cumulative = 0.0
        for id in kept {
            cumulative += Double(weights[Int(id)])
            if cumulative > target { return Int(id) }
        }
        return Int(last)
    }

    /// Nucleus without a full sort: bucket candidates by logit, keep whole buckets while the kept
    /// mass stays below top_p, and refine only the bucket that crosses it. Keeps exactly the tokens
    /// a descending sort would (token i kept iff the mass before it < top_p). Needs `weights`
    /// filled for `work`; returns the kept (unnormalized) mass.
    private func selectNucleus(topP: Double, total: Double, into kept: inout [Int32]) -> Double {
        let logits = work
        let weights = self.weights
        var subset: [Int32] = []
        var nextSubset: [Int32] = []
        var bucketMass: [Double] = []
        swap(&subset, &self.subset)
        swap(&nextSubset, &self.nextSubset)
        swap(&bucketMass, &self.bucketMass)
        defer {
            swap(&subset, &self.subset)
            swap(&nextSubset, &self.nextSubset)
            swap(&bucketMass, &self.bucketMass)
        }
        subset.removeAll(keepingCapacity: true)
        kept.removeAll(keepingCapacity: true)

        let threshold = topP * total
        var keptMass = 0.0
        var top = VectorMath.max(logits, paddedCount: paddedSize)
        var span = Sampler.topPInitialSpan
        let buckets = Sampler.topPBuckets
        let lastBucket = Float(buckets - 1)
        // Level 0 reads the whole vocabulary; deeper levels only the crossing bucket's tokens.
        var firstLevel = true
        while (firstLevel || subset.count > Sampler.topPSortLimit) && span > 1e-5 {
            let width = span / Float(buckets)
            let levelTop = top
            for b in 0..<buckets { bucketMass[b] = 0 }
            if firstLevel {
                for i in 0..<vocabSize where weights[i] > 0 {
                    let distance = (levelTop - logits[i]) / width
                    bucketMass[distance >= lastBucket ? buckets - 1 : Swift.max(0, Int(distance))] += Double(weights[i])
                }
            } else {
                for id in subset {
                    let distance = (levelTop - logits[Int(id)]) / width
                    bucketMass[distance >= lastBucket ? buckets - 1 : Swift.max(0, Int(distance))] += Double(weights[Int(id)])
                }
            }
            // The first bucket whose mass reaches the threshold (the last one if rounding never does).
            var crossing = buckets - 1
            for b in 0..<buckets {
                if keptMass + bucketMass[b] >= threshold || b == buckets - 1 { crossing = b; break }
                keptMass += bucketMass[b]
            }
            nextSubset.removeAll(keepingCapacity: true)
            func route(_ id: Int32) {
                let distance = (levelTop - logits[Int(id)]) / width
                let b = distance >= lastBucket ? buckets - 1 : Swift.max(0, Int(distance))
                if b < crossing { kept.append(id) } else if b == crossing { nextSubset.append(id) }
            }
            if firstLevel {
                for i in 0..<vocabSize where weights[i] > 0 { route(Int32(i)) }
            } else {
                for id in subset { route(id) }
            }
            swap(&subset, &nextSubset)
            top -= Float(crossing) * width
            span = width
            firstLevel = false
        }
        subset.sort { logits[Int($0)] > logits[Int($1)] || (logits[Int($0)] == logits[Int($1)] && $0 < $1) }
        for id in subset where kept.isEmpty || keptMass < threshold {
            kept.append(id)
            keptMass += Double(weights[Int(id)])
        }
        return keptMass
    }

    /// The nucleus `sample` would draw from for these raw logits (after sanitizing), for tests.
    func nucleusForTesting(_ logits: [Float], topP: Double) -> Set<Int> {
        logits.withUnsafeBufferPointer { VectorMath.sanitizedCopy($0.baseAddress!, count: vocabSize, to: work) }
        let maxValue = VectorMath.max(work, paddedCount: paddedSize)
        let total = VectorMath.expShifted(work, paddedCount: paddedSize, shift: maxValue, into: weights)
        var kept: [Int32] = []
        _ = selectNucleus(topP: topP, total: total, into: &kept)
        return Set(kept.map(Int.init))
    }
}
