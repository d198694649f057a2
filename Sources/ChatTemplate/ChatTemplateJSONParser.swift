/// RFC 8259 JSON reader producing `TemplateValue` with object key order preserved.
/// Integers that fit in `Int` stay integers (Python keeps them as int too); others become doubles.
extension TemplateValue {
    public static func parseJSON(_ text: String) throws -> TemplateValue {
        try parseJSON(Array(text.utf8))
    }

    public static func parseJSON(_ bytes: [UInt8]) throws -> TemplateValue {
        var parser = JSONReader(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.readValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.failure("unexpected trailing characters") }
        return value
    }
}

private struct JSONReader {
    let bytes: [UInt8]
    var position = 0
    static let maxDepth = 512

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ what: String) -> ChatTemplateError {
        ChatTemplateError("invalid JSON at byte \(position): \(what)")
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func expect(_ literal: String, value: TemplateValue) throws -> TemplateValue {
        let expected = Array(literal.utf8)
        guard position + expected.count <= bytes.count,
              Array(bytes[position..<position + expected.count]) == expected
        else { throw failure("expected '\(literal)'") }
        position += expected.count
        return value
    }

    mutating func readValue(depth: Int) throws -> TemplateValue {
        guard depth < Self.maxDepth else { throw failure("nesting deeper than \(Self.maxDepth)") }
        guard position < bytes.count else { throw failure("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try readObject(depth: depth)
        case UInt8(ascii: "["): return try readArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
        case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
        case UInt8(ascii: "n"): return try expect("null", value: .none)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw failure("unexpected character '\(Character(Unicode.Scalar(bytes[position])))'")
        }
    }

    mutating func readObject(depth: Int) throws -> TemplateValue {
        position += 1
        var object = OrderedObject()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected object key") }
            let key = try readString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            skipWhitespace()
            object[key] = try readValue(depth: depth + 1)
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return .object(object) }
            throw failure("expected ',' or '}'")
        }
    }

    mutating func readArray(depth: Int) throws -> TemplateValue {
        position += 1
        var items: [TemplateValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try readValue(depth: depth + 1))
            skipWhitespace()
            guard position < bytes.count else { throw failure("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "]") { position += 1; return .array(items) }
            throw failure("expected ',' or ']'")
        }
    }

    mutating func readHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw failure("bad hex digit in \\u escape")
            }
            value = value * 16 + UInt32(digit)
            position += 1
        }
        return value
    }

    mutating func readString() throws -> String {
        position += 1
        var out: [UInt8] = []
        while true {
            guard position < bytes.count else { throw failure("unterminated string") }
            let c = bytes[position]
            if c == UInt8(ascii: "\"") { position += 1; break }
            if c < 0x20 { throw failure("control character in string") }
            if c != UInt8(ascii: "\\") { out.append(c); position += 1; continue }
            position += 1
            guard position < bytes.count else { throw failure("unterminated escape") }
            let e = bytes[position]
            position += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try readHex4()
                if (0xD800..<0xDC00).contains(code) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"),
                          bytes[position + 1] == UInt8(ascii: "u") else { throw failure("unpaired surrogate") }
                    position += 2
                    let low = try readHex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(code) {
                    throw failure("unpaired surrogate")
                }
                guard let scalar = Unicode.Scalar(code) else { throw failure("invalid code point") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw failure("invalid escape '\\\(Character(Unicode.Scalar(e)))'")
            }
        }
        guard let string = String(validating: out, as: UTF8.self) else { throw failure("invalid UTF-8 in string") }
        return string
    }

    mutating func readNumber() throws -> TemplateValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits(_ reader: inout JSONReader) -> Int {
            let from = reader.position
            while reader.position < reader.bytes.count,
                  (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(reader.bytes[reader.position]) { reader.position += 1 }
            return reader.position - from
        }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw failure("expected digits") }
        if intDigits > 1, bytes[position - intDigits] == UInt8(ascii: "0") { throw failure("leading zero in number") }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard digits(&self) > 0 else { throw failure("expected fraction digits") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits(&self) > 0 else { throw failure("expected exponent digits") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if isInteger, let int = Int(text) { return .int(int) }
        guard let double = Double(text) else { throw failure("bad number '\(text)'") }
        return .double(double)
    }
}

extension TemplateValue {
    func nestsDeeper(than limit: Int) -> Bool {
        if limit < 0 { return true }
        switch self {
        case .array(let items): return items.contains { $0.nestsDeeper(than: limit - 1) }
        case .object(let object): return object.pairs.contains { $0.value.nestsDeeper(than: limit - 1) }
        default: return false
        }
    }

    /// JSON text as Python's json.dumps writes it (", " and ": " separators, non-ASCII kept);
    /// undefined becomes null. Handy for tool-call arguments that templates expect as strings.
    public func jsonString(indent: Int? = nil, sortKeys: Bool = false) -> String {
        var options = JSONDumpOptions()
        options.indent = indent.map { String(repeating: " ", count: max(0, $0)) }
        options.sortKeys = sortKeys
        return (try? JSONDump.dump(RuntimeValue(self).replacingUndefined, options)) ?? "null"
    }
}

private extension Value {
    var replacingUndefined: Value {
        switch self {
        case .undefined: return .none
        case .list(let items): return .list(items.map(\.replacingUndefined))
        case .dict(var dict):
            for (key, value) in dict.pairs { dict[key] = value.replacingUndefined }
            return .dict(dict)
        default: return self
        }
    }
}

/// Inside TemplateValue extensions `Value` names the dictionary-literal associated type.
typealias RuntimeValue = Value
