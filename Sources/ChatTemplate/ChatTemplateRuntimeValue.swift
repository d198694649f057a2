/// Runtime value of the interpreter: TemplateValue's kinds plus callables, namespaces,
/// markup strings and undefined values that remember why they are undefined.
enum Value {
    case undefined(UndefinedInfo)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// jinja2 `Markup` (from `safe`/`escape`): `+` with it HTML-escapes the other operand.
    case markup(String)
    case list([Value])
    case dict(Dict)
    case object(ObjectBox)
    case function(Function)

    static func undefined(_ hint: String) -> Value { .undefined(UndefinedInfo(hint: hint)) }
    static let missing = Value.undefined(UndefinedInfo(hint: "value is undefined"))

    init(_ value: TemplateValue) {
        switch value {
        case .undefined: self = .missing
        case .none: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let items): self = .list(items.map(Value.init))
        case .object(let object):
            var dict = Dict()
            for (key, item) in object.pairs { dict[key] = Value(item) }
            self = .dict(dict)
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    /// String content of string or markup values.
    var stringContent: String? {
        switch self {
        case .string(let s), .markup(let s): return s
        default: return nil
        }
    }

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s), .markup(let s): return !s.isEmpty
        case .list(let items): return !items.isEmpty
        case .dict(let dict): return !dict.isEmpty
        case .object, .function: return true
        }
    }

    /// Python type name as used in error messages ("dict object has no attribute ...").
    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .markup: return "Markup"
        case .list: return "list"
        case .dict: return "dict"
        case .object(let box): return box.typeName
        case .function: return "function"
        }
    }
}

struct UndefinedInfo {
    /// The message jinja2 raises when this undefined value is used in a strict way.
    let hint: String
}

/// Insertion-ordered string-keyed dictionary (Python dict).
struct Dict {
    private(set) var keys: [String] = []
    private var storage: [String: Value] = [:]

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    subscript(key: String) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var pairs: [(key: String, value: Value)] { keys.map { ($0, storage[$0] ?? .none) } }
    var values: [Value] { keys.map { storage[$0] ?? .none } }
}

/// Reference objects: `namespace()` (mutable attributes) and the read-only `loop` variable.
final class ObjectBox {
    let typeName: String
    let isNamespace: Bool
    var attributes: Dict

    init(typeName: String, isNamespace: Bool, attributes: Dict) {
        self.typeName = typeName
        self.isNamespace = isNamespace
        self.attributes = attributes
    }
}

/// A callable: builtin global, bound method, or macro.
struct Function {
    let name: String
    let body: (_ interpreter: Interpreter, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value
}
