import Foundation
import Models
import Weights
import XCTest
@testable import CUDABackend

/// Library discovery and loading. Anything needing a GPU skips with "no CUDA driver found" here.
final class CUDABackendTestsRuntime: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path
    static var builtLibrary: String { repositoryRoot + "/cuda/build/" + CUDALibraryLocator.libraryName }

    func testCandidateOrder() {
        let paths = CUDALibraryLocator.candidatePaths(environment: ["VLLM_CUDA_LIB": "/opt/gpu"],
                                                      executablePath: "/srv/bin/vllm", currentDirectory: "/work",
                                                      sourceFile: "/repo/Sources/CUDABackend/CUDALibraryLocator.swift")
        XCTAssertEqual(paths, ["/opt/gpu/libvllm_cuda.so", "/srv/bin/libvllm_cuda.so",
                               "/work/cuda/build/libvllm_cuda.so", "/repo/cuda/build/libvllm_cuda.so"])
    }

    func testExplicitFileAndDuplicatesRemoved() {
        let paths = CUDALibraryLocator.candidatePaths(environment: ["VLLM_CUDA_LIB": "/x/libvllm_cuda.so.1"],
                                                      executablePath: "vllm", currentDirectory: "/repo",
                                                      sourceFile: "/repo/Sources/CUDABackend/CUDALibraryLocator.swift")
        XCTAssertEqual(paths, ["/x/libvllm_cuda.so.1", "/repo/cuda/build/libvllm_cuda.so"])
    }

    func testMissingLibraryIsAClearError() {
        XCTAssertThrowsError(try CUDARuntime.load(candidates: ["/nonexistent/libvllm_cuda.so"])) { error in
            guard case CUDAError.libraryNotFound(let searched, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(searched, ["/nonexistent/libvllm_cuda.so"])
            XCTAssertTrue("\(error)".contains("cuda/build.sh"), "\(error)")
        }
    }

    func testNonLibraryFileReportsDlopenError() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cuda-test-\(getpid()).so").path
        try Data("not an ELF file".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try CUDARuntime.load(candidates: [path])) { error in
            guard case CUDAError.libraryNotFound(_, let lastError) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(lastError.isEmpty)
        }
    }

    func testLibraryWithoutTheABIIsRejected() throws {
        let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
            .first { FileManager.default.fileExists(atPath: $0) }
        guard let libm else { throw XCTSkip("no libm.so.6 at a known path") }
        XCTAssertThrowsError(try CUDARuntime.load(candidates: [libm])) { error in
            XCTAssertEqual(error as? CUDAError, .libraryInvalid(path: libm, reason: "missing symbol vc_abi_version"))
        }
    }

    func testDevicePolicyParsing() throws {
        XCTAssertEqual(try CUDADevicePolicy(argument: "AUTO"), .auto)
        XCTAssertEqual(try CUDADevicePolicy(argument: "cuda"), .cuda)
        XCTAssertThrowsError(try CUDADevicePolicy(argument: "tpu")) { XCTAssertTrue("\($0)".contains("tpu")) }
    }

    /// Needs `cuda/build.sh` to have run (nvcc); on a machine without a driver the library must load
    /// and say so rather than crash.
    func testBuiltLibraryLoadsAndReportsDriverState() throws {
        let path = Self.builtLibrary
        guard FileManager.default.fileExists(atPath: path) else {
            throw XCTSkip("cuda/build/libvllm_cuda.so not built (run cuda/build.sh)")
        }
        let runtime = try CUDARuntime.load(candidates: [path])
        do {
            let count = try runtime.visibleDeviceCount()
            XCTAssertGreaterThan(count, 0, "a working driver with zero devices should throw noDevice")
        } catch CUDAError.noDriver(let message) {
            XCTAssertFalse(message.isEmpty)
            throw XCTSkip("no CUDA driver found: \(message)")
        } catch CUDAError.noDevice(let message) {
            throw XCTSkip("no CUDA device found: \(message)")
        }
    }

    func testAutoPolicyRunsSomewhere() throws {
        let folder = Self.repositoryRoot + "/../shared/assets/stories260K-hf"
        guard FileManager.default.fileExists(atPath: folder + "/config.json") else {
            throw XCTSkip("shared assets not found at \(folder)")
        }
        let loaded = try loadModelForDevice(.huggingFaceFolder(folder), policy: .auto)
        if loaded.deviceDescription.hasPrefix("cuda") {
            XCTAssertNil(loaded.fallbackReason)
            XCTAssertTrue(loaded.model is CUDALlamaModel)
        } else {
            XCTAssertEqual(loaded.deviceDescription, "cpu")
            XCTAssertNotNil(loaded.fallbackReason)
            XCTAssertTrue(loaded.model is LlamaModel)
        }
    }
}
