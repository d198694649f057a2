import Foundation
import XCTest
@testable import Weights

/// Paths and helpers shared by the Weights tests.
enum WeightsTestPaths {
    /// Tests/WeightsTests/WeightsTestSupport.swift -> repository root.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let assets: URL = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/assets")

    static func requireAsset(_ relative: String) throws -> String {
        let url = assets.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("shared asset \(url.path) is absent (tests expect ../shared/assets beside the repo)")
        }
        return url.path
    }
}

/// A fresh temporary folder removed when the test ends.
func makeTemporaryDirectory(_ testCase: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent("weights-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    testCase.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func writeFile(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

/// Asserts that `body` throws a WeightsError of `kind` whose message contains every fragment.
func assertWeightsError<T>(_ kind: WeightsError.Kind, containing fragments: [String],
                           file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected WeightsError.\(kind), nothing was thrown", file: file, line: line)
    } catch let error as WeightsError {
        XCTAssertEqual(error.kind, kind, "message: \(error.message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected WeightsError.\(kind), got \(error)", file: file, line: line)
    }
}

/// Little-endian byte assembly for hand-built files.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    mutating func float(_ value: Float) { int(value.bitPattern) }
    mutating func raw(_ data: [UInt8]) { bytes.append(contentsOf: data) }
    mutating func padTo(multipleOf alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

/// Builds a safetensors file: JSON header from `(name, dtype, shape, payload)` entries.
func safetensorsBytes(_ tensors: [(name: String, dtype: String, shape: [Int], payload: [UInt8])],
                      metadata: [String: String]? = ["format": "pt"]) -> [UInt8] {
    var header: [String] = []
    if let metadata {
        let pairs = metadata.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value)\"" }
        header.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
    }
    var offset = 0
    var data: [UInt8] = []
    for tensor in tensors {
        let shape = tensor.shape.map(String.init).joined(separator: ",")
        header.append("\"\(tensor.name)\":{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + tensor.payload.count)]}")
        offset += tensor.payload.count
        data.append(contentsOf: tensor.payload)
    }
    return safetensorsBytes(rawHeader: "{" + header.joined(separator: ",") + "}", data: data)
}

func safetensorsBytes(rawHeader: String, data: [UInt8]) -> [UInt8] {
    var headerBytes = Array(rawHeader.utf8)
    while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }  // writers pad with spaces
    var writer = ByteWriter()
    writer.int(UInt64(headerBytes.count))
    writer.raw(headerBytes)
    writer.raw(data)
    return writer.bytes
}

func floatBytes(_ values: [Float]) -> [UInt8] {
    var writer = ByteWriter()
    for value in values { writer.float(value) }
    return writer.bytes
}

/// GGUF metadata value type ids.
enum GGUFTypeId: UInt32 {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64
}

/// Assembles a GGUF file piece by piece so tests can also build malformed ones.
struct GGUFBuilder {
    var version: UInt32 = 3
    var alignment = 32
    var metadata = ByteWriter()
    var metadataCount = 0
    var infos = ByteWriter()
    var tensorCount = 0
    var data = ByteWriter()

    static func string(_ text: String, into writer: inout ByteWriter) {
        writer.int(UInt64(text.utf8.count))
        writer.raw(Array(text.utf8))
    }

    mutating func add(_ key: String, type: GGUFTypeId, _ encode: (inout ByteWriter) -> Void) {
        GGUFBuilder.string(key, into: &metadata)
        metadata.int(type.rawValue)
        encode(&metadata)
        metadataCount += 1
    }

    mutating func add(_ key: String, string value: String) {
        add(key, type: .string) { GGUFBuilder.string(value, into: &$0) }
    }

    mutating func add(_ key: String, uint32 value: UInt32) {
        add(key, type: .uint32) { $0.int(value) }
    }

    /// Adds tensor info and its payload at the next aligned data offset.
    mutating func addTensor(_ name: String, ne: [UInt64], ggmlType: UInt32, payload: [UInt8]) {
        data.padTo(multipleOf: alignment)
        addTensorInfo(name, ne: ne, ggmlType: ggmlType, offset: UInt64(data.bytes.count))
        data.raw(payload)
    }

    mutating func addTensorInfo(_ name: String, ne: [UInt64], ggmlType: UInt32, offset: UInt64) {
        GGUFBuilder.string(name, into: &infos)
        infos.int(UInt32(ne.count))
        for extent in ne { infos.int(extent) }
        infos.int(ggmlType)
        infos.int(offset)
        tensorCount += 1
    }

    func build(tensorCountOverride: UInt64? = nil, metadataCountOverride: UInt64? = nil) -> [UInt8] {
        var writer = ByteWriter()
        writer.raw(Array("GGUF".utf8))
        writer.int(version)
        writer.int(tensorCountOverride ?? UInt64(tensorCount))
        writer.int(metadataCountOverride ?? UInt64(metadataCount))
        writer.raw(metadata.bytes)
        writer.raw(infos.bytes)
        if tensorCount > 0 {
            writer.padTo(multipleOf: alignment)
            writer.raw(data.bytes)
        }
        return writer.bytes
    }
}

func halfBits(_ value: Float) -> UInt16 { Float16(value).bitPattern }

func halfValue(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }
