import JSON

/// Python's str()/repr() and json.dumps() renderings of values; templates print these byte for byte.
enum PythonFormat {
    static func str(_ value: Value) -> String {
        switch value {
        case .undefined: return ""
        case .string(let s), .markup(let s): return s
        default: return repr(value)
        }
    }

    static func repr(_ value: Value) -> String {
        switch value {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return float(d)
        case .string(let s): return quote(s)
        case .markup(let s): return "Markup(\(quote(s)))"
        case .list(let items): return "[" + items.map(repr).joined(separator: ", ") + "]"
        case .tuple(let items): return "(" + items.map(repr).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .dict(let dict):
            return "{" + dict.pairs.map { repr($0.key.value) + ": " + repr($0.value) }.joined(separator: ", ") + "}"
        case .object(let box):
            if box.isNamespace {
                return "<Namespace " + repr(.dict(box.attributes)) + ">"
            }
            return "<\(box.typeName) object>"
        case .function(let f): return "<function \(f.name)>"
        case .iterator: return "<generator object>"
        }
    }

    /// Python float repr: shortest round-trip digits, scientific outside [1e-4, 1e16).
    static func float(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let (digits, exponent) = decimalDigits(abs(d))
        let sign = d < 0 ? "-" : ""
        if exponent >= -4 && exponent < 16 {
            if exponent >= 0 {
                var intPart = String(digits.prefix(exponent + 1))
                if intPart.count < exponent + 1 { intPart += String(repeating: "0", count: exponent + 1 - intPart.count) }
                let frac = digits.count > exponent + 1 ? String(digits.dropFirst(exponent + 1)) : "0"
                return sign + intPart + "." + frac
            }
            return sign + "0." + String(repeating: "0", count: -exponent - 1) + digits
        }
        var mantissa = String(digits.prefix(1))
        if digits.count > 1 { mantissa += "." + digits.dropFirst() }
        let expDigits = String(abs(exponent))
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (expDigits.count < 2 ? "0" + expDigits : expDigits)
    }

    /// Shortest round-trip significant digits of a positive finite double and its decimal exponent
    /// (value = d.ddd × 10^exponent), taken from Swift's own shortest representation.
    private static func decimalDigits(_ d: Double) -> (String, Int) {
        let text = "\(d)"
        var mantissa = Substring(text)
        var exponentPart = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponentPart = Int(text[text.index(after: e)...]) ?? 0
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let intPart = parts.first.map(String.init) ?? ""
        let fracPart = parts.count > 1 ? String(parts[1]) : ""
        var all = Array(intPart + fracPart)
        var exponent = intPart.count - 1 + exponentPart
        while let first = all.first, first == "0" { all.removeFirst(); exponent -= 1 }
        while let last = all.last, last == "0" { all.removeLast() }
        return (all.isEmpty ? "0" : String(all), exponent)
    }

    /// Python repr() of a str: single quotes unless the text has ' and no ".
    static func quote(_ s: String) -> String {
        let useDouble = s.contains("'") && !s.contains("\"")
        let q: Character = useDouble ? "\"" : "'"
        var out = String(q)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(scalar) == q {
                    out += "\\" + String(q)
                } else if !isPrintable(scalar) {
                    let v = scalar.value
                    out += v < 0x100 ? "\\x" + hex(v, width: 2) : (v < 0x10000 ? "\\u" + hex(v, width: 4) : "\\U" + hex(v, width: 8))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append(q)
        return out
    }

    /// Python str.isprintable() for one character: no control, format, separator (but ' '), private or unassigned.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

/// json.dumps options as transformers' `tojson` filter exposes them.
struct JSONDumpOptions {
    var ensureASCII = false
    /// nil: single line; otherwise the per-level indent text.
    var indent: String? = nil
    var itemSeparator: String? = nil
    var keySeparator = ": "
    var sortKeys = false
}

enum JSONDump {
    static func dump(_ value: Value, _ options: JSONDumpOptions) throws -> String {
        var out = ""
        try write(value, options, level: 0, into: &out)
        return out
    }

    private static func write(_ value: Value, _ options: JSONDumpOptions, level: Int, into out: inout String) throws {
        switch value {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += PythonFormat.float(d) }
        case .string(let s), .markup(let s): JSONWriter.writeString(s, ensureASCII: options.ensureASCII, into: &out)
        case .list(let items), .tuple(let items):
            guard !items.isEmpty else { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += options.itemSeparator ?? (options.indent == nil ? ", " : ",") }
                newline(options, level: level + 1, into: &out)
                try write(item, options, level: level + 1, into: &out)
            }
            newline(options, level: level, into: &out)
            out += "]"
        case .dict(let dict):
            guard !dict.isEmpty else { out += "{}"; return }
            out += "{"
            var pairs = dict.pairs
            if options.sortKeys {
                pairs.sort { a, b in
                    switch (a.key, b.key) {
                    case (.int(let x), .int(let y)): return x < y
                    default: return a.key.jsonText.unicodeScalars.lexicographicallyPrecedes(b.key.jsonText.unicodeScalars)
                    }
                }
            }
            for (i, pair) in pairs.enumerated() {
                if i > 0 { out += options.itemSeparator ?? (options.indent == nil ? ", " : ",") }
                newline(options, level: level + 1, into: &out)
                JSONWriter.writeString(pair.key.jsonText, ensureASCII: options.ensureASCII, into: &out)
                out += options.keySeparator
                try write(pair.value, options, level: level + 1, into: &out)
            }
            newline(options, level: level, into: &out)
            out += "}"
        case .object(let box) where box.isNamespace:
            throw ChatTemplateError("Object of type Namespace is not JSON serializable")
        default:
            throw ChatTemplateError("Object of type \(value.typeName) is not JSON serializable")
        }
    }

    private static func newline(_ options: JSONDumpOptions, level: Int, into out: inout String) {
        guard let indent = options.indent else { return }
        out += "\n" + String(repeating: indent, count: level)
    }
}
