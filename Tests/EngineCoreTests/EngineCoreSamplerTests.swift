import XCTest
import Foundation
@testable import EngineCore

final class EngineCoreSamplerTests: XCTestCase {
    private func state(_ params: SamplingParams, prompt: [Int] = [9], outputs: [Int] = [],
                       eos: Set<Int> = []) -> RequestState {
        let request = makeRequest("s", prompt, params, eos: eos)
        let state = RequestState(request: request, maxTokens: 100, sequenceNumber: 0, vocabSize: 1 << 17)
        for token in outputs { state.appendOutputToken(token) }
        return state
    }

    private func sample(_ logits: [Float], _ request: RequestState, sampler: Sampler? = nil) -> Int {
        let sampler = sampler ?? Sampler(vocabSize: logits.count, seed: 0)
        return logits.withUnsafeBufferPointer { sampler.sample(row: $0, request: request) }
    }

    private func histogram(_ logits: [Float], _ params: SamplingParams, draws: Int) -> [Int] {
        let sampler = Sampler(vocabSize: logits.count, seed: 42)
        let request = state(params)
        var counts = [Int](repeating: 0, count: logits.count)
        for _ in 0..<draws { counts[sample(logits, request, sampler: sampler)] += 1 }
        return counts
    }

    private var fourWay: [Float] { [0.5, 0.3, 0.15, 0.05].map { Float(log($0)) } }

    func testGreedyTiesGoToLowestId() {
        XCTAssertEqual(sample([1, 3, 3, 2], state(makeParams(temperature: 0))), 1)
        XCTAssertEqual(sample([1, 3, 3, 2], state(makeParams(temperature: 1e-6))), 1, "below 1e-5 is greedy")
    }

    func testLogitBias() {
        let params = makeParams(temperature: 0) { $0.logitBias = [3: 5, 1: -100] }
        XCTAssertEqual(sample([1, 3, 2, 0], state(params)), 3)
    }

    func testMinTokensMasksEOSAndStopTokensUntilReached() {
        let params = makeParams(temperature: 0) { $0.minTokens = 2; $0.stopTokenIds = [1] }
        let logits: [Float] = [5, 4, 3, 0]
        XCTAssertEqual(sample(logits, state(params, outputs: [], eos: [0])), 2)
        XCTAssertEqual(sample(logits, state(params, outputs: [3], eos: [0])), 2)
        XCTAssertEqual(sample(logits, state(params, outputs: [3, 3], eos: [0])), 0)
        var ignoring = params
        ignoring.ignoreEOS = true
        XCTAssertEqual(sample(logits, state(ignoring, outputs: [], eos: [0])), 0, "EOS is no stop token under ignore_eos")
    }

    func testRepetitionPenaltyDividesPositiveAndMultipliesNegative() {
        let params = makeParams(temperature: 0) { $0.repetitionPenalty = 2 }
        XCTAssertEqual(sample([2.0, 1.5, 0], state(params, prompt: [0])), 1, "2.0 / 2 = 1.0 < 1.5")
        XCTAssertEqual(sample([2.0, 1.5, 0], state(params, prompt: [2], outputs: [2])), 0)
        XCTAssertEqual(sample([-1.0, -1.5, -9], state(params, prompt: [5 % 3], outputs: [0])), 1, "-1 * 2 = -2 < -1.5")
    }

    func testFrequencyAndPresencePenaltiesUseOutputTokensOnly() {
        let logits: [Float] = [2, 1, 0]
        let frequency = makeParams(temperature: 0) { $0.frequencyPenalty = 0.5 }
        XCTAssertEqual(sample(logits, state(frequency, outputs: [0, 0, 0])), 1, "2 - 3 * 0.5 = 0.5")
        XCTAssertEqual(sample(logits, state(frequency, prompt: [0, 0, 0, 0])), 0, "prompt tokens are not penalized")
        let mild = makeParams(temperature: 0) { $0.frequencyPenalty = 0.2 }
        XCTAssertEqual(sample(logits, state(mild, outputs: [0, 0, 0])), 0)
        let presence = makeParams(temperature: 0) { $0.presencePenalty = 1.5 }
        XCTAssertEqual(sample(logits, state(presence, outputs: [0])), 1)
        let negative = makeParams(temperature: 0) { $0.presencePenalty = -2 }
        XCTAssertEqual(sample(logits, state(negative, outputs: [1])), 1, "negative presence encourages repeats: 1 + 2 > 2")
    }

