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
    /// Python tuple: prints with parentheses, never equal to a list.
    case tuple([Value])
    /// A lazy Python iterable (generator from select/map/..., reversed()): iterable once, no len(), not JSON.
    case iterator([Value])
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

    /// Items of a list or tuple.
    var sequenceItems: [Value]? {
        switch self {
        case .list(let items), .tuple(let items): return items
        default: return nil
        }
    }

    /// Tuples and lists alike as a list (for arguments where Python accepts either).
    var asSequence: Value {
        if case .tuple(let items) = self { return .list(items) }
        return self
    }

    /// Whether containers nest more than `limit` levels (self-referencing namespaces count as too deep).
    /// Printing, JSON and comparisons recurse over values, so nesting is bounded where it can grow.
    func nestsDeeper(than limit: Int) -> Bool {
        if limit < 0 { return true }
        switch self {
        case .list(let items), .tuple(let items), .iterator(let items):
            return items.contains { $0.nestsDeeper(than: limit - 1) }
        case .dict(let dict):
            return dict.values.contains { $0.nestsDeeper(than: limit - 1) }
        case .object(let box):
            return box.attributes.values.contains { $0.nestsDeeper(than: limit - 1) }
        default:
            return false
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
        case .list(let items), .tuple(let items): return !items.isEmpty
        case .dict(let dict): return !dict.isEmpty
        case .object, .function, .iterator: return true
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
        case .tuple: return "tuple"
        case .iterator: return "generator"
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

/// Dictionary key: Python dicts in templates are keyed by strings and, rarely, integers.
enum DictKey: Hashable {
    case string(String)
    case int(Int)

    init?(_ value: Value) {
        switch value {
        case .string(let s), .markup(let s): self = .string(s)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .int(b ? 1 : 0)
        case .double(let d) where d == d.rounded() && abs(d) < 1e18: self = .int(Int(d))
        default: return nil
        }
    }

    var value: Value {
        switch self {
        case .string(let s): return .string(s)
        case .int(let i): return .int(i)
        }
    }

    /// json.dumps turns int keys into their decimal text.
    var jsonText: String {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        }
    }
}

/// Insertion-ordered dictionary (Python dict).
struct Dict {
    private(set) var keys: [DictKey] = []
    private var storage: [DictKey: Value] = [:]

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    subscript(key: String) -> Value? {
        get { storage[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    subscript(key: DictKey) -> Value? {
        get { storage[key] }
        set {
            if let newValue {
                if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
            } else if storage.removeValue(forKey: key) != nil {
                keys.removeAll { $0 == key }
            }
        }
    }

    var pairs: [(key: DictKey, value: Value)] { keys.map { ($0, storage[$0] ?? .none) } }
    var values: [Value] { keys.map { storage[$0] ?? .none } }
}

/// Reference objects: `namespace()` (mutable attributes) and the read-only `loop` variable.
final class ObjectBox {
    let typeName: String
    let isNamespace: Bool
    var attributes: Dict
    /// Set for the `loop` variable, whose attributes are computed from the current position.
    let loop: LoopContext?

    init(typeName: String, isNamespace: Bool, attributes: Dict, loop: LoopContext? = nil) {
        self.typeName = typeName
        self.isNamespace = isNamespace
        self.attributes = attributes
        self.loop = loop
    }
}

/// State behind jinja2's `loop` variable; one per for-loop, advanced each iteration.
final class LoopContext {
    let items: [Value]
    var index = 0
    /// Arguments of the previous `loop.changed(...)` call.
    var lastChanged: [Value]? = nil

    init(items: [Value]) { self.items = items }

    func attribute(_ name: String) -> Value {
        let count = items.count
        switch name {
        case "index": return .int(index + 1)
        case "index0": return .int(index)
        case "revindex": return .int(count - index)
        case "revindex0": return .int(count - index - 1)
        case "first": return .bool(index == 0)
        case "last": return .bool(index == count - 1)
        case "length": return .int(count)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return index > 0 ? items[index - 1] : .undefined("there is no previous item")
        case "nextitem": return index < count - 1 ? items[index + 1] : .undefined("there is no next item")
        case "cycle":
            let position = index
            return .function(Function(name: "cycle") { interpreter, args, _ in
                guard !args.isEmpty else { throw interpreter.error("no items for cycling given") }
                return args[position % args.count]
            })
        case "changed":
            return .function(Function(name: "changed") { [self] _, args, _ in
                if let last = lastChanged, last.count == args.count, zip(last, args).allSatisfy({ Operators.equal($0, $1) }) {
                    return .bool(false)
                }
                lastChanged = args
                return .bool(true)
            })
        default: return .undefined("'LoopContext object' has no attribute '\(name)'")
        }
    }
}

/// A callable: builtin global, bound method, or macro.
struct Function {
    let name: String
    let body: (_ interpreter: Interpreter, _ args: [Value], _ kwargs: [(String, Value)]) throws -> Value
}
