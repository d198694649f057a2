/// One GGUF metadata value. Accessors convert across numeric widths so callers need not care
/// whether a writer chose u32 or i32 for, say, `llama.context_length`.
/// Not `indirect`: Array already boxes nested values, and boxing every element of a 100k-entry
/// vocab array would cost as many heap allocations.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case uint64(UInt64), int64(Int64), float32(Float), float64(Double), bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// Any integer value that fits in Int.
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// Any numeric value (integers are converted).
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(let v) = self { return v }
        return nil
    }

    /// An array whose every element is a string.
    public var strings: [String]? {
        guard let items = array else { return nil }
        var result: [String] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else { return nil }
            result.append(text)
        }
        return result
    }

    /// An array whose every element is numeric.
    public var floats: [Float]? {
        guard let items = array else { return nil }
        var result: [Float] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = item.double else { return nil }
            result.append(Float(value))
        }
        return result
    }

    /// An array whose every element is an integer that fits in Int.
    public var ints: [Int]? {
        guard let items = array else { return nil }
        var result: [Int] = []
        result.reserveCapacity(items.count)
        for item in items {
            guard let value = item.int else { return nil }
            result.append(value)
        }
        return result
    }
}
