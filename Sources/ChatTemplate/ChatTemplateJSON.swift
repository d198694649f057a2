import JSON

/// JSON documents as template values: key order is preserved (templates that print objects show the
/// client's order) and integers stay integers, as Python's json keeps them.
extension TemplateValue {
    public init(_ json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let flag): self = .bool(flag)
        case .int(let number): self = .int(Int(number))
        case .double(let number): self = .double(number)
        case .string(let text): self = .string(text)
        case .array(let elements): self = .array(elements.map(TemplateValue.init))
        case .object(let members): self = .object(OrderedObject(members.map { ($0.key, TemplateValue($0.value)) }))
        }
    }

    public static func parseJSON(_ text: String) throws -> TemplateValue {
        try parseJSON(Array(text.utf8))
    }

    public static func parseJSON(_ bytes: [UInt8]) throws -> TemplateValue {
        do { return TemplateValue(try JSONParser.parse(bytes)) } catch { throw ChatTemplateError("\(error)") }
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
