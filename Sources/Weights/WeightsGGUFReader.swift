/// Cursor over the mapped bytes of a GGUF file. Every read is bounds-checked and every length or
/// count is checked against the bytes left before anything is allocated, so a corrupt file fails
/// with a message instead of crashing or exhausting memory.
struct GGUFReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    private(set) var position = 0

    init(bytes: UnsafeRawBufferPointer, path: String) {
        self.bytes = bytes
        self.path = path
    }

    var remaining: Int { bytes.count - position }

    /// Nested arrays deeper than this are treated as corruption (real files use depth 1).
    static let maxArrayDepth = 8

    mutating func require(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, count <= remaining else {
            throw WeightsError(.truncated, "\(path) is truncated or corrupt: \(what()) needs \(count) bytes at offset \(position) but only \(remaining) remain")
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try require(MemoryLayout<T>.size, what())
        let value = T(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return value
    }

    /// A u64 count or length that must fit in memory: at least `minBytesEach` bytes per item must
    /// still be in the file, which rules out absurd values before any allocation.
    mutating func readCount(minBytesEach: Int, _ what: @autoclosure () -> String) throws -> Int {
        let raw = try read(UInt64.self, what())
        let limit = minBytesEach > 0 ? UInt64(remaining / minBytesEach) : UInt64(remaining)
        guard raw <= limit else {
            throw WeightsError(.invalidHeader, "\(path) is corrupt: \(what()) is \(raw), impossible with \(remaining) bytes left in the file")
        }
        return Int(raw)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws -> String {
        let length = try readCount(minBytesEach: 1, "length of \(what())")
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]), as: UTF8.self)
        position += length
        return text
    }

    mutating func align(to alignment: Int) {
        let misalignment = position % alignment
        if misalignment != 0 { position = min(bytes.count, position + alignment - misalignment) }
    }

    // GGUF metadata value type ids.
    private enum ValueType: UInt32 {
        case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

        /// Smallest encoding of one value of this type (strings: their u64 length; arrays: type + count).
        var minBytes: Int {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .uint32, .int32, .float32: return 4
            case .uint64, .int64, .float64, .string: return 8
            case .array: return 12
            }
        }
    }

    mutating func readValue(key: String) throws -> GGUFValue {
        let typeId = try read(UInt32.self, "type of metadata '\(key)'")
        return try readValue(typeId: typeId, key: key, depth: 0)
    }

    private mutating func readValue(typeId: UInt32, key: String, depth: Int) throws -> GGUFValue {
        guard let type = ValueType(rawValue: typeId) else {
            throw WeightsError(.invalidHeader, "\(path) is corrupt: metadata '\(key)' has unknown value type \(typeId)")
        }
        // Built only on failure: this runs once per element of 100k-entry vocab arrays.
        func what() -> String { "metadata '\(key)'" }
        switch type {
        case .uint8: return .uint8(try read(UInt8.self, what()))
        case .int8: return .int8(try read(Int8.self, what()))
        case .uint16: return .uint16(try read(UInt16.self, what()))
        case .int16: return .int16(try read(Int16.self, what()))
        case .uint32: return .uint32(try read(UInt32.self, what()))
        case .int32: return .int32(try read(Int32.self, what()))
        case .uint64: return .uint64(try read(UInt64.self, what()))
        case .int64: return .int64(try read(Int64.self, what()))
        case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what())))
        case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what())))
        case .bool:
            let raw = try read(UInt8.self, what())
            guard raw <= 1 else {
                throw WeightsError(.invalidHeader, "\(path) is corrupt: \(what()) is a bool with value \(raw)")
            }
            return .bool(raw == 1)
        case .string: return .string(try readString(what()))
        case .array:
            guard depth < GGUFReader.maxArrayDepth else {
                throw WeightsError(.invalidHeader, "\(path) is corrupt: \(what()) nests arrays deeper than \(GGUFReader.maxArrayDepth)")
            }
            let elementTypeId = try read(UInt32.self, "element type of \(what())")
            guard let elementType = ValueType(rawValue: elementTypeId) else {
                throw WeightsError(.invalidHeader, "\(path) is corrupt: array \(what()) has unknown element type \(elementTypeId)")
            }
            let count = try readCount(minBytesEach: elementType.minBytes, "element count of array \(what())")
            var items: [GGUFValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count {
                items.append(try readValue(typeId: elementTypeId, key: key, depth: depth + 1))
            }
            return .array(items)
        }
    }
}
