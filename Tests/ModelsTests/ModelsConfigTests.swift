import Foundation
import Models
import XCTest

final class ModelsConfigTests: XCTestCase {
    func parse(_ json: String) throws -> LlamaConfig {
        try LlamaConfig(huggingFaceConfigJSON: Data(json.utf8), source: "test/config.json")
    }

    let minimal = """
    {"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 172,
     "num_hidden_layers": 5, "num_attention_heads": 8, "vocab_size": 512
    """

    func testDefaultsFollowHF() throws {
        let config = try parse(minimal + "}")
        XCTAssertEqual(config.family, .llama)
        XCTAssertEqual(config.numKVHeads, 8)
        XCTAssertEqual(config.headDim, 8)
        XCTAssertEqual(config.rotaryDim, 8)
        XCTAssertEqual(config.ropeTheta, 10000)
        XCTAssertEqual(config.ropeScaling, RopeScaling.none)
        XCTAssertFalse(config.tieWordEmbeddings)
        XCTAssertFalse(config.hasQKNorm)
        XCTAssertEqual(config.eosTokenIds, [])
    }

    func testExplicitHeadDimAndIntegerValuedFieldsOfOne() throws {
        let config = try parse(minimal + #", "head_dim": 24, "num_key_value_heads": 1, "bos_token_id": 1, "eos_token_id": [2, 7], "tie_word_embeddings": true}"#)
        XCTAssertEqual(config.headDim, 24)
        XCTAssertEqual(config.qDim, 8 * 24)
        XCTAssertEqual(config.numKVHeads, 1)
        XCTAssertEqual(config.bosTokenId, 1)
        XCTAssertEqual(config.eosTokenIds, [2, 7])
        XCTAssertTrue(config.tieWordEmbeddings)
    }

    func testNullHeadDimFallsBackToHiddenOverHeads() throws {
        XCTAssertEqual(try parse(minimal + #", "head_dim": null}"#).headDim, 8)
    }

    func testRopeScalingVariants() throws {
        let llama3 = try parse(minimal + #", "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}"#)
        XCTAssertEqual(llama3.ropeScaling, .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192))
        let linear = try parse(minimal + #", "rope_scaling": {"type": "linear", "factor": 2}}"#)
        XCTAssertEqual(linear.ropeScaling, .linear(factor: 2))
        XCTAssertEqual(try parse(minimal + #", "rope_scaling": null}"#).ropeScaling, RopeScaling.none)
    }

    func testUnsupportedRopeScalingIsNamed() {
        XCTAssertThrowsError(try parse(minimal + #", "rope_scaling": {"rope_type": "yarn", "factor": 4}}"#)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedRopeScaling("yarn"))
            XCTAssertTrue("\(error)".contains("yarn"))
        }
    }

    func testUnknownArchitectureIsNamed() {
        let json = minimal.replacingOccurrences(of: "LlamaForCausalLM", with: "GPT2LMHeadModel") + "}"
        XCTAssertThrowsError(try parse(json)) { error in
            XCTAssertEqual(error as? ModelError, .unsupportedArchitecture("GPT2LMHeadModel"))
            XCTAssertTrue("\(error)".contains("GPT2LMHeadModel"))
        }
    }

    func testMissingAndMistypedFieldsNameFileAndField() {
        let missing = #"{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10}"#
        XCTAssertThrowsError(try parse(missing)) { error in
            XCTAssertEqual(error as? ModelError, .missingField(source: "test/config.json", field: "intermediate_size"))
        }
        XCTAssertThrowsError(try parse(minimal + #", "num_key_value_heads": "two"}"#)) { error in
            XCTAssertTrue("\(error)".contains("num_key_value_heads"), "\(error)")
        }
        XCTAssertThrowsError(try parse(minimal + #", "num_key_value_heads": 3}"#)) { error in
            XCTAssertTrue("\(error)".contains("does not divide"), "\(error)")
        }
        XCTAssertThrowsError(try parse("[1, 2]")) { error in
            XCTAssertTrue("\(error)".contains("test/config.json"), "\(error)")
        }
    }

    func testFamiliesAndQwen3QKNorm() throws {
        XCTAssertEqual(try parse(minimal.replacingOccurrences(of: "LlamaForCausalLM", with: "MistralForCausalLM") + "}").family, .mistral)
        XCTAssertEqual(try parse(minimal.replacingOccurrences(of: "LlamaForCausalLM", with: "Qwen2ForCausalLM") + "}").family, .qwen2)
        let qwen3 = try parse(minimal.replacingOccurrences(of: "LlamaForCausalLM", with: "Qwen3ForCausalLM") + "}")
        XCTAssertEqual(qwen3.family, .qwen3)
        XCTAssertTrue(qwen3.hasQKNorm)
    }

    func testMissingFolderErrorNamesPath() {
        XCTAssertThrowsError(try LlamaConfig(huggingFaceFolder: "/nonexistent/model")) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/model/config.json"), "\(error)")
        }
    }

    func testLlama3InverseFrequenciesKeepHighAndSlowLowFrequencies() throws {
        var config = try parse(minimal + "}")
        config.ropeTheta = 500000
        config.headDim = 64
        config.rotaryDim = 64
        let plain = ropeInverseFrequencies(config: config)
        config.ropeScaling = .llama3(factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192)
        let scaled = ropeInverseFrequencies(config: config)
        XCTAssertEqual(scaled.count, 32)
        XCTAssertEqual(scaled[0], plain[0])  // wavelength 2*pi: far below 8192/4
        XCTAssertEqual(scaled[31], plain[31] / 32, accuracy: plain[31] * 1e-6)  // wavelength far above 8192
        config.ropeScaling = .linear(factor: 4)
        XCTAssertEqual(ropeInverseFrequencies(config: config)[5], plain[5] / 4)
    }
}
