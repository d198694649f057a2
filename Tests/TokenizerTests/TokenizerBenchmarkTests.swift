import Foundation
import XCTest
@testable import Tokenizer

/// Encode throughput on a text file; runs only when TOKENIZER_BENCH_TEXT names the file
/// (make it with `python3 scripts/make_tokenizer_fixtures.py --bench FILE`). Use a release build.
final class TokenizerBenchmarkTests: XCTestCase {
    func testEncodeThroughput() throws {
        guard let path = ProcessInfo.processInfo.environment["TOKENIZER_BENCH_TEXT"] else {
            throw XCTSkip("set TOKENIZER_BENCH_TEXT to a text file to measure encode throughput")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let megabytes = Double(text.utf8.count) / 1e6
        var sources: [(String, () throws -> Tokenizer)] = [
            ("qwen2", { try Tokenizer.load(directory: try TestPaths.asset("qwen2")) }),
            ("tinyllama", { try Tokenizer.load(directory: try TestPaths.asset("tinyllama")) }),
            ("gpt2", { try Tokenizer(gguf: try TestGGUFReader.tokenizerData(path: try TestPaths.asset("llama.cpp/models/ggml-vocab-gpt-2.gguf"))) }),
            ("llama3", { try Tokenizer.load(directory: try TestPaths.asset("llama3")) }),
        ]
        if FileManager.default.fileExists(atPath: TokenizerHFFixtureTests.smolLMPath) {
            sources.append(("smollm2", { try Tokenizer(gguf: try TestGGUFReader.tokenizerData(path: TokenizerHFFixtureTests.smolLMPath)) }))
        }
        for (name, load) in sources {
            let loadStart = Date()
            let tokenizer = try load()
            let loadSeconds = Date().timeIntervalSince(loadStart)
            var times: [Double] = []
            var tokens = 0
            for _ in 0..<3 {
                let result = TokenizerBenchmark.measureEncode(tokenizer: tokenizer, text: text)
                tokens = result.tokens
                times.append(result.seconds)
            }
            let best = times.min() ?? 0
            print(String(format: "swift-vllm %@: load %.2f s, %d tokens, first %.3f s, best %.3f s, %.2f MB/s",
                         name, loadSeconds, tokens, times[0], best, megabytes / best))
            XCTAssertGreaterThan(tokens, 0)
            // The --bench script leaves HF's ids beside the text: the whole megabyte must agree.
            if let reference = try? String(contentsOfFile: "\(path).\(name).ids", encoding: .utf8) {
                let expected = reference.split(separator: " ").compactMap { Int($0) }
                let ids = tokenizer.encode(text, addSpecialTokens: false)
                let firstDifference = zip(ids, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                XCTAssertEqual(ids.count, expected.count, "\(name): token count differs from HF")
                XCTAssertNil(firstDifference, "\(name): first id differing from HF at index \(firstDifference ?? -1)")
                print("swift-vllm \(name): ids identical to HF on the whole text: \(ids == expected)")
            }
        }
    }
}
