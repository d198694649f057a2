import Foundation
import XCTest
@testable import Tokenizer

final class TokenizerStreamingTests: XCTestCase {
    /// Deterministic generator so failures reproduce.
    private struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private func streamed(_ tokenizer: Tokenizer, _ ids: [Int], prompt: [Int] = [], skipSpecial: Bool = true) -> (String, [String]) {
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer, promptTokenIds: prompt, skipSpecialTokens: skipSpecial)
        var deltas: [String] = []
        for id in ids { deltas.append(detokenizer.append(id)) }
        deltas.append(detokenizer.finish())
        XCTAssertEqual(detokenizer.text, deltas.joined())
        return (deltas.joined(), deltas)
    }

    /// Random id sequences (any token, so partial UTF-8 included) stream to the full decode.
    func testByteLevelStreamingMatchesFullDecode() throws {
        let tokenizer = try TokenizerCache.shared.directory("qwen2")
        XCTAssertTrue(IncrementalDetokenizer(tokenizer: tokenizer).decodesTokenByToken, "byte-level decodes token by token")
        XCTAssertFalse(IncrementalDetokenizer(tokenizer: try TokenizerCache.shared.directory("tinyllama")).decodesTokenByToken,
                       "SentencePiece decoders look at neighbours: window decode")
        var rng = SplitMix(state: 42)
        for _ in 0..<200 {
            let ids = (0..<Int.random(in: 1...20, using: &rng)).map { _ in Int.random(in: 0..<tokenizer.vocabSize, using: &rng) }
            XCTAssertEqual(streamed(tokenizer, ids).0, tokenizer.decode(ids, skipSpecialTokens: true), "ids \(ids)")
        }
    }

    /// Realistic byte-level output: characters split over several tokens are held until complete.
    func testByteLevelStreamingHoldsSplitCharacters() throws {
        let tokenizer = try TokenizerCache.shared.directory("qwen2")
        for text in ["Hello 🦙 and 中文 text 😶‍🌫️", "<|im_start|>user\nÜnïcödé ✅<|im_end|>"] {
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            let (streamedText, deltas) = streamed(tokenizer, ids)
            XCTAssertEqual(streamedText, tokenizer.decode(ids, skipSpecialTokens: true), text)
            XCTAssertTrue(deltas.contains(""), "some character of \(text) spans several tokens")
            for delta in deltas { XCTAssertFalse(delta.unicodeScalars.contains("\u{FFFD}"), "partial character emitted for \(text)") }
            XCTAssertEqual(streamed(tokenizer, ids, skipSpecial: false).0, tokenizer.decode(ids, skipSpecialTokens: false))
        }
    }

    /// Realistic SentencePiece output: words plus characters spelled as byte-fallback tokens.
    func testSentencePieceStreamingMatchesFullDecode() throws {
        let tokenizer = try TokenizerCache.shared.directory("tinyllama")
        let texts = ["Hello world, this is 🦙 and 中文 text", "  spaces\n\nnewlines ✅ done", "Ünïcödé 😶‍🌫️ mixed",
                     "<s> special </s> inside"]
        for text in texts {
            let ids = tokenizer.encode(text, addSpecialTokens: true)
            let (streamedText, deltas) = streamed(tokenizer, ids)
            XCTAssertEqual(streamedText, tokenizer.decode(ids, skipSpecialTokens: true), text)
            for delta in deltas { XCTAssertFalse(delta.unicodeScalars.contains("\u{FFFD}"), "partial character emitted for \(text)") }
            let (withSpecials, _) = streamed(tokenizer, ids, skipSpecial: false)
            XCTAssertEqual(withSpecials, tokenizer.decode(ids, skipSpecialTokens: false))
        }
    }

    func testMultiByteCharacterIsHeldUntilComplete() throws {
        let tokenizer = try TokenizerCache.shared.directory("tinyllama")
        // 🦙 has no vocabulary entry: it is four byte-fallback tokens.
        let ids = tokenizer.encode("🦙", addSpecialTokens: false)
        XCTAssertGreaterThanOrEqual(ids.count, 4)
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        var outputs: [String] = []
        for id in ids { outputs.append(detokenizer.append(id)) }
        XCTAssertEqual(outputs.joined(), "🦙")
        XCTAssertEqual(outputs.last, "🦙")
        XCTAssertTrue(outputs.dropLast().allSatisfy { $0.isEmpty || $0 == " " }, "\(outputs)")
    }

    func testIncompleteUTF8IsFlushedAsReplacementCharacter() throws {
        let tokenizer = try TokenizerCache.shared.directory("tinyllama")
        let lead = try XCTUnwrap(tokenizer.id(forToken: "<0xF0>"))
        let hello = try XCTUnwrap(tokenizer.id(forToken: "▁Hello"))
        var detokenizer = IncrementalDetokenizer(tokenizer: tokenizer)
        XCTAssertEqual(detokenizer.append(hello), "Hello")
        XCTAssertEqual(detokenizer.append(lead), "")
        XCTAssertEqual(detokenizer.finish(), "\u{FFFD}")
        XCTAssertEqual(detokenizer.text, "Hello\u{FFFD}")
        XCTAssertEqual(detokenizer.text, tokenizer.decode([hello, lead]))
    }

    func testPromptContextKeepsLeadingSpace() throws {
        let tokenizer = try TokenizerCache.shared.directory("tinyllama")
        let prompt = tokenizer.encode("Once upon a time", addSpecialTokens: true)
        let generated = tokenizer.encode("Once upon a time there was", addSpecialTokens: true).dropFirst(prompt.count)
        let (text, _) = streamed(tokenizer, Array(generated), prompt: prompt)
        XCTAssertEqual(text, " there was")
    }

    func testRoundTripByteLevel() throws {
        let tokenizers = [try TokenizerCache.shared.directory("llama3"), try TokenizerCache.shared.gguf("llama.cpp/models/ggml-vocab-gpt-2.gguf")]
        let texts = ["", " ", "Hello world", "emoji 🚀 😶‍🌫️ 🇯🇵", "中文 日本語 한국어", "e\u{301} a\u{308}", "code:\n\tif x { return }\r\n",
                     "   many   spaces   ", "\u{FEFF}bom \u{200B}zwsp", "<|eot_id|> not special for gpt2"]
        for tokenizer in tokenizers {
            for text in texts {
                XCTAssertEqual(tokenizer.decode(tokenizer.encode(text, addSpecialTokens: false)), text)
            }
        }
    }
}

