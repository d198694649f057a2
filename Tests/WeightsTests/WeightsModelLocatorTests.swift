import Foundation
import XCTest
@testable import Weights

final class WeightsModelLocatorTests: XCTestCase {
    func testHuggingFaceFolder() throws {
        let folder = try WeightsTestPaths.requireAsset("stories260K-hf")
        let location = try ModelLocator.resolve(folder)
        XCTAssertEqual(location, .huggingFaceFolder(URL(fileURLWithPath: folder).standardizedFileURL.path))
        XCTAssertEqual(try ModelLocator.resolve(folder + "/config.json").path, location.path)
    }

    func testGGUFFileByExtensionAndByMagic() throws {
        let dir = try makeTemporaryDirectory(self)
        let named = dir.appendingPathComponent("m.gguf")
        try writeFile(GGUFBuilder().build(), to: named)
        XCTAssertEqual(try ModelLocator.resolve(named.path), .ggufFile(named.path))
        let unnamed = dir.appendingPathComponent("model.bin")
        try writeFile(GGUFBuilder().build(), to: unnamed)
        XCTAssertEqual(try ModelLocator.resolve(unnamed.path), .ggufFile(unnamed.path))
    }

    func testRelativePathBecomesAbsolute() throws {
        let folder = URL(fileURLWithPath: try WeightsTestPaths.requireAsset("stories260K-hf")).standardizedFileURL.path
        // Climb from the working directory to "/" and back down: a relative path valid from any cwd.
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        let relative = String(repeating: "../", count: depth) + folder.dropFirst()
        XCTAssertEqual(try ModelLocator.resolve(relative), .huggingFaceFolder(folder))
    }

    func testErrors() throws {
        assertWeightsError(.invalidModelLocation, containing: ["'meta-llama/Llama-3-8B'", "not found", "Hugging Face Hub"]) {
            try ModelLocator.resolve("meta-llama/Llama-3-8B")
        }
        let dir = try makeTemporaryDirectory(self)
        assertWeightsError(.invalidModelLocation, containing: [dir.path, "no config.json"]) { try ModelLocator.resolve(dir.path) }
        let text = dir.appendingPathComponent("notes.txt")
        try writeFile(Array("hello".utf8), to: text)
        assertWeightsError(.invalidModelLocation, containing: [text.path, "neither"]) { try ModelLocator.resolve(text.path) }
    }

    func testDefaultModelUsesCachedFileWithoutNetwork() throws {
        // A cached file is returned as-is: nothing is downloaded or validated.
        let cache = try makeTemporaryDirectory(self)
        let cached = cache.appendingPathComponent(DefaultModel.fileName)
        try writeFile(GGUFBuilder().build(), to: cached)
        XCTAssertEqual(try DefaultModel.ensureCached(cacheDirectory: cache.path), cached.path)
        XCTAssertEqual(try ModelLocator.resolve(nil, cacheDirectory: cache.path), .ggufFile(cached.path))
        XCTAssertEqual(try ModelLocator.resolve(DefaultModel.name, cacheDirectory: cache.path), .ggufFile(cached.path))
    }

    func testDefaultCacheDirectory() {
        let path = ModelLocator.defaultCacheDirectory
        if let custom = ProcessInfo.processInfo.environment["VLLM_CACHE_DIR"], !custom.isEmpty {
            XCTAssertEqual(path, (custom as NSString).expandingTildeInPath)
        } else {
            XCTAssertTrue(path.hasSuffix("/.cache/swift-vllm"), path)
        }
    }
}
