import Foundation
import XCTest
@testable import Tokenizer

/// Normalizers, pre-tokenizers, decoders and added-token flags checked against HF `tokenizers`
/// on small generated tokenizer.json files (Fixtures/variants, from scripts/make_tokenizer_fixtures.py).
final class TokenizerPipelineVariantTests: XCTestCase {
    private func check(_ name: String) throws {
        let folder = TestPaths.fixtures.appendingPathComponent("variants")
        let all = try readJSONObject(folder.appendingPathComponent("cases.json").path)
        let cases = try XCTUnwrap(all[name] as? [[String: Any]], "no cases for \(name)")
        let tokenizer = try Tokenizer.load(directory: folder.appendingPathComponent(name).path)
        for item in cases {
            let text = try XCTUnwrap(item["text"] as? String)
            let expected = try XCTUnwrap(item["ids"] as? [Int])
            XCTAssertEqual(tokenizer.encode(text, addSpecialTokens: true), expected, "\(name) encode \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(expected), item["decoded"] as? String, "\(name) decode \(text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(expected, skipSpecialTokens: true), item["decoded_skip_special"] as? String,
                           "\(name) decode skipping specials \(text.debugDescription)")
        }
    }

    func testAddedTokenFlags() throws { try check("flags") }
    func testMetaspacePrependFirst() throws { try check("metaspace_first") }
    func testMetaspaceSplitWithNFKCLowercase() throws { try check("metaspace_split") }
    func testSplitBehaviorsAndStripReplaceNormalizers() throws { try check("splitters") }
    func testWhitespaceAndDigits() throws { try check("whitespace_digits") }
    func testWhitespaceSplitAndBertPieces() throws { try check("whitespace_split_bert") }

    func testMissingFolderGivesClearError() {
        XCTAssertThrowsError(try Tokenizer.load(directory: "/nonexistent/tokenizer")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/tokenizer"), "\(error)")
        }
    }

    func testMalformedTokenizerJSONNamesTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tok-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}".utf8)
            .write(to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: folder.path)) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.json"), "\(error)")
        }
        try Data("{\"model\": ".utf8).write(to: folder.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: folder.path)) { error in
            XCTAssertTrue("\(error)".contains("invalid JSON"), "\(error)")
        }
    }

    func testUnsupportedGGUFModelIsAnError() {
        XCTAssertThrowsError(try Tokenizer(gguf: GGUFTokenizerData(model: "t5", tokens: ["a"])))
        XCTAssertThrowsError(try Tokenizer(gguf: GGUFTokenizerData(model: "gpt2", tokens: ["a"])))  // no merges
        XCTAssertThrowsError(try Tokenizer(gguf: GGUFTokenizerData(model: "llama", tokens: [])))
    }
}
