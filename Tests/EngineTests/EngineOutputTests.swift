import Engine
import EngineCore
import XCTest

/// Text, stop strings, stop tokens, output kinds, logprobs and n > 1 on the scripted fake model.
final class EngineOutputTests: XCTestCase {
    typealias Support = EngineTestSupport

    func testGreedyTextFollowsScriptAndFinishesByLength() throws {
        let engine = try Support.engine(.script(Support.script))
        try engine.addRequest(requestId: "a", prompt: .text("hi"), params: Support.greedy(maxTokens: 10))
        let final = try XCTUnwrap(Support.runToCompletion(engine)["a"])
        XCTAssertEqual(final.promptTokenIds, FakeTokenizer.ids("hi"))
        XCTAssertEqual(final.prompt, "hi")
        XCTAssertEqual(final.outputs.count, 1)
        XCTAssertEqual(final.outputs[0].text, Support.scripted(promptLength: 2, count: 10))
        XCTAssertEqual(final.outputs[0].tokenIds.count, 10)
        XCTAssertEqual(final.outputs[0].finishReason, .length)
        XCTAssertNil(final.outputs[0].stopReason)
        XCTAssertEqual(engine.stats().requestSuccess["length"], 1)
        XCTAssertEqual(engine.stats().kvCacheUsage, 0)
    }