final class StopStringMatcherTests: XCTestCase {
    func testStopAcrossDeltasTruncatesBeforeIt() {
        var matcher = StopStringMatcher(stopStrings: ["world"])
        var r = matcher.feed("Hello wo")
        XCTAssertEqual(r.emit, "Hello ")
        XCTAssertNil(r.matched)
        r = matcher.feed("rl")
        XCTAssertEqual(r.emit, "")
        r = matcher.feed("d! more")
        XCTAssertEqual(r.emit, "")
        XCTAssertEqual(r.matched, "world")
        XCTAssertTrue(matcher.isStopped)
        XCTAssertEqual(matcher.feed("after").emit, "")
    }

    func testIncludeStopString() {
        var matcher = StopStringMatcher(stopStrings: ["</tool>"], includeStopStringInOutput: true)
        XCTAssertEqual(matcher.feed("call</to").emit, "call")
        let r = matcher.feed("ol>tail")
        XCTAssertEqual(r.emit, "</tool>")
        XCTAssertEqual(r.matched, "</tool>")
    }

    func testHeldTextReleasedWhenItDiverges() {
        var matcher = StopStringMatcher(stopStrings: ["abc"])
        XCTAssertEqual(matcher.feed("xab").emit, "x")
        XCTAssertEqual(matcher.feed("d").emit, "abd")
        XCTAssertEqual(matcher.feed("a").emit, "")
        XCTAssertEqual(matcher.flush(), "a")
        XCTAssertEqual(matcher.flush(), "")
    }

    func testEarliestStopWinsAndOverlappingPrefixes() {
        var matcher = StopStringMatcher(stopStrings: ["bc", "abcd"])
        let first = matcher.feed("xab")
        XCTAssertEqual(first.emit, "x")
        let second = matcher.feed("cd")
        // "abcd" starts before "bc", so it is the stop found first in the text.
        XCTAssertEqual(second.matched, "abcd")
        XCTAssertEqual(second.emit, "")
    }

    func testStopInsideSingleDeltaAndUnicode() {
        var matcher = StopStringMatcher(stopStrings: ["🛑", "\n\n"])
        let r = matcher.feed("line one\nline 🛑 two")
        XCTAssertEqual(r.emit, "line one\nline ")
        XCTAssertEqual(r.matched, "🛑")
    }

    func testNoStopStringsPassesThrough() {
        var matcher = StopStringMatcher(stopStrings: [""])
        XCTAssertEqual(matcher.feed("anything").emit, "anything")
        XCTAssertNil(matcher.feed("x").matched)
    }

    /// Streaming any split of a text gives the same result as matching the whole text.
    func testEverySplitPointAgrees() {
        let text = "The answer is 42.\nUser: next question"
        for cut in 0...text.count {
            var matcher = StopStringMatcher(stopStrings: ["User:", "Assistant:"])
            let a = matcher.feed(String(text.prefix(cut)))
            let b = matcher.feed(String(text.dropFirst(cut)))
            let output = a.emit + b.emit + (matcher.isStopped ? "" : matcher.flush())
            XCTAssertEqual(output, "The answer is 42.\n", "cut \(cut)")
            XCTAssertEqual(a.matched ?? b.matched, "User:")
        }
    }
}

final class TokenizerConcurrencyTests: XCTestCase {
    /// One tokenizer shared by many threads (the word cache is shared) gives the same ids everywhere.
    func testConcurrentEncodeIsConsistent() throws {
        let tokenizer = try TokenizerCache.shared.gguf("llama.cpp/models/ggml-vocab-gpt-2.gguf")
        let texts = (0..<64).map { "thread text \($0): the quick brown fox \($0 * 7919) jumps 🦊 over \(String(repeating: "lazy ", count: $0 % 5))dogs" }
        let expected = texts.map { tokenizer.encode($0) }
        let results = UnsafeMutableBufferPointer<[Int]>.allocate(capacity: texts.count * 4)
        results.initialize(repeating: [])
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: texts.count * 4) { index in
            results[index] = tokenizer.encode(texts[index % texts.count])
        }
        for index in 0..<(texts.count * 4) { XCTAssertEqual(results[index], expected[index % texts.count]) }
    }
}
