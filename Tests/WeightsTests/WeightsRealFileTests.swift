import Foundation
import XCTest
@testable import Weights

/// Real-world parse checks against files produced by other tools.
final class WeightsRealFileTests: XCTestCase {
    func testVocabOnlyGGUFsFromLlamaCpp() throws {
        let folder = try WeightsTestPaths.requireAsset("llama.cpp/models")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".gguf") }.sorted()
        XCTAssertFalse(names.isEmpty, "no .gguf files in \(folder)")
        for name in names {
            let file = try GGUFFile(path: (folder as NSString).appendingPathComponent(name))
            XCTAssertTrue([2, 3].contains(file.version), name)
            let architecture = file.metadata["general.architecture"]?.string
            XCTAssertNotNil(architecture, name)
            XCTAssertNotNil(file.metadata["tokenizer.ggml.model"]?.string, name)
            let tokens = try XCTUnwrap(file.metadata["tokenizer.ggml.tokens"]?.strings, name)
            XCTAssertGreaterThan(tokens.count, 1000, name)
            if let types = file.metadata["tokenizer.ggml.token_type"]?.ints {
                XCTAssertEqual(types.count, tokens.count, name)
            }
            if let scores = file.metadata["tokenizer.ggml.scores"]?.floats {
                XCTAssertEqual(scores.count, tokens.count, name)
            }
            if let bos = file.metadata["tokenizer.ggml.bos_token_id"]?.int {
                XCTAssertLessThan(bos, tokens.count, name)
            }
        }
    }

    func testLlamaSentencePieceVocabContents() throws {
        let path = try WeightsTestPaths.requireAsset("llama.cpp/models/ggml-vocab-llama-spm.gguf")
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.metadata["general.architecture"]?.string, "llama")
        XCTAssertEqual(file.metadata["tokenizer.ggml.model"]?.string, "llama")
        let tokens = try XCTUnwrap(file.metadata["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.count, 32000)
        XCTAssertEqual(Array(tokens.prefix(3)), ["<unk>", "<s>", "</s>"])
        XCTAssertEqual(tokens[3], "<0x00>")
        XCTAssertEqual(file.metadata["tokenizer.ggml.scores"]?.floats?.count, 32000)
    }

    func testDefaultModelWhenCached() throws {
        let cache = ModelLocator.defaultCacheDirectory
        let cached = (cache as NSString).appendingPathComponent(DefaultModel.fileName)
        let mayDownload = ProcessInfo.processInfo.environment["VLLM_TEST_DOWNLOAD"] == "1"
        guard FileManager.default.fileExists(atPath: cached) || mayDownload else {
            throw XCTSkip("default model not cached at \(cached); run `vllm` once or set VLLM_TEST_DOWNLOAD=1 to fetch it (about 100 MB)")
        }
        let location = try ModelLocator.resolve(nil)
        XCTAssertEqual(location, .ggufFile(cached))
        XCTAssertEqual(try ModelLocator.resolve(DefaultModel.name), location)

        let file = try GGUFFile(path: cached)
        let m = file.metadata
        XCTAssertEqual(m["general.architecture"]?.string, "llama")
        XCTAssertEqual(m["llama.block_count"]?.int, 30)
        XCTAssertEqual(m["llama.embedding_length"]?.int, 576)
        XCTAssertEqual(m["llama.attention.head_count"]?.int, 9)
        XCTAssertEqual(m["llama.attention.head_count_kv"]?.int, 3)
        let tokens = try XCTUnwrap(m["tokenizer.ggml.tokens"]?.strings)
        XCTAssertEqual(tokens.count, 49152)
        XCTAssertNotNil(m["tokenizer.ggml.merges"]?.strings)

        // Counts and layout cross-checked against an independent Python reader of the same file.
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.metadata.count, 33)
        XCTAssertEqual(file.tensorNames.count, 272)
        XCTAssertEqual(m["tokenizer.ggml.model"]?.string, "gpt2")
        XCTAssertEqual(m["tokenizer.ggml.merges"]?.strings?.count, 48900)
        XCTAssertEqual(m["llama.rope.freq_base"]?.double, 100_000)
        let embedding = try file.tensor("token_embd.weight")
        XCTAssertEqual(embedding.shape, [49152, 576])
        XCTAssertEqual(embedding.dtype, .q8_0)
        XCTAssertEqual(embedding.byteCount, 49152 * 576 / 32 * 34)
        let down = try file.tensor("blk.0.ffn_down.weight")
        XCTAssertEqual(down.shape, [576, 1536], "ne [1536, 576] reversed to [out, in]")
        XCTAssertEqual(down.dtype, .q4_1)
        XCTAssertEqual(try file.tensor("blk.0.attn_k.weight").shape, [192, 576])
        XCTAssertEqual(try file.tensor("blk.29.attn_norm.weight").dtype, .f32)
        XCTAssertFalse(file.contains("output.weight"), "embeddings are tied")
        for name in file.tensorNames {
            XCTAssertNoThrow(try file.tensor(name), name)
        }
    }
}
