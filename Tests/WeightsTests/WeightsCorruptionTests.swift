import Foundation
import XCTest
@testable import Weights

/// Deterministic byte corruption of valid files: every variant must either open (and then hand out
/// in-bounds tensors) or throw a WeightsError; a crash fails the whole run.
final class WeightsCorruptionTests: XCTestCase {
    /// Small deterministic generator (64-bit LCG) so failures reproduce.
    private struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// WEIGHTS_FUZZ_ITERATIONS raises the count for a longer local run.
    private let iterations = ProcessInfo.processInfo.environment["WEIGHTS_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 300

    private func mutations(of original: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var generator = Generator(state: seed)
        var result: [[UInt8]] = []
        for _ in 0..<count {
            var bytes = original
            for _ in 0..<(1 + generator.next(4)) {
                let position = generator.next(bytes.count)
                // Mostly extreme values: they hit length and count fields hardest.
                bytes[position] = [0x00, 0xFF, 0x7F, 0x80, UInt8(generator.next(256))][generator.next(5)]
            }
            result.append(bytes)
        }
        return result
    }

    private func checkTensors(_ store: WeightStore, fileSize: Int) {
        for name in store.tensorNames {
            guard let tensor = try? store.tensor(name) else { continue }
            XCTAssertLessThanOrEqual(tensor.byteCount, fileSize, name)
            // Touch first and last byte: out-of-bounds pointers would fault here.
            if tensor.byteCount > 0 {
                _ = tensor.bytes[0] &+ tensor.bytes[tensor.byteCount - 1]
            }
        }
    }

    func testCorruptedGGUFNeverCrashes() throws {
        var b = GGUFBuilder()
        b.add("general.architecture", string: "llama")
        b.add("tokenizer.ggml.tokens", type: .array) { w in
            w.int(GGUFTypeId.string.rawValue); w.int(UInt64(3))
            for token in ["a", "bc", "def"] { GGUFBuilder.string(token, into: &w) }
        }
        b.add("llama.block_count", uint32: 1)
        b.addTensor("w", ne: [32, 2], ggmlType: 8, payload: [UInt8](repeating: 1, count: 68))
        b.addTensor("n", ne: [4], ggmlType: 0, payload: floatBytes([1, 2, 3, 4]))
        let original = b.build()
        let url = try makeTemporaryDirectory(self).appendingPathComponent("fuzz.gguf")
        var opened = 0
        for bytes in mutations(of: original, count: iterations, seed: 7) {
            try writeFile(bytes, to: url)
            do {
                let file = try GGUFFile(path: url.path)
                opened += 1
                checkTensors(file, fileSize: bytes.count)
            } catch {
                XCTAssertTrue(error is WeightsError, "\(error)")
            }
        }
        XCTAssertGreaterThan(opened, 0, "some mutations only touch payload bytes and must still open")
    }

    func testCorruptedSafetensorsNeverCrashes() throws {
        let original = safetensorsBytes([
            ("a", "F32", [2, 2], floatBytes([1, 2, 3, 4])), ("b", "BF16", [3], [0, 0x3F, 0, 0x40, 0, 0x41]),
        ])
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("model.safetensors")
        var opened = 0
        for bytes in mutations(of: original, count: iterations, seed: 11) {
            try writeFile(bytes, to: url)
            do {
                let store = try SafetensorsStore(directory: dir.path)
                opened += 1
                checkTensors(store, fileSize: bytes.count)
            } catch {
                XCTAssertTrue(error is WeightsError, "\(error)")
            }
        }
        XCTAssertGreaterThan(opened, 0)
    }
}
