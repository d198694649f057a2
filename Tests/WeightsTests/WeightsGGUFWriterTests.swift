import Foundation
import XCTest
@testable import Weights

final class WeightsGGUFWriterTests: XCTestCase {
    func testRoundTripOfMetadataAndTensors() throws {
        var writer = try GGUFWriter(alignment: 64)
        let metadata: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("u8", .uint8(7)), ("i8", .int8(-7)), ("u16", .uint16(700)), ("i16", .int16(-700)),
            ("u32", .uint32(70_000)), ("i32", .int32(-70_000)), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))),
            ("f32", .float32(0.25)), ("f64", .float64(-0.5)), ("flag", .bool(true)),
            ("tokens", .array([.string("a"), .string("β")])),
            ("nested", .array([.array([.int32(1)]), .array([.string("x"), .string("y")])])),
            ("empty", .array([])),
        ]
        for (key, value) in metadata { writer.set(key, value) }
        writer.set("u8", .uint8(8))  // replaces in place
        try writer.addTensor(name: "w", dtype: .f32, shape: [2, 3], bytes: floatBytes([1, 2, 3, 4, 5, 6]))
        let q8 = [UInt8](repeating: 3, count: 2 * 34)
        try writer.addTensor(name: "q", dtype: .q8_0, shape: [2, 32], bytes: q8)
        try writer.addTensor(name: "q41", dtype: .q4_1, shape: [64], bytes: [UInt8](repeating: 9, count: 40))
        try writer.addTensor(name: "h", dtype: .bf16, shape: [1], bytes: [0, 0x3F])
        let path = try makeTemporaryDirectory(self).appendingPathComponent("out.gguf").path
        try writer.write(to: path)

        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.version, 3)
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.metadataKeys, metadata.map(\.0) + ["general.alignment"])
        for (key, value) in metadata where key != "u8" {
            XCTAssertEqual(file.metadata[key], value, key)
        }
        XCTAssertEqual(file.metadata["u8"], .uint8(8))
        XCTAssertEqual(file.tensorNames, ["w", "q", "q41", "h"])
        XCTAssertEqual(try file.tensor("w").shape, [2, 3])
        XCTAssertEqual(try file.tensor("w").bytes.loadUnaligned(fromByteOffset: 20, as: Float.self), 6)
        XCTAssertEqual(Array(try file.tensor("q").bytes), q8)
        XCTAssertEqual(try file.tensor("q41").dtype, .q4_1)
        XCTAssertEqual(Int(bitPattern: try file.tensor("h").data) % 64, 0)
    }

    /// The conversion other targets' tests can use to exercise the GGUF path with a real model.
    func testStories260KConvertsToGGUF() throws {
        let folder = try WeightsTestPaths.requireAsset("stories260K-hf")
        let store = try SafetensorsStore(directory: folder)
        var writer = try GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.block_count", .uint32(5))
        for name in store.tensorNames {
            let tensor = try store.tensor(name)
            try writer.addTensor(name: name, dtype: tensor.dtype, shape: tensor.shape, bytes: Array(tensor.bytes))
        }
        let path = try makeTemporaryDirectory(self).appendingPathComponent("stories260K.gguf").path
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.tensorNames, store.tensorNames)
        for name in store.tensorNames {
            let original = try store.tensor(name)
            let copy = try file.tensor(name)
            XCTAssertEqual(copy.shape, original.shape, name)
            XCTAssertTrue(copy.bytes.elementsEqual(original.bytes), name)
        }
    }

    func testWriterErrors() throws {
        var writer = try GGUFWriter()
        assertWeightsError(.shapeMismatch, containing: ["'w'", "[2, 3]", "8 bytes"]) {
            try writer.addTensor(name: "w", dtype: .f32, shape: [2, 3], bytes: [UInt8](repeating: 0, count: 8))
        }
        assertWeightsError(.shapeMismatch, containing: ["'q'", "q4_0"]) {
            try writer.addTensor(name: "q", dtype: .q4_0, shape: [1, 33], bytes: [UInt8](repeating: 0, count: 18))
        }
        try writer.addTensor(name: "ok", dtype: .f32, shape: [1], bytes: floatBytes([1]))
        assertWeightsError(.duplicateName, containing: ["'ok'"]) {
            try writer.addTensor(name: "ok", dtype: .f32, shape: [1], bytes: floatBytes([1]))
        }
        writer.set("mixed", .array([.string("a"), .uint8(1)]))
        assertWeightsError(.invalidHeader, containing: ["'mixed'", "mixes"]) { try writer.encoded() }
        assertWeightsError(.invalidHeader, containing: ["power of two"]) { try GGUFWriter(alignment: 48) }
    }
}
