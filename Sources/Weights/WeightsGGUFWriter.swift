import Foundation

/// Writes GGUF v3 files. Used to build small test models (for example stories260K converted to
/// GGUF, optionally quantized) so the GGUF path can be tested without large downloads.
public struct GGUFWriter {
    public let alignment: Int
    private var entries: [(key: String, value: GGUFValue)] = []
    private var tensors: [(name: String, dtype: WeightDType, shape: [Int], bytes: [UInt8])] = []

    public init(alignment: Int = 32) throws {
        guard alignment > 0, alignment & (alignment - 1) == 0 else {
            throw WeightsError(.invalidHeader, "GGUF alignment must be a power of two, got \(alignment)")
        }
        self.alignment = alignment
    }

    /// Sets a metadata value (replacing an earlier one of the same key, keeping its position).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if let index = entries.firstIndex(where: { $0.key == key }) {
            entries[index].value = value
        } else {
            entries.append((key, value))
        }
    }

    /// Adds a tensor; `shape` is in PyTorch order and `bytes` already in `dtype`'s encoding.
    public mutating func addTensor(name: String, dtype: WeightDType, shape: [Int], bytes: [UInt8]) throws {
        guard !tensors.contains(where: { $0.name == name }) else {
            throw WeightsError(.duplicateName, "GGUFWriter: tensor '\(name)' added twice")
        }
        guard shape.count <= GGUFFile.maxDimensions, shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError(.shapeMismatch, "GGUFWriter: tensor '\(name)' shape \(shape) is not 0...\(GGUFFile.maxDimensions) non-negative extents")
        }
        let rowLength = shape.last ?? 1
        let rows = shape.dropLast().reduce(1, *)
        guard let expected = dtype.byteCount(rowLength: rowLength, rows: rows), expected == bytes.count else {
            throw WeightsError(.shapeMismatch, "GGUFWriter: tensor '\(name)' shape \(shape) as \(dtype.rawValue) does not match \(bytes.count) bytes")
        }
        tensors.append((name, dtype, shape, bytes))
    }

    /// The complete file.
    public func encoded() throws -> [UInt8] {
        var metadata = entries
        if alignment != GGUFFile.defaultAlignment, !metadata.contains(where: { $0.key == "general.alignment" }) {
            metadata.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        var out = GGUFByteSink()
        out.raw(Array("GGUF".utf8))
        out.int(UInt32(3))
        out.int(UInt64(tensors.count))
        out.int(UInt64(metadata.count))
        for entry in metadata {
            out.string(entry.key)
            out.int(GGUFWriter.typeId(of: entry.value))
            try GGUFWriter.encode(entry.value, key: entry.key, into: &out)
        }
        var offset = 0
        for tensor in tensors {
            out.string(tensor.name)
            out.int(UInt32(tensor.shape.count))
            for extent in tensor.shape.reversed() { out.int(UInt64(extent)) }
            out.int(GGMLType.id(tensor.dtype))
            out.int(UInt64(offset))
            offset += GGUFWriter.padded(tensor.bytes.count, to: alignment)
        }
        out.pad(to: alignment)
        for tensor in tensors {
            out.raw(tensor.bytes)
            out.pad(to: alignment)
        }
        return out.bytes
    }

    /// Writes the file atomically (temporary file + rename).
    public func write(to path: String) throws {
        do {
            try Data(try encoded()).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch let error as WeightsError {
            throw error
        } catch {
            throw WeightsError(.ioError, "cannot write \(path): \(error.localizedDescription)")
        }
    }

    private static func padded(_ count: Int, to alignment: Int) -> Int {
        (count + alignment - 1) / alignment * alignment
    }

    private static func typeId(of value: GGUFValue) -> UInt32 {
        switch value {
        case .uint8: return 0
        case .int8: return 1
        case .uint16: return 2
        case .int16: return 3
        case .uint32: return 4
        case .int32: return 5
        case .float32: return 6
        case .bool: return 7
        case .string: return 8
        case .array: return 9
        case .uint64: return 10
        case .int64: return 11
        case .float64: return 12
        }
    }

    private static func encode(_ value: GGUFValue, key: String, into out: inout GGUFByteSink) throws {
        switch value {
        case .uint8(let v): out.int(v)
        case .int8(let v): out.int(v)
        case .uint16(let v): out.int(v)
        case .int16(let v): out.int(v)
        case .uint32(let v): out.int(v)
        case .int32(let v): out.int(v)
        case .uint64(let v): out.int(v)
        case .int64(let v): out.int(v)
        case .float32(let v): out.int(v.bitPattern)
        case .float64(let v): out.int(v.bitPattern)
        case .bool(let v): out.int(UInt8(v ? 1 : 0))
        case .string(let v): out.string(v)
        case .array(let items):
            // GGUF arrays are homogeneous; an empty one is written as an empty u32 array.
            let elementType = items.first.map(typeId) ?? 4
            guard items.allSatisfy({ typeId(of: $0) == elementType }) else {
                throw WeightsError(.invalidHeader, "GGUFWriter: metadata '\(key)' mixes element types in one array")
            }
            out.int(elementType)
            out.int(UInt64(items.count))
            for item in items { try encode(item, key: key, into: &out) }
        }
    }
}

/// Little-endian byte accumulation for the writer.
private struct GGUFByteSink {
    var bytes: [UInt8] = []

    mutating func int<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    mutating func string(_ text: String) {
        let utf8 = Array(text.utf8)
        int(UInt64(utf8.count))
        raw(utf8)
    }

    mutating func pad(to alignment: Int) {
        let remainder = bytes.count % alignment
        if remainder != 0 { bytes.append(contentsOf: repeatElement(0, count: alignment - remainder)) }
    }
}
