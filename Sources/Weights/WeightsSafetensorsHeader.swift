import Foundation
import JSON

/// One tensor described by a safetensors header, already bounds-checked against its file.
struct SafetensorsEntry {
    let name: String
    let path: String
    let dtypeName: String
    let dtype: WeightDType?
    let shape: [Int]
    let data: UnsafeRawPointer?
    let byteCount: Int
    /// Position within the data region; orders tensorNames like the file.
    let offset: Int

    func tensor() throws -> WeightTensor {
        guard let dtype else {
            throw WeightsError(.unsupportedDType,
                               "tensor '\(name)' in \(path) has dtype \(dtypeName); supported: F32, F16, BF16")
        }
        // A zero-byte tensor may sit at the very end of the file; any valid address works for it.
        let pointer = data ?? UnsafeRawPointer(bitPattern: 1)!
        return WeightTensor(name: name, dtype: dtype, shape: shape, data: pointer, byteCount: byteCount,
                            isFileMapped: true)
    }
}

/// Parser for the safetensors layout: u64 LE header length, JSON header, then the data region that
/// every `data_offsets` pair is relative to.
enum SafetensorsHeader {
    /// Headers are a few KB to a few MB; the reference implementation caps them at 100 MB too.
    static let maxHeaderBytes = 100_000_000

    /// Element sizes of every dtype the format defines, so spans are checked even for tensors we
    /// cannot hand out (their error is deferred until someone asks for them).
    static let elementBytes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8,
    ]

    static func dtype(named name: String) -> WeightDType? {
        switch name {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        default: return nil
        }
    }

    static func parse(_ file: WeightsMappedFile) throws -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw WeightsError(.truncated, "\(path) is truncated: \(bytes.count) bytes, too short for a safetensors header")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw WeightsError(.invalidHeader, "\(path): safetensors header length \(headerLength) is absurd (limit \(maxHeaderBytes)); not a safetensors file?")
        }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= bytes.count else {
            throw WeightsError(.truncated, "\(path) is truncated: header needs \(headerEnd) bytes, file has \(bytes.count)")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<headerEnd])
        let root: [(key: String, value: JSONValue)]
        do {
            guard let members = try JSONParser.parse([UInt8](headerBytes)).members else {
                throw WeightsError(.invalidHeader, "\(path): safetensors header is not a JSON object")
            }
            root = members
        } catch let error as JSONParseError {
            throw WeightsError(.invalidHeader, "\(path): safetensors header is not valid JSON (\(error))")
        }

        let dataStart = headerEnd
        let dataSize = bytes.count - dataStart
        var metadata: [String: String] = [:]
        var entries: [SafetensorsEntry] = []
        for (name, value) in root {
            if name == "__metadata__" {
                for (key, item) in value.members ?? [] { if let text = item.string { metadata[key] = text } }
                continue
            }
            entries.append(try entry(name: name, value: value, file: file, dataStart: dataStart, dataSize: dataSize))
        }
        // Keep file order (by offset) so tensorNames reads like the file.
        entries.sort { ($0.offset, $0.name) < ($1.offset, $1.name) }
        return (entries, metadata)
    }

    private static func entry(name: String, value: JSONValue, file: WeightsMappedFile,
                              dataStart: Int, dataSize: Int) throws -> SafetensorsEntry {
        let path = file.path
        guard case .object = value else {
            throw WeightsError(.invalidHeader, "\(path): header entry for tensor '\(name)' is not an object")
        }
        guard let dtypeName = value["dtype"]?.string else {
            throw WeightsError(.invalidHeader, "\(path): tensor '\(name)' has no \"dtype\" string")
        }
        guard let shape = integers(value["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError(.invalidHeader, "\(path): tensor '\(name)' has no valid \"shape\" (list of non-negative integers)")
        }
        guard let offsets = integers(value["data_offsets"]), offsets.count == 2 else {
            throw WeightsError(.invalidHeader, "\(path): tensor '\(name)' has no valid \"data_offsets\" pair")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, begin <= end else {
            throw WeightsError(.invalidHeader, "\(path): tensor '\(name)' has inverted data_offsets [\(begin), \(end)]")
        }
        guard end <= dataSize else {
            throw WeightsError(.outOfBounds, "\(path) is truncated or corrupt: tensor '\(name)' data_offsets [\(begin), \(end)] run past the \(dataSize) data bytes in the file")
        }
        if let size = elementBytes[dtypeName] {
            var expected = size
            var overflow = false
            for dim in shape where !overflow {
                (expected, overflow) = expected.multipliedReportingOverflow(by: dim)
            }
            guard !overflow, expected == end - begin else {
                throw WeightsError(.shapeMismatch, "\(path): tensor '\(name)' shape \(shape) x \(dtypeName) needs \(overflow ? "an overflowing number of" : String(expected)) bytes but data_offsets span \(end - begin)")
            }
        }
        let pointer = file.bytes.baseAddress.map { UnsafeRawPointer($0) + dataStart + begin }
        return SafetensorsEntry(name: name, path: path, dtypeName: dtypeName, dtype: dtype(named: dtypeName),
                                shape: shape, data: end > begin ? pointer : nil, byteCount: end - begin,
                                offset: begin)
    }

    /// A list of integers written as integers (a fraction such as 2.5, or 4.0, is not a size or offset).
    private static func integers(_ value: JSONValue?) -> [Int]? {
        guard let values = value?.array else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard case .int(let number) = value, let exact = Int(exactly: number) else { return nil }
            result.append(exact)
        }
        return result
    }
}
