import Foundation

/// Python semantics of arithmetic, comparison, membership and slicing.
enum Operators {
    static func unsupported(_ op: String, _ left: Value, _ right: Value?, line: Int?, interpreter: Interpreter) -> ChatTemplateError {
        if case .undefined(let info) = left { return interpreter.error(info.hint, line: line) }
        if let right, case .undefined(let info) = right { return interpreter.error(info.hint, line: line) }
        if let right {
            return interpreter.error("unsupported operand type(s) for \(op): '\(left.typeName)' and '\(right.typeName)'", line: line)
        }
        return interpreter.error("bad operand type for \(op): '\(left.typeName)'", line: line)
    }

    enum Number { case int(Int), double(Double) }

    static func number(_ value: Value) -> Number? {
        switch value {
        case .int(let i): return .int(i)
        case .bool(let b): return .int(b ? 1 : 0)
        case .double(let d): return .double(d)
        default: return nil
        }
    }

    static func asDouble(_ n: Number) -> Double {
        switch n {
        case .int(let i): return Double(i)
        case .double(let d): return d
        }
    }

    static func negate(_ value: Value, line: Int, interpreter: Interpreter) throws -> Value {
        switch number(value) {
        case .int(let i)?:
            let (r, overflow) = (0).subtractingReportingOverflow(i)
            if overflow { throw interpreter.error("integer overflow", line: line) }
            return .int(r)
        case .double(let d)?: return .double(-d)
        case nil: throw unsupported("unary -", value, nil, line: line, interpreter: interpreter)
        }
    }

