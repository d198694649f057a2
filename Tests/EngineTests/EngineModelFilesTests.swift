@testable import Engine
import EngineCore
import Foundation
import Weights
import JSON
import XCTest

/// Tokenizer, stop ids, chat template and sampling defaults read from model folders and GGUF metadata.
final class EngineModelFilesTests: XCTestCase {
    private func asset(_ relative: String) throws -> String {
        let path = EngineStoriesTests.assets + "/" + relative
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("\(relative) not found under \(EngineStoriesTests.assets) (shared assets folder absent)")
        }
        return path
    }

    func testHuggingFaceFolderGivesTokenizerEOSAndNoTemplate() throws {
        let folder = try asset("stories260K-hf")
        let files = try ModelSideFiles.loadHuggingFace(folder: folder, generationConfig: "auto")
        XCTAssertEqual(files.eosTokenIds, [2])
        XCTAssertNil(files.chatTemplate)
        XCTAssertTrue(files.generationDefaults.isEmpty, "stories260K's generation_config has no sampling keys")
        XCTAssertEqual(files.tokenizer.decode(files.tokenizer.encode("Once upon a time"), skipSpecialTokens: true),
                       "Once upon a time")
    }

    func testGenerationConfigDefaultsAndEOSLists() throws {
        let folder = NSTemporaryDirectory() + "engine-genconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let json = #"{"temperature": 0.6, "top_p": 0.9, "top_k": 1, "do_sample": true, "eos_token_id": [7, 9], "max_new_tokens": 64}"#
        try json.write(toFile: folder + "/generation_config.json", atomically: true, encoding: .utf8)
        let defaults = try ModelSideFiles.generationDefaults("auto", modelFolder: folder)
        XCTAssertEqual(defaults, GenerationDefaults(temperature: 0.6, topP: 0.9, topK: 1, maxTokens: 64))
        let params = defaults.samplingParams()
        XCTAssertEqual(params.temperature, 0.6)
        XCTAssertEqual(params.topK, 1)
        XCTAssertEqual(params.maxTokens, 64)
        XCTAssertEqual(params.repetitionPenalty, 1)
        XCTAssertTrue(try ModelSideFiles.generationDefaults("vllm", modelFolder: folder).isEmpty)
        XCTAssertEqual(try ModelSideFiles.generationDefaults(folder, modelFolder: nil), defaults)
        XCTAssertThrowsError(try ModelSideFiles.generationDefaults("/no/such/folder", modelFolder: nil))
        XCTAssertEqual(JSONValue.array([7, 9]).intList, [7, 9])
        XCTAssertEqual(JSONValue.int(3).intList, [3])
        XCTAssertEqual(JSONValue.bool(true).intList, [], "a JSON boolean is not an id")
        XCTAssertEqual(JSONValue.array([7, "x", 9]).intList, [7, 9])
    }

    func testGGUFMetadataBuildsTheTokenizer() throws {
        for name in ["ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf"] {
            let path = try asset("llama.cpp/models/" + name)
            let files = try ModelSideFiles.loadGGUF(path: path, generationConfig: "auto")
            let text = "Hello world, it's 2024!"
            let ids = files.tokenizer.encode(text, addSpecialTokens: false)
            XCTAssertFalse(ids.isEmpty, name)
            XCTAssertEqual(files.tokenizer.decode(ids, skipSpecialTokens: true), text, name)
            XCTAssertFalse(files.eosTokenIds.isEmpty, name)
        }
    }

    func testGGUFWithoutTokenizerIsAClearError() throws {
        XCTAssertThrowsError(try ModelSideFiles.ggufTokenizerData([:], path: "x.gguf")) { error in
            XCTAssertTrue("\(error)".contains("tokenizer.ggml.model"), "\(error)")
        }
    }
}