    func testTemperatureSamplingFollowsSoftmax() {
        let counts = histogram(fourWay, makeParams(temperature: 1), draws: 4000)
        for (count, p) in zip(counts, [0.5, 0.3, 0.15, 0.05]) {
            XCTAssertEqual(Double(count) / 4000, p, accuracy: 0.03)
        }
        // T = 0.5 squares the odds: 0.25 / 0.25+0.09+0.0225+0.0025 ≈ 0.685 for token 0.
        let sharp = histogram(fourWay, makeParams(temperature: 0.5), draws: 4000)
        XCTAssertEqual(Double(sharp[0]) / 4000, 0.25 / 0.365, accuracy: 0.03)
    }

    func testTopK() {
        let one = histogram(fourWay, makeParams(temperature: 1) { $0.topK = 1 }, draws: 300)
        XCTAssertEqual(one, [300, 0, 0, 0])
        let two = histogram(fourWay, makeParams(temperature: 1) { $0.topK = 2 }, draws: 2000)
        XCTAssertEqual(two[2] + two[3], 0)
        XCTAssertEqual(Double(two[0]) / 2000, 0.5 / 0.8, accuracy: 0.04)
        let disabled = histogram(fourWay, makeParams(temperature: 1) { $0.topK = -1 }, draws: 2000)
        XCTAssertGreaterThan(disabled[3], 0)
    }

    func testTopP() {
        let p06 = histogram(fourWay, makeParams(temperature: 1) { $0.topP = 0.6 }, draws: 2000)
        XCTAssertEqual(p06[2] + p06[3], 0, "mass before token 2 is 0.8 >= 0.6")
        XCTAssertGreaterThan(p06[1], 0)
        XCTAssertEqual(Double(p06[0]) / 2000, 0.5 / 0.8, accuracy: 0.04)
        let p05 = histogram(fourWay, makeParams(temperature: 1) { $0.topP = 0.5 }, draws: 300)
        XCTAssertEqual(p05, [300, 0, 0, 0], "mass before token 1 is 0.5, not below 0.5")
        let withK = histogram(fourWay, makeParams(temperature: 1) { $0.topK = 3; $0.topP = 0.9 }, draws: 2000)
        XCTAssertEqual(withK[3], 0)
        XCTAssertGreaterThan(withK[2], 0, "top-p applies to the renormalized top-k distribution")
    }

    /// The bucketed nucleus keeps exactly the tokens a full descending sort keeps, for flat,
    /// peaked, tied and masked distributions.
    func testNucleusMatchesSortedReference() {
        var generator = SeededGenerator(seed: 5)
        let sampler = Sampler(vocabSize: 2000, seed: 0)
        for trial in 0..<12 {
            var logits: [Float]
            switch trial % 4 {
            case 0: logits = (0..<2000).map { _ in Float(generator.nextUnitDouble() * 0.5) }
            case 1: logits = (0..<2000).map { _ in Float(generator.nextUnitDouble() * 40 - 30) }
            case 2: logits = (0..<2000).map { _ in Float(Int(generator.nextUnitDouble() * 6)) }
            default:
                logits = (0..<2000).map { _ in generator.nextUnitDouble() < 0.3 ? -.infinity : Float(generator.nextUnitDouble() * 10) }
            }
            let topP = [0.05, 0.5, 0.9, 0.999][trial % 4 == 0 ? trial / 4 % 4 : (trial + 1) % 4]
            let maxValue = logits.max() ?? 0
            let sorted = logits.indices.filter { logits[$0] != -.infinity }
                .sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let weightsRef = logits.map { $0 == -.infinity ? 0.0 : exp(Double($0 - maxValue)) }
            let total = weightsRef.reduce(0, +)
            var expected = Set<Int>()
            var before = 0.0
            for id in sorted where expected.isEmpty || before < topP * total {
                expected.insert(id)
                before += weightsRef[id]
            }
            let kept = sampler.nucleusForTesting(logits, topP: topP)
            // Float exp vs double reference may differ for a token sitting exactly on the boundary.
            XCTAssertLessThanOrEqual(kept.symmetricDifference(expected).count, 1, "trial \(trial) top_p \(topP)")
            XCTAssertTrue(kept.isSubset(of: expected) || expected.isSubset(of: kept))
        }
    }

