/// jinja2's builtin tests (`x is defined`, `x is mapping`, ...).
enum Tests {
    static let known: Set<String> = [
        "defined", "undefined", "none", "string", "number", "integer", "float", "mapping", "iterable", "sequence",
        "boolean", "true", "false", "odd", "even", "divisibleby", "equalto", "eq", "==", "ne", "!=", "lt", "<",
        "le", "<=", "gt", ">", "ge", ">=", "greaterthan", "lessthan", "sameas", "lower", "upper", "callable",
        "escaped", "in", "filter", "test",
    ]

    static func apply(_ name: String, _ value: Value, _ args: [Value], line: Int, interpreter: Interpreter) throws -> Bool {
        func arg() throws -> Value {
            guard let first = args.first else { throw interpreter.error("test '\(name)' needs an argument", line: line) }
            return first
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": if case .none = value { return true } else { return false }
        case "string": return value.stringContent != nil
        case "number":
            switch value { case .int, .double, .bool: return true; default: return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": if case .bool(true) = value { return true } else { return false }
        case "false": if case .bool(false) = value { return true } else { return false }
        case "mapping": if case .dict = value { return true } else { return false }
        case "iterable":
            switch value {
            case .string, .markup, .list, .tuple, .dict, .undefined, .iterator: return true
            default: return false
            }
        case "sequence":
            switch value {
            case .string, .markup, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        case "callable": if case .function = value { return true } else { return false }
        case "escaped": if case .markup = value { return true } else { return false }
        case "odd", "even":
            guard case .int(let i) = value else {
                if case .bool(let b) = value { return (b ? 1 : 0) % 2 == (name == "odd" ? 1 : 0) }
                throw interpreter.error("test '\(name)' needs an integer", line: line)
            }
            return abs(i % 2) == (name == "odd" ? 1 : 0)
        case "divisibleby":
            guard case .int(let i) = value, case .int(let d) = try arg(), d != 0 else {
                throw interpreter.error("divisibleby needs integers", line: line)
            }
            return i % d == 0
        case "equalto", "eq", "==": return Operators.equal(value, try arg())
        case "ne", "!=": return !Operators.equal(value, try arg())
        case "lt", "<", "lessthan": return try Operators.less(value, try arg(), line: line, interpreter: interpreter)
        case "gt", ">", "greaterthan": return try Operators.less(try arg(), value, line: line, interpreter: interpreter)
        case "le", "<=": return try !Operators.less(try arg(), value, line: line, interpreter: interpreter)
        case "ge", ">=": return try !Operators.less(value, try arg(), line: line, interpreter: interpreter)
        case "in": return try Operators.contains(try arg(), value, line: line, interpreter: interpreter)
        case "sameas":
            let other = try arg()
            switch (value, other) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.int(let a), .int(let b)): return a == b
            case (.object(let a), .object(let b)): return a === b
            default: return false
            }
        case "lower":
            guard let s = value.stringContent else { return false }
            return s == s.lowercased() && s != s.uppercased()
        case "upper":
            guard let s = value.stringContent else { return false }
            return s == s.uppercased() && s != s.lowercased()
        case "filter": return Filters.known.contains(value.stringContent ?? "")
        case "test": return known.contains(value.stringContent ?? "")
        default:
            throw interpreter.error("No test named '\(name)'.", line: line)
        }
    }
}