    func testStopStringEndsGenerationAndIsRemovedFromText() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 40)
        params.stop = ["fox"]
        try engine.addRequest(requestId: "a", prompt: .text("x"), params: params)
        let final = try XCTUnwrap(Support.runToCompletion(engine)["a"])
        let full = Support.scripted(promptLength: 1, count: 40)
        let expected = String(full[..<full.range(of: "fox")!.lowerBound])
        XCTAssertEqual(final.outputs[0].text, expected)
        XCTAssertEqual(final.outputs[0].finishReason, .stop)
        XCTAssertEqual(final.outputs[0].stopReason, .string("fox"))
        XCTAssertEqual(final.outputs[0].tokenIds.count, expected.utf8.count + 3)
        let stats = engine.stats()
        XCTAssertEqual(stats.kvCacheUsage, 0, "stop string must free the request's blocks")
        XCTAssertEqual(stats.numRunning, 0)
        XCTAssertFalse(engine.hasUnfinishedRequests)
    }

    func testIncludeStopStringInOutput() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 40)
        params.stop = ["lazy", "fox"]
        params.includeStopStrInOutput = true
        try engine.addRequest(requestId: "a", prompt: .text("x"), params: params)
        let final = try XCTUnwrap(Support.runToCompletion(engine)["a"])
        let full = Support.scripted(promptLength: 1, count: 40)
        XCTAssertEqual(final.outputs[0].text, String(full[..<full.range(of: "fox")!.upperBound]))
        XCTAssertEqual(final.outputs[0].stopReason, .string("fox"))
    }

    func testStopTokenIdFinishesWithItsIdAndHidesItsText() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 40)
        params.stopTokenIds = [Int(UInt8(ascii: "k"))]
        try engine.addRequest(requestId: "a", prompt: .text("x"), params: params)
        let final = try XCTUnwrap(Support.runToCompletion(engine)["a"])
        let full = Support.scripted(promptLength: 1, count: 40)
        let expected = String(full[..<full.firstIndex(of: "k")!])
        XCTAssertEqual(final.outputs[0].text, expected)
        XCTAssertEqual(final.outputs[0].tokenIds.last, Int(UInt8(ascii: "k")))
        XCTAssertEqual(final.outputs[0].finishReason, .stop)
        XCTAssertEqual(final.outputs[0].stopReason, .tokenId(Int(UInt8(ascii: "k"))))
    }

    func testEOSFinishesWithStopAndNoStopReason() throws {
        let script = FakeTokenizer.ids("abcdef") + [FakeTokenizer.eosId]
        let engine = try Support.engine(.script(script))
        try engine.addRequest(requestId: "a", prompt: .tokenIds([97]), params: Support.greedy(maxTokens: 40))
        let final = try XCTUnwrap(Support.runToCompletion(engine)["a"])
        XCTAssertEqual(final.outputs[0].text, "bcdef")
        XCTAssertEqual(final.outputs[0].tokenIds, FakeTokenizer.ids("bcdef") + [FakeTokenizer.eosId])
        XCTAssertEqual(final.outputs[0].finishReason, .stop)
        XCTAssertNil(final.outputs[0].stopReason)
        XCTAssertNil(final.prompt)
    }

    func testDeltaOutputsConcatenateToCumulativeText() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 30)
        params.stop = ["over"]
        try engine.addRequest(requestId: "d", prompt: .text("ab"), params: params, outputKind: .delta)
        try engine.addRequest(requestId: "c", prompt: .text("ab"), params: params, outputKind: .cumulative)
        try engine.addRequest(requestId: "f", prompt: .text("ab"), params: params, outputKind: .finalOnly)
        var deltaText = ""
        var deltaIds: [Int] = []
        var counts: [String: Int] = [:]
        var finals: [String: RequestOutput] = [:]
        while engine.hasUnfinishedRequests {
            for output in try engine.step() {
                counts[output.requestId, default: 0] += 1
                if output.requestId == "d" {
                    deltaText += output.outputs.map(\.text).joined()
                    deltaIds += output.outputs.flatMap(\.tokenIds)
                }
                if output.finished { finals[output.requestId] = output }
            }
        }
        let cumulative = try XCTUnwrap(finals["c"]?.outputs.first)
        XCTAssertEqual(deltaText, cumulative.text)
        XCTAssertEqual(deltaIds, cumulative.tokenIds)
        XCTAssertEqual(finals["f"]?.outputs.first?.text, cumulative.text)
        XCTAssertEqual(counts["f"], 1, "final-only reports once")
        XCTAssertGreaterThan(counts["d"] ?? 0, 1)
        XCTAssertEqual(finals["d"]?.outputs.first?.numGeneratedTokens, cumulative.tokenIds.count)
    }

    func testParallelSamplingReturnsIndexedCompletions() throws {
        let engine = try Support.engine(.hash(eosModulo: 0))
        var params = SamplingParams()
        params.n = 3
        params.seed = 11
        params.maxTokens = 12
        try engine.addRequest(requestId: "p", prompt: .text("once upon a time there was a prompt"), params: params)
        let final = try XCTUnwrap(Support.runToCompletion(engine)["p"])
        XCTAssertEqual(final.outputs.map(\.index), [0, 1, 2])
        XCTAssertTrue(final.outputs.allSatisfy { $0.tokenIds.count == 12 && $0.finishReason == .length })
        XCTAssertGreaterThan(Set(final.outputs.map(\.text)).count, 1, "children use different seeds")
        XCTAssertEqual(engine.stats().requestSuccess["length"], 3)
        XCTAssertEqual(engine.stats().kvCacheUsage, 0)

        // Reproducible: the same request again gives the same three completions.
        try engine.addRequest(requestId: "q", prompt: .text("once upon a time there was a prompt"), params: params)
        let again = try XCTUnwrap(Support.runToCompletion(engine)["q"])
        XCTAssertEqual(again.outputs.map(\.text), final.outputs.map(\.text))
    }

    func testLogprobsInTextForm() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 5)
        params.logprobs = 2
        params.promptLogprobs = 1
        try engine.addRequest(requestId: "l", prompt: .text("abc"), params: params)
        let final = try XCTUnwrap(Support.runToCompletion(engine)["l"])
        let output = final.outputs[0]
        let logprobs = try XCTUnwrap(output.logprobs)
        XCTAssertEqual(logprobs.count, 5)
        for (position, entry) in logprobs.enumerated() {
            XCTAssertEqual(entry.chosen.tokenId, output.tokenIds[position])
            XCTAssertEqual(entry.chosen.token, String(Array(output.text)[position]))
            XCTAssertEqual(entry.chosen.rank, 1, "greedy picks the most likely token")
            XCTAssertEqual(entry.top.count, 2)
            XCTAssertEqual(entry.top[0].tokenId, entry.chosen.tokenId)
        }
        let sum = logprobs.reduce(0.0) { $0 + Double($1.chosen.logprob) }
        XCTAssertEqual(try XCTUnwrap(output.cumulativeLogprob), sum, accuracy: 1e-6)
        let prompt = try XCTUnwrap(final.promptLogprobs)
        XCTAssertEqual(prompt.count, 3)
        XCTAssertNil(prompt[0])
        XCTAssertEqual(prompt[1]?.chosen.tokenId, 98)
        XCTAssertEqual(prompt[1]?.chosen.token, "b")
        XCTAssertEqual(prompt[2]?.top.count, 1)
    }

    func testAbortReturnsFinalOutputAndFreesBlocks() throws {
        let engine = try Support.engine(.script(Support.script))
        var params = Support.greedy(maxTokens: 100)
        params.n = 2
        try engine.addRequest(requestId: "a", prompt: .text(String(repeating: "z", count: 40)), params: params)
        _ = try engine.step()
        _ = try engine.step()
        XCTAssertGreaterThan(engine.stats().kvCacheUsage, 0)
        let outputs = engine.abort(["a", "unknown"])
        XCTAssertEqual(outputs.count, 1)
        XCTAssertTrue(outputs[0].finished)
        XCTAssertEqual(outputs[0].outputs.map(\.finishReason), [.abort, .abort])
        XCTAssertFalse(engine.hasUnfinishedRequests)
        XCTAssertEqual(engine.stats().kvCacheUsage, 0)
        XCTAssertEqual(engine.stats().requestSuccess["abort"], 2)
    }
}
