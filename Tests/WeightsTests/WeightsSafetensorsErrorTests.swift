import Foundation
import XCTest
@testable import Weights

final class WeightsSafetensorsErrorTests: XCTestCase {
    private func store(writing bytes: [UInt8]) throws -> (URL, () throws -> SafetensorsStore) {
        let dir = try makeTemporaryDirectory(self)
        let file = dir.appendingPathComponent("model.safetensors")
        try writeFile(bytes, to: file)
        return (file, { try SafetensorsStore(directory: dir.path) })
    }

    func testMissingFolderAndEmptyFolder() throws {
        assertWeightsError(.fileNotFound, containing: ["/nonexistent/model-dir"]) {
            try SafetensorsStore(directory: "/nonexistent/model-dir")
        }
        let dir = try makeTemporaryDirectory(self)
        assertWeightsError(.fileNotFound, containing: ["no *.safetensors", dir.path]) {
            try SafetensorsStore(directory: dir.path)
        }
    }

    func testPickleOnlyFolder() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile([0x80, 0x02], to: dir.appendingPathComponent("pytorch_model.bin"))
        assertWeightsError(.unsupportedFormat, containing: [dir.path, "pytorch_model.bin", "safetensors"]) {
            try SafetensorsStore(directory: dir.path)
        }
    }

    func testMissingTensorNamesTensorAndFile() throws {
        let (file, open) = try store(writing: safetensorsBytes([("w", "F32", [1], floatBytes([1]))]))
        let store = try open()
        XCTAssertFalse(store.contains("nope"))
        assertWeightsError(.missingTensor, containing: ["'nope'", file.path]) { try store.tensor("nope") }
    }

    func testTooShortFile() throws {
        let (file, open) = try store(writing: [1, 2, 3])
        assertWeightsError(.truncated, containing: [file.path, "3 bytes"]) { try open() }
    }

    func testHeaderLongerThanFile() throws {
        var bytes = safetensorsBytes([("w", "F32", [1], floatBytes([1]))])
        bytes.removeLast(bytes.count - 20)
        let (file, open) = try store(writing: bytes)
        assertWeightsError(.truncated, containing: [file.path, "header"]) { try open() }
    }

    func testAbsurdHeaderLength() throws {
        var writer = ByteWriter()
        writer.int(UInt64.max)
        writer.raw(Array("{}".utf8))
        let (_, open) = try store(writing: writer.bytes)
        assertWeightsError(.invalidHeader, containing: ["header length", "absurd"]) { try open() }
    }

    func testInvalidJSONHeader() throws {
        let (file, open) = try store(writing: safetensorsBytes(rawHeader: "{not json", data: []))
        assertWeightsError(.invalidHeader, containing: [file.path, "not valid JSON"]) { try open() }
    }

    func testTruncatedDataNamesFileAndTensor() throws {
        var bytes = safetensorsBytes([("a", "F32", [2], floatBytes([1, 2])), ("b", "F32", [4], floatBytes([1, 2, 3, 4]))])
        bytes.removeLast(5)
        let (file, open) = try store(writing: bytes)
        assertWeightsError(.outOfBounds, containing: [file.path, "'b'", "truncated"]) { try open() }
    }

    func testShapeDisagreeingWithSpan() throws {
        let (_, open) = try store(writing: safetensorsBytes([("w", "F32", [3], floatBytes([1, 2]))]))
        assertWeightsError(.shapeMismatch, containing: ["'w'", "[3]", "12 bytes", "span 8"]) { try open() }
    }

    func testOverflowingShape() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#
        let (_, open) = try store(writing: safetensorsBytes(rawHeader: header, data: floatBytes([1])))
        assertWeightsError(.shapeMismatch, containing: ["'w'", "overflowing"]) { try open() }
    }

    func testInvertedAndMalformedOffsets() throws {
        let inverted = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#
        let (_, openInverted) = try store(writing: safetensorsBytes(rawHeader: inverted, data: floatBytes([1])))
        assertWeightsError(.invalidHeader, containing: ["'w'", "inverted"]) { try openInverted() }
        let malformed = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#
        let (_, openMalformed) = try store(writing: safetensorsBytes(rawHeader: malformed, data: floatBytes([1])))
        assertWeightsError(.invalidHeader, containing: ["'w'", "data_offsets"]) { try openMalformed() }
        let badShape = #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#
        let (_, openBadShape) = try store(writing: safetensorsBytes(rawHeader: badShape, data: floatBytes([1])))
        assertWeightsError(.invalidHeader, containing: ["'w'", "shape"]) { try openBadShape() }
    }

    func testUnsupportedDTypeFailsOnlyWhenRequested() throws {
        var i64 = ByteWriter()
        i64.int(Int64(7))
        let (file, open) = try store(writing: safetensorsBytes([
            ("ids", "I64", [1], i64.bytes), ("w", "F32", [1], floatBytes([5])),
        ]))
        let store = try open()
        XCTAssertTrue(store.contains("ids"))
        XCTAssertEqual(try store.tensor("w").bytes.loadUnaligned(as: Float.self), 5)
        assertWeightsError(.unsupportedDType, containing: ["'ids'", "I64", file.path]) { try store.tensor("ids") }
    }

    func testIndexNamingMissingShard() throws {
        let dir = try makeTemporaryDirectory(self)
        try Data(#"{"weight_map":{"a":"model-00001-of-00001.safetensors"}}"#.utf8)
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        assertWeightsError(.fileNotFound, containing: ["model-00001-of-00001.safetensors", "missing"]) {
            try SafetensorsStore(directory: dir.path)
        }
    }

    func testIndexListingTensorAbsentFromShard() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(safetensorsBytes([("a", "F32", [1], floatBytes([1]))]), to: dir.appendingPathComponent("s1.safetensors"))
        try Data(#"{"weight_map":{"a":"s1.safetensors","ghost":"s1.safetensors"}}"#.utf8)
            .write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        assertWeightsError(.missingTensor, containing: ["'ghost'", "s1.safetensors"]) { try SafetensorsStore(directory: dir.path) }
    }

    func testDuplicateTensorAcrossFiles() throws {
        let dir = try makeTemporaryDirectory(self)
        try writeFile(safetensorsBytes([("a", "F32", [1], floatBytes([1]))]), to: dir.appendingPathComponent("x.safetensors"))
        try writeFile(safetensorsBytes([("a", "F32", [1], floatBytes([2]))]), to: dir.appendingPathComponent("y.safetensors"))
        assertWeightsError(.duplicateName, containing: ["'a'", "x.safetensors", "y.safetensors"]) {
            try SafetensorsStore(directory: dir.path)
        }
    }
}
