import Foundation
import XCTest
@testable import Weights

final class WeightsGGUFErrorTests: XCTestCase {
    private func open(_ bytes: [UInt8]) throws -> (String, () throws -> GGUFFile) {
        let url = try makeTemporaryDirectory(self).appendingPathComponent("bad.gguf")
        try writeFile(bytes, to: url)
        return (url.path, { try GGUFFile(path: url.path) })
    }

    private func validBuilder() -> GGUFBuilder {
        var b = GGUFBuilder()
        b.add("general.architecture", string: "llama")
        b.addTensor("w", ne: [4, 2], ggmlType: 0, payload: floatBytes([1, 2, 3, 4, 5, 6, 7, 8]))
        return b
    }

    func testValidBaselineOpens() throws {
        let (_, openFile) = try open(validBuilder().build())
        XCTAssertEqual(try openFile().tensor("w").shape, [2, 4])
    }

    func testMissingFile() {
        assertWeightsError(.fileNotFound, containing: ["/no/such/model.gguf"]) { try GGUFFile(path: "/no/such/model.gguf") }
    }

    func testEmptyAndTinyFiles() throws {
        let (path, openEmpty) = try open([])
        assertWeightsError(.truncated, containing: [path]) { try openEmpty() }
        let (_, openTiny) = try open(Array("GGUF".utf8) + [3, 0])
        assertWeightsError(.truncated, containing: ["version"]) { try openTiny() }
    }

    func testBadMagic() throws {
        var bytes = validBuilder().build()
        bytes[0] = UInt8(ascii: "X")
        let (path, openFile) = try open(bytes)
        assertWeightsError(.badMagic, containing: [path, "\"XGUF\"", "not a GGUF"]) { try openFile() }
    }

    func testBinaryBadMagicIsShownInHex() throws {
        let (_, openFile) = try open([0x00, 0xFF, 0x10, 0x7F, 3, 0, 0, 0])
        assertWeightsError(.badMagic, containing: ["00 ff 10 7f"]) { try openFile() }
    }

    func testUnsupportedVersions() throws {
        for version: UInt32 in [1, 4, UInt32(3).byteSwapped] {
            var b = validBuilder()
            b.version = version
            let (path, openFile) = try open(b.build())
            assertWeightsError(.unsupportedVersion, containing: [path, "version \(version)"]) { try openFile() }
        }
        var bigEndian = validBuilder()
        bigEndian.version = UInt32(3).byteSwapped
        let (_, openBigEndian) = try open(bigEndian.build())
        assertWeightsError(.unsupportedVersion, containing: ["big-endian"]) { try openBigEndian() }
    }

    func testHugeCountsAreRejectedBeforeAllocating() throws {
        let (_, hugeTensors) = try open(validBuilder().build(tensorCountOverride: UInt64.max))
        assertWeightsError(.invalidHeader, containing: ["tensor count", "\(UInt64.max)"]) { try hugeTensors() }
        let (_, hugeMetadata) = try open(validBuilder().build(metadataCountOverride: 1 << 40))
        assertWeightsError(.invalidHeader, containing: ["metadata count"]) { try hugeMetadata() }
    }

