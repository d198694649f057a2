/// A JSON value, shared by every reader in the package (tokenizer files, model configs, safetensors
/// headers, chat templates, API requests).
///
/// Objects keep their members in document order: chat templates iterate message keys in the
/// client's order, and tokenizer vocabularies are read in file order. Integers and other numbers
/// stay apart so the API can reject `max_tokens: 10.5`. Keys compare byte for byte: Swift's `==`
/// on `String` treats canonically equivalent spellings ("ά" U+03AC and U+1F71) as equal, and a
/// tokenizer vocabulary holds both as different tokens.
public enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(key: String, value: JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.double(a), .double(b)): return a == b
        case let (.string(a), .string(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key.utf8.elementsEqual($1.key.utf8) && $0.value == $1.value }
        default: return false
        }
    }

    /// The value stored under `key` (objects only; the parser keeps one member per key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let target = key.utf8
        return members.first { $0.key.utf8.elementsEqual(target) }?.value
    }

    public var string: String? { if case .string(let value) = self { return value }; return nil }
    public var bool: Bool? { if case .bool(let value) = self { return value }; return nil }
    public var array: [JSONValue]? { if case .array(let value) = self { return value }; return nil }
    public var members: [(key: String, value: JSONValue)]? { if case .object(let value) = self { return value }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// An integer, also when written as an integral number such as `4.0` (config files do that).
    public var int: Int? {
        switch self {
        case .int(let value): return Int(exactly: value)
        case .double(let value): return value.rounded() == value && abs(value) < 9e15 ? Int(value) : nil
        default: return nil
        }
    }

    /// One integer or a list of them, as a list (config files write eos_token_id either way);
    /// entries that are not integers are left out.
    public var intList: [Int] {
        if let single = int { return [single] }
        return array?.compactMap(\.int) ?? []
    }

    /// Any number, integer or not.
    public var double: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// Name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Compact JSON text, so error messages can quote the offending value.
    public var description: String { JSONWriter.string(self) }
}

// No ExpressibleByNilLiteral: with it, `nil` inside optional chains (`value.flatMap { $0.isNull ? nil : $0 }`)
// silently becomes `.null` instead of `Optional.none`. Write `.null`.
extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
}
