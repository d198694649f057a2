import Foundation
import XCTest
@testable import Weights

final class WeightsSafetensorsTests: XCTestCase {
    func testStories260KLoadsWithNamesShapesAndValues() throws {
        let path = try WeightsTestPaths.requireAsset("stories260K-hf")
        let store = try SafetensorsStore(directory: path)
        XCTAssertEqual(store.files.map { ($0 as NSString).lastPathComponent }, ["model.safetensors"])
        XCTAssertEqual(store.tensorNames.count, 5 * 9 + 2)
        XCTAssertEqual(store.tensorNames.first, "model.embed_tokens.weight")  // file order
        XCTAssertEqual(store.metadata["format"], "pt")
        XCTAssertFalse(store.contains("__metadata__"))

        let embed = try store.tensor("model.embed_tokens.weight")
        XCTAssertEqual(embed.dtype, .f32)
        XCTAssertEqual(embed.shape, [512, 64])
        XCTAssertEqual(embed.elementCount, 512 * 64)
        XCTAssertEqual(embed.byteCount, 512 * 64 * 4)
        XCTAssertEqual(try store.tensor("model.layers.0.mlp.down_proj.weight").shape, [64, 172])
        XCTAssertEqual(try store.tensor("model.layers.4.self_attn.k_proj.weight").shape, [32, 64])

        // Spot-check against the file bytes read independently of the mapping.
        let raw = try Data(contentsOf: URL(fileURLWithPath: path).appendingPathComponent("model.safetensors"))
        let headerLength = raw.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        let norm = try store.tensor("model.norm.weight")
        XCTAssertEqual(norm.shape, [64])
        let dataStart = 8 + headerLength + 1_039_872  // model.norm.weight data_offsets begin
        for index in [0, 17, 63] {
            let expected = raw.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: dataStart + 4 * index, as: Float.self) }
            XCTAssertEqual(norm.bytes.loadUnaligned(fromByteOffset: 4 * index, as: Float.self), expected)
        }
        let firstEmbed = embed.bytes.loadUnaligned(fromByteOffset: 0, as: Float.self)
        XCTAssertTrue(firstEmbed.isFinite && firstEmbed != 0)
    }

    func testHandBuiltFileRoundTripsAllSupportedDTypes() throws {
        let dir = try makeTemporaryDirectory(self)
        var bf16 = ByteWriter()
        for value: Float in [1, -2, 0.5] { bf16.int(UInt16(value.bitPattern >> 16)) }
        var f16 = ByteWriter()
        for value: Float in [0.25, 4] { f16.int(halfBits(value)) }
        try writeFile(safetensorsBytes([
            ("w.f32", "F32", [2, 2], floatBytes([1, 2, 3, 4])),
            ("w.bf16", "BF16", [3], bf16.bytes),
            ("w.f16", "F16", [1, 2], f16.bytes),
            ("w.empty", "F32", [0, 4], []),
        ]), to: dir.appendingPathComponent("model.safetensors"))

        let store = try SafetensorsStore(directory: dir.path)
        XCTAssertEqual(store.tensorNames, ["w.f32", "w.bf16", "w.f16", "w.empty"])
        let f32 = try store.tensor("w.f32")
        XCTAssertEqual((0..<4).map { f32.bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }, [1, 2, 3, 4])
        let b = try store.tensor("w.bf16")
        XCTAssertEqual(b.dtype, .bf16)
        XCTAssertEqual(Float(bitPattern: UInt32(b.bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)) << 16), -2)
        let h = try store.tensor("w.f16")
        XCTAssertEqual(h.dtype, .f16)
        XCTAssertEqual(h.shape, [1, 2])
        XCTAssertEqual(halfValue(h.bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self)), 4)
        let empty = try store.tensor("w.empty")
        XCTAssertEqual(empty.byteCount, 0)
        XCTAssertEqual(empty.elementCount, 0)
    }

    func testShardedFolderUsesIndex() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(safetensorsBytes([("a", "F32", [2], floatBytes([1, 2]))]),
                      to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        try writeFile(safetensorsBytes([("b", "F32", [1], floatBytes([3]))]),
                      to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        // A stray file not in the index must be ignored.
        try writeFile(safetensorsBytes([("stray", "F32", [1], floatBytes([9]))]),
                      to: dir.appendingPathComponent("extra.safetensors"))
        try Data(#"{"metadata":{},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}"#.utf8)
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))

        let store = try SafetensorsStore(directory: dir.path)
        XCTAssertEqual(Set(store.tensorNames), ["a", "b"])
        XCTAssertEqual(store.files.count, 2)
        XCTAssertEqual(try store.tensor("b").bytes.loadUnaligned(as: Float.self), 3)
        assertWeightsError(.missingTensor, containing: ["'stray'", "2 files in \(dir.path)"]) { try store.tensor("stray") }
    }

    func testFolderWithoutIndexLoadsEverySafetensorsFile() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(safetensorsBytes([("x", "F32", [1], floatBytes([1]))]), to: dir.appendingPathComponent("a.safetensors"))
        try writeFile(safetensorsBytes([("y", "F16", [1], [0, 0x3C])]), to: dir.appendingPathComponent("b.safetensors"))
        let store = try SafetensorsStore(directory: dir.path)
        XCTAssertEqual(store.tensorNames, ["x", "y"])
        XCTAssertEqual(halfValue(try store.tensor("y").bytes.loadUnaligned(as: UInt16.self)), 1)
    }

    /// The Hugging Face cache links snapshot files to blobs; the links must be followed.
    func testSymlinkedSnapshotFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        let blobs = dir.appendingPathComponent("blobs")
        let snapshot = dir.appendingPathComponent("snapshot")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: snapshot, withIntermediateDirectories: true)
        try writeFile(safetensorsBytes([("w", "F32", [2], floatBytes([4, 5]))]), to: blobs.appendingPathComponent("abc123"))
        try FileManager.default.createSymbolicLink(at: snapshot.appendingPathComponent("model.safetensors"),
                                                   withDestinationURL: blobs.appendingPathComponent("abc123"))
        let store = try SafetensorsStore(directory: snapshot.path)
        XCTAssertEqual(try store.tensor("w").bytes.loadUnaligned(fromByteOffset: 4, as: Float.self), 5)
    }
}
