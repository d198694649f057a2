@testable import Benchmarks
import XCTest

/// A toy tokenizer: id i is the word "w<i> " (ids 0 and 1 are special and decode to nothing when skipped).
struct BenchToyTokenizer: BenchTokenizing {
    var vocabSize = 50

    func encode(_ text: String, addSpecialTokens: Bool) -> [Int] {
        text.split(separator: " ").compactMap { word in
            word.hasPrefix("w") ? Int(word.dropFirst()) : nil
        }
    }

    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String {
        ids.filter { !(skipSpecialTokens && isSpecial($0)) }.map { "w\($0) " }.joined()
    }

    func isSpecial(_ id: Int) -> Bool { id < 2 }
}

final class BenchWorkloadTests: XCTestCase {
    func testArrivalsAreSeededAndHaveTheAskedMeanRate() {
        var first = BenchRandom(seed: 7)
        var again = BenchRandom(seed: 7)
        let times = BenchArrivals.sendTimes(count: 20_001, requestRate: 4, burstiness: 1, random: &first)
        XCTAssertEqual(times, BenchArrivals.sendTimes(count: 20_001, requestRate: 4, burstiness: 1, random: &again))
        XCTAssertEqual(times.first, 0)
        XCTAssertEqual(zip(times, times.dropFirst()).filter { $0 > $1 }.count, 0, "times never go back")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        XCTAssertEqual(BenchStatistics.mean(gaps), 0.25, accuracy: 0.01)
        // Exponential gaps: coefficient of variation 1.
        XCTAssertEqual(BenchStatistics.standardDeviation(gaps) / BenchStatistics.mean(gaps), 1, accuracy: 0.05)
    }

    func testBurstinessChangesTheSpreadNotTheMean() {
        var random = BenchRandom(seed: 3)
        for burstiness in [0.25, 4.0] {
            let times = BenchArrivals.sendTimes(count: 20_001, requestRate: 10, burstiness: burstiness, random: &random)
            let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
            let mean = BenchStatistics.mean(gaps)
            XCTAssertEqual(mean, 0.1, accuracy: 0.005, "burstiness \(burstiness)")
            // Gamma(k) gaps have CV 1/sqrt(k).
            XCTAssertEqual(BenchStatistics.standardDeviation(gaps) / mean, 1 / burstiness.squareRoot(),
                           accuracy: 0.08, "burstiness \(burstiness)")
        }
    }

    func testInfiniteRateSendsEverythingAtOnce() {
        var random = BenchRandom(seed: 0)
        XCTAssertEqual(BenchArrivals.sendTimes(count: 3, requestRate: .infinity, burstiness: 1, random: &random),
                       [0, 0, 0])
        XCTAssertEqual(BenchArrivals.sendTimes(count: 0, requestRate: 1, burstiness: 1, random: &random), [])
    }

    func testRandomDatasetHitsTheLengthsAndAvoidsSpecialTokens() throws {
        let builder = try BenchDatasetBuilder(tokenizer: BenchToyTokenizer())
        var random = BenchRandom(seed: 1)
        let prompts = try builder.random(count: 20, inputLength: 16, outputLength: 8, rangeRatio: 0, random: &random)
        XCTAssertEqual(prompts.count, 20)
        for prompt in prompts {
            let ids = BenchToyTokenizer().encode(prompt.text, addSpecialTokens: false)
            XCTAssertEqual(ids.count, 16)
            XCTAssertEqual(prompt.promptLength, 16)
            XCTAssertEqual(prompt.outputLength, 8)
            XCTAssertFalse(ids.contains { $0 < 2 }, "special tokens in \(prompt.text)")
        }
        XCTAssertGreaterThan(Set(prompts.map(\.text)).count, 15, "prompts differ")

        var ranged = BenchRandom(seed: 2)
        let varied = try builder.random(count: 200, inputLength: 10, outputLength: 10, rangeRatio: 0.5, random: &ranged)
        XCTAssertEqual(varied.map(\.promptLength).min(), 5)
        XCTAssertEqual(varied.map(\.promptLength).max(), 15)
        XCTAssertThrowsError(try builder.random(count: 1, inputLength: 0, outputLength: 1, rangeRatio: 0, random: &ranged))
        XCTAssertThrowsError(try builder.random(count: 1, inputLength: 4, outputLength: 1, rangeRatio: 1, random: &ranged))
    }

    func testPrefixRepetitionSharesPrefixes() throws {
        let builder = try BenchDatasetBuilder(tokenizer: BenchToyTokenizer())
        var random = BenchRandom(seed: 5)
        let prompts = try builder.prefixRepetition(count: 10, prefixLength: 6, suffixLength: 4, numPrefixes: 3,
                                                   outputLength: 7, random: &random)
        XCTAssertEqual(prompts.count, 10)
        let prefixes = Dictionary(grouping: prompts) {
            BenchToyTokenizer().encode($0.text, addSpecialTokens: false).prefix(6).map(String.init).joined(separator: ",")
        }
        XCTAssertEqual(prefixes.count, 3)
        XCTAssertEqual(prefixes.values.map(\.count).sorted(), [3, 3, 4])
        XCTAssertTrue(prompts.allSatisfy { $0.promptLength == 10 && $0.outputLength == 7 })
        XCTAssertThrowsError(try builder.prefixRepetition(count: 2, prefixLength: 1, suffixLength: 1, numPrefixes: 3,
                                                          outputLength: 1, random: &random))
    }

    func testRequestBodyMatchesVLLMClient() throws {
        var settings = BenchServeSettings(model: "m")
        settings.ignoreEOS = true
        let prompt = BenchPrompt(text: "hi", promptLength: 1, outputLength: 5)
        let completion = try XCTUnwrap(JSONSerialization.jsonObject(
            with: BenchServeRunner.requestBody(prompt, settings: settings)) as? [String: Any])
        XCTAssertEqual(completion["prompt"] as? String, "hi")
        XCTAssertEqual(completion["max_tokens"] as? Int, 5)
        XCTAssertEqual(completion["stream"] as? Bool, true)
        XCTAssertEqual(completion["ignore_eos"] as? Bool, true)
        XCTAssertEqual(completion["temperature"] as? Double, 0)
        XCTAssertEqual((completion["stream_options"] as? [String: Bool])?["include_usage"], true)
        settings.endpointPath = "/v1/chat/completions"
        settings.ignoreEOS = false
        let chat = try XCTUnwrap(JSONSerialization.jsonObject(
            with: BenchServeRunner.requestBody(prompt, settings: settings)) as? [String: Any])
        XCTAssertEqual((chat["messages"] as? [[String: String]])?.first?["content"], "hi")
        XCTAssertEqual(chat["max_completion_tokens"] as? Int, 5)
        XCTAssertNil(chat["ignore_eos"])
        XCTAssertNil(chat["prompt"])
    }
}