    func testMinP() {
        let counts = histogram(fourWay, makeParams(temperature: 1) { $0.minP = 0.5 }, draws: 2000)
        XCTAssertEqual(counts[2] + counts[3], 0, "0.15 < 0.5 * 0.5")
        XCTAssertGreaterThan(counts[1], 0)
        let all = histogram(fourWay, makeParams(temperature: 1) { $0.minP = 1 }, draws: 100)
        XCTAssertEqual(all, [100, 0, 0, 0])
    }

    func testSeededRequestsIgnoreTheSharedGenerator() {
        let logits = (0..<50).map { Float($0 % 7) * 0.3 }
        let params = makeParams(temperature: 1, seed: 77)
        let alone = Sampler(vocabSize: 50, seed: 1)
        let a = state(params)
        let soloDraws = (0..<20).map { _ in sample(logits, a, sampler: alone) }
        let busy = Sampler(vocabSize: 50, seed: 999)
        let b = state(params)
        let other = state(makeParams(temperature: 1))
        var busyDraws: [Int] = []
        for _ in 0..<20 {
            _ = sample(logits, other, sampler: busy)
            busyDraws.append(sample(logits, b, sampler: busy))
        }
        XCTAssertEqual(soloDraws, busyDraws)
        XCTAssertGreaterThan(Set(soloDraws).count, 3)
    }

    func testLogprobsOfRawLogits() {
        let logits: [Float] = [1, 3, 3, 2, -1]
        let sampler = Sampler(vocabSize: 5, seed: 0)
        let lse = log(logits.reduce(0.0) { $0 + exp(Double($1)) })
        let result = logits.withUnsafeBufferPointer { sampler.logprobs(row: $0, token: 3, topCount: 3) }
        XCTAssertEqual(result.tokenId, 3)
        XCTAssertEqual(Double(result.logprob), 2 - lse, accuracy: 1e-5)
        XCTAssertEqual(result.rank, 3)
        XCTAssertEqual(result.top.map(\.tokenId), [1, 2, 3])
        XCTAssertEqual(Double(result.top[0].logprob), 3 - lse, accuracy: 1e-5)
        let none = logits.withUnsafeBufferPointer { sampler.logprobs(row: $0, token: 1, topCount: 0) }
        XCTAssertEqual(none.top, [])
        XCTAssertEqual(none.rank, 2, "ties count: two tokens have logprob >= token 1's")
        let all = logits.withUnsafeBufferPointer { sampler.logprobs(row: $0, token: 4, topCount: -1) }
        XCTAssertEqual(all.top.map(\.tokenId), [1, 2, 3, 0, 4])
        XCTAssertEqual(all.rank, 5)
    }

    func testTopKSelectorOrdersAndSkipsMasked() {
        var selector = TopKSelector()
        var out: [Int32] = []
        let values: [Float] = [0.5, -.infinity, 2, 2, 7, -3]
        let count = values.withUnsafeBufferPointer { selector.select($0, k: 4, into: &out) }
        XCTAssertEqual(count, 4)
        XCTAssertEqual(out, [4, 2, 3, 0])
        let all = values.withUnsafeBufferPointer { selector.select($0, k: 10, into: &out) }
        XCTAssertEqual(all, 5)
        XCTAssertEqual(out, [4, 2, 3, 0, 5])
    }

