// The model registry: a family registered from outside the Llama file loads through the same
// ModelLoader path as the built-in ones, and the engine-facing type is `any CausalLanguageModel`.

import Foundation
import Models
import Weights
import XCTest

/// A stand-in family: no weights, one layer of sliding-window attention and one of full attention.
final class FakeFamilyModel: CausalLanguageModel, ModelArchitecture {
    static let architectureNames = ["FakeFamilyForCausalLM", "fakefamily"]
    let spec: ModelSpec
    let loadedFrom: String

    init(vocabSize: Int, loadedFrom: String) {
        spec = ModelSpec(architecture: "FakeFamilyForCausalLM", vocabSize: vocabSize, maxPositionEmbeddings: 512,
                         layers: [AttentionLayerSpec(numKVHeads: 2, headDim: 8, slidingWindow: 64),
                                  AttentionLayerSpec(numKVHeads: 1, headDim: 16)])
        self.loadedFrom = loadedFrom
    }

    static func load(_ source: ModelSource) throws -> any CausalLanguageModel {
        switch source {
        case let .huggingFace(folder, configJSON):
            let object = try JSONSerialization.jsonObject(with: configJSON) as? [String: Any]
            return FakeFamilyModel(vocabSize: object?["vocab_size"] as? Int ?? 0, loadedFrom: folder)
        case let .gguf(file):
            return FakeFamilyModel(vocabSize: 32, loadedFrom: file.path)
        }
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize * spec.kvElementsPerToken * 2 }
    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {}
    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {}
}

final class ModelsRegistryTests: XCTestCase {
    func folder(architecture: String, vocabSize: Int = 99) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let config = #"{"architectures": ["\#(architecture)"], "vocab_size": \#(vocabSize)}"#
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
        return folder.path
    }

    func testFamilyRegisteredFromOutsideLoadsThroughTheLoader() throws {
        let registry = ModelRegistry(builtIn: [LlamaModel.self])
        let path = try folder(architecture: "FakeFamilyForCausalLM")
        XCTAssertThrowsError(try ModelLoader.load(.huggingFaceFolder(path), registry: registry)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedArchitecture("FakeFamilyForCausalLM"))
        }
        registry.register(FakeFamilyModel.self)
        let model = try ModelLoader.load(.huggingFaceFolder(path), registry: registry)
        let fake = try XCTUnwrap(model as? FakeFamilyModel)
        XCTAssertEqual(fake.loadedFrom, path)
        XCTAssertEqual(model.spec.vocabSize, 99)
        XCTAssertEqual(model.spec.layers.map(\.slidingWindow), [64, nil], "a KV spec per layer")
        XCTAssertEqual(model.spec.kvElementsPerToken, 2 * (2 * 8 + 16))
        // The built-in family still loads from the same registry.
        let llama = try ModelLoader.load(.huggingFaceFolder(TestPaths.fixture("llama_untied")), registry: registry)
        XCTAssertTrue(llama is LlamaModel)
        XCTAssertEqual(llama.spec.architecture, "LlamaForCausalLM")
    }

    func testSharedRegistryKnowsTheBuiltInArchitecturesAndNamesThemInErrors() throws {
        let names = ModelRegistry.shared.architectureNames
        for name in ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                     "llama", "qwen2", "qwen3"] {
            XCTAssertTrue(names.contains(name), name)
        }
        let path = try folder(architecture: "GPT2LMHeadModel")
        XCTAssertThrowsError(try ModelLoader.load(.huggingFaceFolder(path))) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("['GPT2LMHeadModel'] are not supported"), message)
            XCTAssertTrue(message.contains("Qwen3ForCausalLM"), message)
        }
    }

    func testGGUFArchitectureComesFromItsMetadata() throws {
        let source = try ModelLoader.source(for: .ggufFile(TestPaths.fixture("gguf/qwen2.gguf")))
        XCTAssertEqual(try source.architectureName(), "qwen2")
    }
}
