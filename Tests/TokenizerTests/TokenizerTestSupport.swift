import Foundation
import XCTest
@testable import Tokenizer

/// Locations of the shared test assets and committed fixtures, derived from this file's path.
enum TestPaths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let assets = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/assets")
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// Path of a shared asset, or XCTSkip when the assets folder (or that file) is absent.
    static func asset(_ relative: String) throws -> String {
        let path = assets.appendingPathComponent(relative).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("shared test asset \(relative) not found under \(assets.path)")
        }
        return path
    }
}

/// Tokenizers are costly to load; tests share one instance per source.
final class TokenizerCache: @unchecked Sendable {
    static let shared = TokenizerCache()
    private var loaded: [String: Tokenizer] = [:]
    private let lock = NSLock()

    func directory(_ relative: String) throws -> Tokenizer {
        let path = try TestPaths.asset(relative)
        lock.lock()
        defer { lock.unlock() }
        if let tokenizer = loaded[path] { return tokenizer }
        let tokenizer = try Tokenizer.load(directory: path)
        loaded[path] = tokenizer
        return tokenizer
    }

    func gguf(_ relative: String) throws -> Tokenizer {
        let path = try TestPaths.asset(relative)
        lock.lock()
        defer { lock.unlock() }
        if let tokenizer = loaded[path] { return tokenizer }
        let tokenizer = try Tokenizer(gguf: try TestGGUFReader.tokenizerData(path: path))
        loaded[path] = tokenizer
        return tokenizer
    }
}

/// Reads a test-data JSON object (values only; keys here are plain ASCII).
func readJSONObject(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw XCTSkip("\(path) is not a JSON object")
    }
    return object
}