    /// Escapes text for HTML the way markupsafe does.
    static func escapeHTML(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    static func binary(_ op: String, _ left: Value, _ right: Value, line: Int, interpreter: Interpreter) throws -> Value {
        // Markup + str escapes the plain side (markupsafe semantics).
        if op == "+" {
            if case .markup(let a) = left, let b = right.stringContent {
                if case .markup = right { return .markup(a + b) }
                return .markup(a + escapeHTML(b))
            }
            if case .markup(let b) = right, let a = left.stringContent { return .markup(escapeHTML(a) + b) }
        }
        if let a = number(left), let b = number(right) {
            return try arithmetic(op, a, b, line: line, interpreter: interpreter)
        }
        let maxBytes = interpreter.limits.maxOutputBytes
        func guarded(_ count: Int, _ unit: Int) throws -> Int {
            let n = max(0, count)
            if unit > 0, n > maxBytes / unit { throw interpreter.error("value larger than \(maxBytes) bytes", line: line) }
            return n
        }
        switch (op, left, right) {
        case ("+", _, _):
            if let a = left.stringContent, let b = right.stringContent {
                _ = try guarded(1, a.utf8.count + b.utf8.count)
            }
            if let a = left.stringContent, let b = right.stringContent { return .string(a + b) }
            if case .list(let a) = left, case .list(let b) = right { return .list(a + b) }
            if case .tuple(let a) = left, case .tuple(let b) = right { return .tuple(a + b) }
        case ("*", _, _):
            if let s = left.stringContent, case .int(let n) = right {
                return .string(String(repeating: s, count: try guarded(n, s.utf8.count)))
            }
            if let s = right.stringContent, case .int(let n) = left {
                return .string(String(repeating: s, count: try guarded(n, s.utf8.count)))
            }
            if case .list(let items) = left, case .int(let n) = right {
                return .list(Array(repeating: items, count: try guarded(n, items.count * 8)).flatMap { $0 })
            }
        case ("%", _, _):
            if let format = left.stringContent {
                return .string(try percentFormat(format, right, line: line, interpreter: interpreter))
            }
        default: break
        }
        throw unsupported(op, left, right, line: line, interpreter: interpreter)
    }

    private static func arithmetic(_ op: String, _ a: Number, _ b: Number, line: Int, interpreter: Interpreter) throws -> Value {
        if case .int(let x) = a, case .int(let y) = b {
            func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Value {
                if r.overflow { throw interpreter.error("integer overflow", line: line) }
                return .int(r.partialValue)
            }
            switch op {
            case "+": return try checked(x.addingReportingOverflow(y))
            case "-": return try checked(x.subtractingReportingOverflow(y))
            case "*": return try checked(x.multipliedReportingOverflow(by: y))
            case "/":
                if y == 0 { throw interpreter.error("division by zero", line: line) }
                return .double(Double(x) / Double(y))
            case "//":
                if y == 0 { throw interpreter.error("integer division or modulo by zero", line: line) }
                let (q, r) = x.quotientAndRemainder(dividingBy: y)
                return .int((r != 0 && (r < 0) != (y < 0)) ? q - 1 : q)
            case "%":
                if y == 0 { throw interpreter.error("integer division or modulo by zero", line: line) }
                let r = x % y
                return .int((r != 0 && (r < 0) != (y < 0)) ? r + y : r)
            case "**":
                if y < 0 { return .double(pow(Double(x), Double(y))) }
                var result = 1
                for _ in 0..<min(y, 4096) {
                    let r = result.multipliedReportingOverflow(by: x)
                    if r.overflow { throw interpreter.error("integer overflow", line: line) }
                    result = r.partialValue
                }
                if y > 4096 && x != 0 && x != 1 && x != -1 { throw interpreter.error("integer overflow", line: line) }
                return .int(result)
            default: break
            }
        }
        let x = asDouble(a), y = asDouble(b)
        switch op {
        case "+": return .double(x + y)
        case "-": return .double(x - y)
        case "*": return .double(x * y)
        case "/":
            if y == 0 { throw interpreter.error("float division by zero", line: line) }
            return .double(x / y)
        case "//":
            if y == 0 { throw interpreter.error("float floor division by zero", line: line) }
            return .double((x / y).rounded(.down))
        case "%":
            if y == 0 { throw interpreter.error("float modulo", line: line) }
            let r = fmod(x, y)
            return .double((r != 0 && (r < 0) != (y < 0)) ? r + y : r)
        case "**": return .double(pow(x, y))
        default: throw interpreter.error("unknown operator \(op)", line: line)
        }
    }

    /// printf-style `str % args`: flags, width and precision with s, r, d, i, f, e, g, x conversions.
    private static func percentFormat(_ format: String, _ args: Value, line: Int, interpreter: Interpreter) throws -> String {
        var values: [Value]
        if case .tuple(let items) = args { values = items } else { values = [args] }
        var out = ""
        var chars = Array(format)[...]
        while let c = chars.popFirst() {
            guard c == "%" else { out.append(c); continue }
            var spec = ""
            while let d = chars.first, "-+ #0123456789.".contains(d) { spec.append(d); chars.removeFirst() }
            guard let conversion = chars.popFirst() else { throw interpreter.error("incomplete format", line: line) }
            if conversion == "%" { out.append("%"); continue }
            guard !values.isEmpty else { throw interpreter.error("not enough arguments for format string", line: line) }
            out += try FormatSpec.printf(spec: spec, conversion: conversion, values.removeFirst(), line: line, interpreter: interpreter)
        }
        if !values.isEmpty { throw interpreter.error("not all arguments converted during string formatting", line: line) }
        return out
    }

    static func equal(_ a: Value, _ b: Value) -> Bool {
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i == j }
            return asDouble(x) == asDouble(y)
        }
        switch (a, b) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.list(let x), .list(let y)), (.tuple(let x), .tuple(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.dict(let x), .dict(let y)):
            return x.count == y.count && x.pairs.allSatisfy { pair in y[pair.key].map { equal(pair.value, $0) } ?? false }
        case (.object(let x), .object(let y)): return x === y
        default:
            if let x = a.stringContent, let y = b.stringContent { return x.unicodeScalars.elementsEqual(y.unicodeScalars) }
            return false
        }
    }

    /// Python ordering; throws TypeError-like errors for unorderable pairs.
    static func less(_ a: Value, _ b: Value, line: Int?, interpreter: Interpreter) throws -> Bool {
        if let x = number(a), let y = number(b) {
            if case .int(let i) = x, case .int(let j) = y { return i < j }
            return asDouble(x) < asDouble(y)
        }
        if let x = a.stringContent, let y = b.stringContent {
            return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        }
        if let x = a.sequenceItems, let y = b.sequenceItems, a.typeName == b.typeName {
            for (p, q) in zip(x, y) where !equal(p, q) { return try less(p, q, line: line, interpreter: interpreter) }
            return x.count < y.count
        }
        if case .undefined(let info) = a { throw interpreter.error(info.hint, line: line) }
        if case .undefined(let info) = b { throw interpreter.error(info.hint, line: line) }
        throw interpreter.error("'<' not supported between instances of '\(a.typeName)' and '\(b.typeName)'", line: line)
    }

    static func contains(_ container: Value, _ element: Value, line: Int?, interpreter: Interpreter) throws -> Bool {
        switch container {
        case .string(let s), .markup(let s):
            guard let needle = element.stringContent else {
                throw interpreter.error("'in <string>' requires string as left operand, not \(element.typeName)", line: line)
            }
            return StringMethods.firstIndex(of: needle, in: s) >= 0
        case .list(let items), .tuple(let items), .iterator(let items): return items.contains { equal($0, element) }
        case .dict(let dict): return Interpreter.dictKey(element).map { dict[$0] != nil } ?? false
        case .undefined: return false
        case .object(let box) where box.isNamespace: throw interpreter.error("argument of type 'Namespace' is not iterable", line: line)
        default: throw interpreter.error("argument of type '\(container.typeName)' is not iterable", line: line)
        }
    }

    static func compare(_ op: String, _ a: Value, _ b: Value, line: Int, interpreter: Interpreter) throws -> Bool {
        switch op {
        case "==": return equal(a, b)
        case "!=": return !equal(a, b)
        case "<": return try less(a, b, line: line, interpreter: interpreter)
        case ">": return try less(b, a, line: line, interpreter: interpreter)
        case "<=": return try !less(b, a, line: line, interpreter: interpreter)
        case ">=": return try !less(a, b, line: line, interpreter: interpreter)
        case "in": return try contains(b, a, line: line, interpreter: interpreter)
        case "notin": return try !contains(b, a, line: line, interpreter: interpreter)
        default: throw interpreter.error("unknown comparison \(op)", line: line)
        }
    }

    static func slice(_ value: Value, start: Int?, stop: Int?, step: Int?, line: Int, interpreter: Interpreter) throws -> Value {
        let step = step ?? 1
        if step == 0 { throw interpreter.error("slice step cannot be zero", line: line) }
        func indices(count: Int) -> [Int] {
            func clamp(_ i: Int?, _ defaultValue: Int, low: Int, high: Int) -> Int {
                guard var i else { return defaultValue }
                if i < 0 { i += count }
                return min(max(i, low), high)
            }
            var result: [Int] = []
            if step > 0 {
                var i = clamp(start, 0, low: 0, high: count)
                let end = clamp(stop, count, low: 0, high: count)
                while i < end { result.append(i); i += step }
            } else {
                var i = clamp(start, count - 1, low: -1, high: count - 1)
                let end = clamp(stop, -1, low: -1, high: count - 1)
                while i > end { result.append(i); i += step }
            }
            return result
        }
        switch value {
        case .list(let items): return .list(indices(count: items.count).map { items[$0] })
        case .tuple(let items): return .tuple(indices(count: items.count).map { items[$0] })
        case .string(let s), .markup(let s):
            let scalars = Array(s.unicodeScalars)
            var sliced = String.UnicodeScalarView()
            for i in indices(count: scalars.count) { sliced.append(scalars[i]) }
            return .string(String(sliced))
        case .undefined(let info): throw interpreter.error(info.hint, line: line)
        default: throw interpreter.error("'\(value.typeName)' object is not subscriptable", line: line)
        }
    }
}