    func testHugeStringLength() throws {
        var b = GGUFBuilder()
        b.add("general.name", type: .string) { $0.int(UInt64(1) << 62); $0.raw(Array("abc".utf8)) }
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["general.name", "length"]) { try openFile() }
    }

    func testHugeArrayCount() throws {
        var b = GGUFBuilder()
        b.add("tokenizer.ggml.tokens", type: .array) { w in
            w.int(GGUFTypeId.string.rawValue); w.int(UInt64(1) << 50)
        }
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["tokenizer.ggml.tokens", "element count"]) { try openFile() }
    }

    func testUnknownValueTypeAndBadBool() throws {
        var b = GGUFBuilder()
        b.add("weird", type: .uint8) { _ in }
        // Patch the type id just written (last 4 bytes of the metadata) to an unknown value.
        b.metadata.bytes.replaceSubrange(b.metadata.bytes.count - 4..<b.metadata.bytes.count, with: [99, 0, 0, 0])
        b.metadata.int(UInt8(0))
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["'weird'", "unknown value type 99"]) { try openFile() }

        var c = GGUFBuilder()
        c.add("flag", type: .bool) { $0.int(UInt8(7)) }
        let (_, openBool) = try open(c.build())
        assertWeightsError(.invalidHeader, containing: ["'flag'", "bool"]) { try openBool() }
    }

    func testDeeplyNestedArrays() throws {
        var b = GGUFBuilder()
        b.add("deep", type: .array) { w in
            for _ in 0..<20 { w.int(GGUFTypeId.array.rawValue); w.int(UInt64(1)) }
            w.int(GGUFTypeId.uint8.rawValue); w.int(UInt64(0))
        }
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["'deep'", "deeper"]) { try openFile() }
    }

    func testTruncatedMetadata() throws {
        var bytes = validBuilder().build()
        bytes.removeLast(bytes.count - 66)  // 2 bytes into the "llama" value
        let (path, openFile) = try open(bytes)
        XCTAssertThrowsError(try openFile()) { error in
            let message = (error as? WeightsError)?.message ?? ""
            XCTAssertTrue(message.contains(path) && message.contains("general.architecture"), message)
        }
    }

    func testTensorOffsetPastEndOfFile() throws {
        var b = GGUFBuilder()
        b.addTensorInfo("w", ne: [4], ggmlType: 0, offset: 1 << 20)
        b.data.raw(floatBytes([1, 2, 3, 4]))
        let (path, openFile) = try open(b.build())
        assertWeightsError(.outOfBounds, containing: [path, "'w'", "1048576"]) { try openFile() }
    }

    func testTruncatedTensorData() throws {
        var bytes = validBuilder().build()
        bytes.removeLast(4)
        let (_, openFile) = try open(bytes)
        assertWeightsError(.outOfBounds, containing: ["'w'", "truncated"]) { try openFile() }
    }

    func testMisalignedOffset() throws {
        var b = GGUFBuilder()
        b.addTensorInfo("w", ne: [1], ggmlType: 0, offset: 4)
        b.data.raw(floatBytes([0, 1]))
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["'w'", "alignment 32"]) { try openFile() }
    }

    func testBadDimensionsAndRowLengths() throws {
        var tooMany = GGUFBuilder()
        tooMany.addTensorInfo("w", ne: [1, 1, 1, 1, 1], ggmlType: 0, offset: 0)
        let (_, openTooMany) = try open(tooMany.build())
        assertWeightsError(.invalidHeader, containing: ["'w'", "5 dimensions"]) { try openTooMany() }

        var ragged = GGUFBuilder()
        ragged.addTensor("q", ne: [33, 1], ggmlType: 8, payload: [UInt8](repeating: 0, count: 68))
        let (_, openRagged) = try open(ragged.build())
        assertWeightsError(.shapeMismatch, containing: ["'q'", "q8_0", "33", "multiple of 32"]) { try openRagged() }

        var overflowing = GGUFBuilder()
        overflowing.addTensorInfo("big", ne: [1 << 40, 1 << 40], ggmlType: 0, offset: 0)
        let (_, openOverflow) = try open(overflowing.build())
        XCTAssertThrowsError(try openOverflow()) { error in
            XCTAssertTrue((error as? WeightsError)?.message.contains("'big'") ?? false, "\(error)")
        }
    }

    func testBadAlignmentValue() throws {
        var b = GGUFBuilder()
        b.add("general.alignment", uint32: 24)
        let (_, openFile) = try open(b.build())
        assertWeightsError(.invalidHeader, containing: ["general.alignment", "power of two"]) { try openFile() }
    }

    func testDuplicateKeysAndTensors() throws {
        var keys = GGUFBuilder()
        keys.add("a", uint32: 1)
        keys.add("a", uint32: 2)
        let (_, openKeys) = try open(keys.build())
        assertWeightsError(.duplicateName, containing: ["'a'", "twice"]) { try openKeys() }

        var tensors = GGUFBuilder()
        tensors.addTensor("t", ne: [1], ggmlType: 0, payload: floatBytes([1]))
        tensors.addTensor("t", ne: [1], ggmlType: 0, payload: floatBytes([2]))
        let (_, openTensors) = try open(tensors.build())
        assertWeightsError(.duplicateName, containing: ["'t'", "twice"]) { try openTensors() }
    }

    func testSplitGGUFIsRejectedWithAdvice() throws {
        var b = validBuilder()
        b.add("split.no", type: .uint16) { $0.int(UInt16(0)) }
        b.add("split.count", type: .uint16) { $0.int(UInt16(3)) }
        let (path, openFile) = try open(b.build())
        assertWeightsError(.unsupportedFormat, containing: [path, "part 1 of 3", "llama-gguf-split"]) { try openFile() }
    }

    func testMissingTensor() throws {
        let (path, openFile) = try open(validBuilder().build())
        let file = try openFile()
        XCTAssertFalse(file.contains("output.weight"))
        assertWeightsError(.missingTensor, containing: ["'output.weight'", path]) { try file.tensor("output.weight") }
    }

    /// Every prefix of a valid file must fail cleanly (or, for the full length, succeed).
    func testEveryTruncationFailsCleanly() throws {
        let bytes = validBuilder().build()
        let dir = try makeTemporaryDirectory(self)
        let url = dir.appendingPathComponent("cut.gguf")
        for length in 0..<bytes.count {
            try writeFile(Array(bytes.prefix(length)), to: url)
            XCTAssertThrowsError(try GGUFFile(path: url.path), "prefix of \(length) bytes") { error in
                XCTAssertTrue(error is WeightsError)
            }
        }
    }
}
