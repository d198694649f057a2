import Foundation
import XCTest
@testable import Tokenizer

/// Token ids from reference implementations for the real tokenizers in ../shared/assets.
final class TokenizerAssetParityTests: XCTestCase {
    func testLlama2CasesWithTinyLlamaTokenizerJSON() throws {
        let tokenizer = try TokenizerCache.shared.directory("tinyllama")
        try checkLlama2Cases(tokenizer)
    }

    func testLlama2CasesWithSentencePieceModel() throws {
        let tokenizer = try TokenizerCache.shared.directory("llama2c")
        try checkLlama2Cases(tokenizer)
    }

    private func checkLlama2Cases(_ tokenizer: Tokenizer) throws {
        let root = try readJSONObject(try TestPaths.asset("llama2c/llama2_tokenizer_cases.json"))
        let cases = try XCTUnwrap(root["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 5)
        for entry in cases {
            let text = try XCTUnwrap(entry["text"] as? String)
            let expected = try XCTUnwrap(entry["ids"] as? [Int])
            XCTAssertEqual(tokenizer.encode(text), expected, "text: \(text)")
            XCTAssertEqual(tokenizer.decode(expected, skipSpecialTokens: true), text)
        }
        XCTAssertEqual(tokenizer.bosTokenId, 1)
        XCTAssertEqual(tokenizer.eosTokenId, 2)
        XCTAssertTrue(tokenizer.addBosToken)
    }

    func testLlama3TiktokenCases() throws {
        let tokenizer = try TokenizerCache.shared.directory("llama3")
        let root = try readJSONObject(try TestPaths.asset("llama3/llama3_tokenizer_cases.json"))
        for entry in try XCTUnwrap(root["encode"] as? [[String: Any]]) {
            let text = try XCTUnwrap(entry["text"] as? String)
            var ids = tokenizer.encode(text, addSpecialTokens: entry["bos"] as? Bool ?? false)
            if entry["eos"] as? Bool == true, let eos = tokenizer.eosTokenId { ids.append(eos) }
            XCTAssertEqual(ids, try XCTUnwrap(entry["ids"] as? [Int]))
        }
        for entry in try XCTUnwrap(root["decode"] as? [[String: Any]]) {
            XCTAssertEqual(tokenizer.decode(try XCTUnwrap(entry["ids"] as? [Int])), try XCTUnwrap(entry["text"] as? String))
        }
        for entry in try XCTUnwrap(root["encode_message"] as? [[String: Any]]) {
            let role = try XCTUnwrap(entry["role"] as? String)
            let content = try XCTUnwrap(entry["content"] as? String)
            let prompt = "<|start_header_id|>\(role)<|end_header_id|>\n\n\(content)<|eot_id|>"
            XCTAssertEqual(tokenizer.encode(prompt, addSpecialTokens: false), try XCTUnwrap(entry["ids"] as? [Int]))
        }
        XCTAssertEqual(tokenizer.vocabSize, 128256)
        XCTAssertEqual(tokenizer.bosTokenId, 128000)
        XCTAssertEqual(tokenizer.id(forToken: "<|eot_id|>"), 128009)
        XCTAssertTrue(tokenizer.isSpecial(128009))
    }

    func testQwen2VocabAndMerges() throws {
        let tokenizer = try TokenizerCache.shared.directory("qwen2")
        XCTAssertEqual(tokenizer.id(forToken: "<|im_start|>"), 151644)
        XCTAssertEqual(tokenizer.eosTokenId, 151645)
        XCTAssertEqual(tokenizer.padTokenId, 151643)
        XCTAssertFalse(tokenizer.addBosToken)
        XCTAssertNotNil(tokenizer.chatTemplate)
        let ids = tokenizer.encode("<|im_start|>user\nHello world<|im_end|>")
        XCTAssertEqual(ids.first, 151644)
        XCTAssertEqual(ids.last, 151645)
        XCTAssertEqual(tokenizer.decode(ids), "<|im_start|>user\nHello world<|im_end|>")
        XCTAssertEqual(tokenizer.decode(ids, skipSpecialTokens: true), "user\nHello world")
    }

    /// llama.cpp's tokenizer test vectors (.inp/.out), with the GGUF vocab beside them, or our own
    /// copy of the same vocabulary for Llama-3 and Qwen2.
    private func checkVectors(_ name: String, _ tokenizer: () throws -> Tokenizer) throws {
        let folder = try TestPaths.asset("llama.cpp/models")
        let loaded = try tokenizer()
        let (inputs, outputs) = try readVectors(folder: folder, name: name)
        XCTAssertGreaterThan(inputs.count, 40)
        var failures = 0
        for (text, expected) in zip(inputs, outputs) {
            let ids = loaded.encode(text, addSpecialTokens: false)
            if ids != expected {
                failures += 1
                XCTFail("\(name): \(text.debugDescription) -> \(ids), expected \(expected)")
            }
        }
        XCTAssertEqual(failures, 0, "\(name): \(failures)/\(inputs.count) vectors differ")
    }

    private func gguf(_ name: String) -> () throws -> Tokenizer {
        { try TokenizerCache.shared.gguf("llama.cpp/models/ggml-vocab-\(name).gguf") }
    }

    func testVectorsGPT2() throws { try checkVectors("gpt-2", gguf("gpt-2")) }
    func testVectorsLlamaSPM() throws { try checkVectors("llama-spm", gguf("llama-spm")) }
    func testVectorsPhi3() throws { try checkVectors("phi-3", gguf("phi-3")) }
    func testVectorsBertBGE() throws { try checkVectors("bert-bge", gguf("bert-bge")) }
    func testVectorsFalcon() throws { try checkVectors("falcon", gguf("falcon")) }
    func testVectorsDeepSeekCoder() throws { try checkVectors("deepseek-coder", gguf("deepseek-coder")) }
    func testVectorsLlamaBPEWithTiktokenModel() throws { try checkVectors("llama-bpe") { try TokenizerCache.shared.directory("llama3") } }
    func testVectorsQwen2WithVocabMerges() throws { try checkVectors("qwen2") { try TokenizerCache.shared.directory("qwen2") } }

    private func readVectors(folder: String, name: String) throws -> ([String], [[Int]]) {
        let base = URL(fileURLWithPath: folder).appendingPathComponent("ggml-vocab-\(name).gguf")
        let input = try String(contentsOf: base.appendingPathExtension("inp"), encoding: .utf8)
        let output = try String(contentsOf: base.appendingPathExtension("out"), encoding: .utf8)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        var lines = output.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let ids = lines.map { $0.split(separator: " ").compactMap { Int($0) } }
        XCTAssertEqual(texts.count, ids.count, "\(name): .inp and .out disagree on the number of cases")
        return (texts, ids)
    }
}
