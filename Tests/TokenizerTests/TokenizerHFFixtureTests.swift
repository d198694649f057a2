import Foundation
import XCTest
@testable import Tokenizer

/// Compares against ids and decodes produced by Hugging Face `tokenizers`
/// (Fixtures/hf_tokenizer_cases.json, from scripts/make_tokenizer_fixtures.py).
final class TokenizerHFFixtureTests: XCTestCase {
    static let smolLMPath = FileManager.default.homeDirectoryForCurrentUser
        .appendingPathComponent(".cache/swift-vllm/SmolLM2-135M-Instruct.Q4_1.gguf").path

    private func fixture(_ name: String) throws -> [String: Any] {
        let root = try readJSONObject(TestPaths.fixtures.appendingPathComponent("hf_tokenizer_cases.json").path)
        let all = try XCTUnwrap(root["tokenizers"] as? [String: Any])
        return try XCTUnwrap(all[name] as? [String: Any], "fixture has no \(name)")
    }

    private func check(_ name: String, _ tokenizer: Tokenizer, file: StaticString = #filePath, line: UInt = #line) throws {
        let entry = try fixture(name)
        XCTAssertEqual(tokenizer.vocabSize, entry["vocab_size"] as? Int, "\(name) vocab size", file: file, line: line)
        for item in try XCTUnwrap(entry["cases"] as? [[String: Any]]) {
            let text = try XCTUnwrap(item["text"] as? String)
            let expected = try XCTUnwrap(item["ids"] as? [Int])
            let ids = tokenizer.encode(text, addSpecialTokens: false)
            XCTAssertEqual(ids, expected, "\(name) encode \(text.debugDescription)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(expected), item["decoded"] as? String, "\(name) decode of \(text.debugDescription)", file: file, line: line)
        }
        for item in try XCTUnwrap(entry["decode"] as? [[String: Any]]) {
            let ids = try XCTUnwrap(item["ids"] as? [Int])
            XCTAssertEqual(tokenizer.decode(ids), item["text"] as? String, "\(name) decode \(ids)", file: file, line: line)
            XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), item["text_skip_special"] as? String,
                           "\(name) decode skipping specials \(ids)", file: file, line: line)
        }
    }

    func testTinyLlamaTokenizerJSON() throws { try check("tinyllama", try TokenizerCache.shared.directory("tinyllama")) }
    func testStories260KTokenizerJSON() throws { try check("stories260K", try TokenizerCache.shared.directory("stories260K-hf")) }
    func testQwen2VocabMerges() throws { try check("qwen2", try TokenizerCache.shared.directory("qwen2")) }
    func testGPT2FromGGUF() throws { try check("gpt2", try TokenizerCache.shared.gguf("llama.cpp/models/ggml-vocab-gpt-2.gguf")) }
    func testBertFromGGUF() throws { try check("bert", try TokenizerCache.shared.gguf("llama.cpp/models/ggml-vocab-bert-bge.gguf")) }

    func testSmolLM2FromGGUF() throws {
        guard FileManager.default.fileExists(atPath: Self.smolLMPath) else {
            throw XCTSkip("SmolLM2 GGUF not cached at \(Self.smolLMPath)")
        }
        let tokenizer = try Tokenizer(gguf: try TestGGUFReader.tokenizerData(path: Self.smolLMPath))
        try check("smollm2", tokenizer)
        XCTAssertEqual(tokenizer.eosTokenId, 2)
        XCTAssertFalse(tokenizer.addBosToken)
        XCTAssertTrue(tokenizer.isSpecial(1))
        XCTAssertNotNil(tokenizer.chatTemplate)
        XCTAssertEqual(tokenizer.encode("<|im_start|>user\n", addSpecialTokens: true).first, 1)
    }
}
