import Engine
import XCTest

/// `--speculative-config` JSON: vLLM's fields and defaults, and clear refusals.
final class EngineSpeculativeConfigTests: XCTestCase {
    func testVLLMFieldsAndDefaults() throws {
        let full = try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 5, "prompt_lookup_max": 4, "prompt_lookup_min": 2, "disable_by_batch_size": 8}"#)
        XCTAssertEqual(full, SpeculativeConfig(numSpeculativeTokens: 5, promptLookupMin: 2, promptLookupMax: 4,
                                               disableByBatchSize: 8))
        let bare = try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 3}"#)
        XCTAssertEqual([bare.promptLookupMin, bare.promptLookupMax], [5, 5], "vLLM's defaults")
        let onlyMax = try SpeculativeConfig(json: #"{"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 3}"#)
        XCTAssertEqual([onlyMax.promptLookupMin, onlyMax.promptLookupMax], [3, 3])
    }

    func testDraftModelMethod() throws {
        let explicit = try SpeculativeConfig(json: #"{"method": "draft_model", "model": "/m/draft.gguf", "num_speculative_tokens": 4}"#)
        XCTAssertEqual(explicit.draftModel, "/m/draft.gguf")
        XCTAssertEqual(explicit.method, "draft_model")
        let inferred = try SpeculativeConfig(json: #"{"model": "/m/draft", "num_speculative_tokens": 2}"#)
        XCTAssertEqual(inferred.method, "draft_model", "vLLM infers draft_model from a model path")
        let ngram = try SpeculativeConfig(json: #"{"model": "[ngram]", "num_speculative_tokens": 2}"#)
        XCTAssertEqual(ngram.method, "ngram")
        XCTAssertThrowsError(try SpeculativeConfig(json: #"{"method": "draft_model", "num_speculative_tokens": 2}"#)) {
            XCTAssertTrue("\($0)".contains("needs 'model'"), "\($0)")
        }
    }

    func testRefusals() {
        let cases: [(String, String)] = [
            (#"{"method": "eagle", "num_speculative_tokens": 3}"#, "not supported by this engine yet"),
            (#"{"method": "banana", "num_speculative_tokens": 3}"#, "unknown method"),
            (#"{"method": "ngram"}"#, "num_speculative_tokens is required"),
            (#"{"method": "ngram", "num_speculative_tokens": 0}"#, "at least 1"),
            (#"{"method": "ngram", "num_speculative_tokens": 2, "prompt_lookup_min": 4, "prompt_lookup_max": 2}"#,
             "must be at least prompt_lookup_min"),
            (#"{"method": "ngram", "num_speculative_tokens": 2, "lookahead": 1}"#, "unknown field 'lookahead'"),
            (#"{"method": "ngram", "num_speculative_tokens": 2, "draft_tensor_parallel_size": 2}"#, "must be 1"),
            ("not json", "not valid JSON"),
        ]
        for (json, expected) in cases {
            XCTAssertThrowsError(try SpeculativeConfig(json: json), json) { error in
                XCTAssertEqual((error as? EngineError)?.kind, .invalidConfig)
                XCTAssertTrue("\(error)".contains(expected), "\(json): \(error)")
            }
        }
    }
}

/// Copying an EngineConfig with speculation set keeps every field.
final class EngineSpeculativeConfigCopyTests: XCTestCase {
    func testConfigWithSpeculationCopies() {
        var config = EngineConfig(model: "x")
        config.cacheDirectory = "/tmp/cache"
        config.speculative = SpeculativeConfig(numSpeculativeTokens: 2)
        let copy = config
        XCTAssertEqual(copy.speculative?.numSpeculativeTokens, 2)
        XCTAssertEqual(copy.model, "x")
        XCTAssertEqual(copy.cacheDirectory, "/tmp/cache")
    }
}

/// The periodic "SpecDecoding metrics" line, over the interval only.
final class EngineSpeculationLogLineTests: XCTestCase {
    func testLineReportsTheIntervalsAcceptance() throws {
        var previous = EngineStats(maxModelLen: 64)
        previous.specDecodeNumDrafts = 10
        previous.specDecodeNumDraftTokens = 40
        previous.specDecodeNumAcceptedTokens = 10
        previous.specDecodeAcceptedPerPosition = [6, 3, 1, 0]
        XCTAssertNil(EngineStatsLogLine.speculation(previous: previous, current: previous), "nothing verified")
        var current = previous
        current.specDecodeNumDrafts = 20
        current.specDecodeNumDraftTokens = 80
        current.specDecodeNumAcceptedTokens = 30
        current.specDecodeAcceptedPerPosition = [16, 9, 4, 1]
        let line = try XCTUnwrap(EngineStatsLogLine.speculation(previous: previous, current: current))
        XCTAssertEqual(line, "SpecDecoding metrics: Mean acceptance length: 3.00, Accepted: 20 tokens, Drafted: 40 tokens, "
            + "Per-position acceptance rate: 1.000, 0.600, 0.300, 0.100, Avg Draft acceptance rate: 50.0%")
    }
}
