import Foundation

/// Serializes JSON values compactly, keys in insertion order.
public enum JSONWriter {
    public static func write(_ value: JSONValue, into out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .int(let number): out += String(number)
        case .double(let number): writeDouble(number, into: &out)
        case .string(let text): writeString(text, into: &out)
        case .array(let elements):
            out += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (position, member) in members.enumerated() {
                if position > 0 { out += "," }
                writeString(member.key, into: &out)
                out += ":"
                write(member.value, into: &out)
            }
            out += "}"
        }
    }

    public static func string(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    public static func writeDouble(_ number: Double, into out: inout String) {
        guard number.isFinite else {
            // JSON has no infinities; -inf logprobs are clamped to vLLM's floor.
            out += number < 0 ? "-9999.0" : (number.isNaN ? "null" : "1e308")
            return
        }
        if number == number.rounded(), abs(number) < 1e15 {
            out += String(format: "%.1f", number)
        } else {
            out += "\(number)"
        }
    }

    /// A JSON string literal. `ensureASCII` also escapes everything outside printable ASCII (as
    /// Python's `json.dumps` does by default), astral characters as surrogate pairs.
    public static func writeString(_ text: String, ensureASCII: Bool = false, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
                    if scalar.value > 0xFFFF {
                        let astral = scalar.value - 0x10000
                        out += String(format: "\\u%04x\\u%04x", 0xD800 + (astral >> 10), 0xDC00 + (astral & 0x3FF))
                    } else {
                        out += String(format: "\\u%04x", scalar.value)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