    func testTopKSelectorMatchesSortOnRandomRowsWithTies() {
        var generator = SeededGenerator(seed: 11)
        var selector = TopKSelector()
        var out: [Int32] = []
        for trial in 0..<40 {
            let count = 1 + Int(generator.next() % 300)
            let values: [Float] = (0..<count).map { _ in
                generator.next() % 10 == 0 ? -.infinity : Float(Int(generator.nextUnitDouble() * 20))
            }
            let k = 1 + Int(generator.next() % 40)
            let expected = values.indices.filter { values[$0] != -.infinity }
                .sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }
                .prefix(k).map(Int32.init)
            _ = values.withUnsafeBufferPointer { selector.select($0, k: k, into: &out) }
            XCTAssertEqual(out, Array(expected), "trial \(trial)")
        }
    }

    func testBrokenLogitsNeverCrash() {
        let rows: [[Float]] = [
            [.nan, 1, .nan, 0.5] + [Float](repeating: -3e38, count: 100),
            [Float](repeating: .nan, count: 104),
            [Float](repeating: -.infinity, count: 104),
            [3e38, -3e38] + [Float](repeating: 0, count: 102),
            [.infinity, 1] + [Float](repeating: 0, count: 102),
        ]
        let variants: [(inout SamplingParams) -> Void] = [
            { _ in }, { $0.topP = 0.9 }, { $0.topK = 3 }, { $0.minP = 0.2 }, { $0.temperature = 0 },
            { $0.topK = 5; $0.topP = 0.5; $0.minP = 0.1 },
        ]
        for row in rows {
            for configure in variants {
                let params = makeParams(temperature: 1, seed: 1, configure: configure)
                let token = sample(row, state(params))
                XCTAssertTrue((0..<row.count).contains(token))
            }
        }
        XCTAssertEqual(sample(rows[0], state(makeParams(temperature: 0))), 1, "NaN is never the argmax")
    }
}

final class EngineCoreVectorMathTests: XCTestCase {
    func testExpAccuracyAndMasking() {
        var inputs: [Float] = stride(from: -90.0, through: 88.0, by: 0.37).map { Float($0) }
        inputs += [-.infinity, 0, -1e-8, 1e-8, -87.29, 88.3]
        for x in inputs {
            let e = VectorMath.exp(x)
            if x < -87.3 {
                XCTAssertEqual(e, 0, "exp(\(x))")
            } else {
                let expected = Foundation.exp(Double(x))
                XCTAssertEqual(Double(e), expected, accuracy: expected * 2e-6, "exp(\(x))")
            }
        }
        var weights = [Float](repeating: 0, count: 16)
        let values: [Float] = [0, 1, 2, -.infinity] + [Float](repeating: -.infinity, count: 12)
        let total = values.withUnsafeBufferPointer { v in
            weights.withUnsafeMutableBufferPointer { VectorMath.expShifted(v.baseAddress!, paddedCount: 16, shift: 2, into: $0.baseAddress!) }
        }
        XCTAssertEqual(total, Foundation.exp(-2.0) + Foundation.exp(-1.0) + 1, accuracy: 1e-6)
        XCTAssertEqual(weights[3], 0)
    }

    func testSanitizedCopyPadsAndMasksNaN() {
        let source: [Float] = [1, .nan, 3, -2, 5, 6, 7, 8, 9, .nan, 11]
        let padded = VectorMath.paddedCount(source.count)
        XCTAssertEqual(padded, 16)
        var destination = [Float](repeating: 42, count: padded)
        source.withUnsafeBufferPointer { s in
            destination.withUnsafeMutableBufferPointer { VectorMath.sanitizedCopy(s.baseAddress!, count: source.count, to: $0.baseAddress!) }
        }
        XCTAssertEqual(destination[1], -.infinity)
        XCTAssertEqual(destination[9], -.infinity)
        XCTAssertEqual(destination[10], 11)
        XCTAssertTrue(destination[11...].allSatisfy { $0 == -.infinity })
        XCTAssertEqual(destination.withUnsafeBufferPointer { VectorMath.max($0.baseAddress!, paddedCount: padded) }, 11)
        XCTAssertEqual(destination.withUnsafeBufferPointer { VectorMath.countAtLeast($0.baseAddress!, count: 11, value: 6) }, 5)
    }
}
