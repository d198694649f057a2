import Foundation
import XCTest
@testable import Weights

final class WeightsModelLocatorTests: XCTestCase {
    func testHuggingFaceFolder() throws {
        let folder = try WeightsTestPaths.requireAsset("stories260K-hf")
        let location = try ModelLocator.resolve(folder)
        // The locator resolves symbolic links (../shared may be one).
        XCTAssertEqual(location, .huggingFaceFolder(URL(fileURLWithPath: folder).resolvingSymlinksInPath().path))
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

    func testFolderOfGGUFFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let first = dir.appendingPathComponent("model-Q4_1.gguf")
        try writeFile(GGUFBuilder().build(), to: first)
        XCTAssertEqual(try ModelLocator.resolve(dir.path), .ggufFile(first.path))
        try writeFile(GGUFBuilder().build(), to: dir.appendingPathComponent("model-Q8_0.gguf"))
        assertWeightsError(.invalidModelLocation, containing: ["several .gguf", "model-Q4_1.gguf", "model-Q8_0.gguf"]) {
            try ModelLocator.resolve(dir.path)
        }
    }

    func testRelativePathBecomesAbsolute() throws {
        let folder = URL(fileURLWithPath: try WeightsTestPaths.requireAsset("stories260K-hf")).resolvingSymlinksInPath().path
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
        assertWeightsError(.invalidModelLocation, containing: [dir.path, "no config.json", "no .gguf"]) {
            try ModelLocator.resolve(dir.path)
        }
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
        XCTAssertEqual(try ModelLocator.resolve("HuggingFaceTB/SmolLM2-135M-Instruct", cacheDirectory: cache.path),
                       .ggufFile(cached.path))
    }

    func testDownloadWithoutPythonFailsCleanly() throws {
        let cache = try makeTemporaryDirectory(self)
        let savedPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        // /usr/bin/env then finds no python3; PATH is restored before anything else runs.
        setenv("PATH", cache.path, 1)
        defer { setenv("PATH", savedPath, 1) }
        assertWeightsError(.downloadFailed, containing: ["python3 not found", "local model path"]) {
            try DefaultModel.ensureCached(cacheDirectory: cache.path)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        XCTAssertEqual(leftovers, [], "a failed download leaves nothing in the cache")
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
