import Foundation

/// Arguments of a filter/method call with Python-style positional-or-keyword lookup.
struct Arguments {
    let positional: [Value]
    let keyword: [(String, Value)]

    /// Parameter `index` (0-based, excluding the filtered value) or keyword `name`.
    func get(_ index: Int, _ name: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.0 == name }?.1
    }

    func bool(_ index: Int, _ name: String, default defaultValue: Bool) -> Bool {
        get(index, name)?.truthy ?? defaultValue
    }
}

/// jinja2's builtin filters (plus transformers' tojson) as used by chat templates.
enum Filters {
    static let known: Set<String> = [
        "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
        "float", "forceescape", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower",
        "map", "max", "min", "pprint", "random", "reject", "rejectattr", "replace", "reverse", "round", "safe",
        "select", "selectattr", "slice", "sort", "string", "striptags", "sum", "title", "tojson", "trim", "truncate",
        "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr", "filesizeformat",
    ]

    static func apply(_ name: String, _ value: Value, _ positional: [Value], _ keyword: [(String, Value)],
                      line: Int, interpreter: Interpreter) throws -> Value {
        let args = Arguments(positional: positional, keyword: keyword)
        func fail(_ message: String) -> ChatTemplateError { interpreter.error(message, line: line) }
        // select/reject/map skip falsy inputs entirely (`if value: for item in value`).
        func lazyInput(_ v: Value) throws -> [Value] { v.truthy ? try interpreter.iterate(v, line: line) : [] }
        func text(_ v: Value) -> String { PythonFormat.str(v) }
        func strictText(_ v: Value) throws -> String {
            if case .undefined = v { return "" }
            return text(v)
        }

        switch name {
        case "default", "d":
            let fallback = args.get(0, "default_value") ?? .string("")
            let useBoolean = args.bool(1, "boolean", default: false)
            if value.isUndefined || (useBoolean && !value.truthy) { return fallback }
            return value
        case "trim":
            return .string(StringMethods.strip(try strictText(value), chars: args.get(0, "chars")?.stringContent, left: true, right: true))
        case "upper": return .string(try strictText(value).uppercased())
        case "lower": return .string(try strictText(value).lowercased())
        case "capitalize": return .string(StringMethods.capitalize(try strictText(value)))
        case "title": return .string(StringMethods.jinjaTitle(try strictText(value)))
        case "length", "count":
            switch value {
            case .undefined: return .int(0)
            case .string(let s), .markup(let s): return .int(s.unicodeScalars.count)
            case .list(let items), .tuple(let items): return .int(items.count)
            case .dict(let dict): return .int(dict.count)
            case .object(let box) where !box.isNamespace: return .int(box.attributes.count)
            default: throw fail("object of type '\(value.typeName)' has no len()")
            }
        case "first":
            return try interpreter.iterate(value, line: line).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .iterator = value { throw fail("'generator' object is not reversible") }
            return try interpreter.iterate(value, line: line).last ?? .undefined("No last item, sequence was empty.")
        case "join":
            let separator = args.get(0, "d").map(text) ?? ""
            var items = try interpreter.iterate(value, line: line)
            if let attribute = args.get(1, "attribute") {
                items = try items.map { try attributePath($0, attribute, interpreter: interpreter, line: line) }
            }
            let anyMarkup = items.contains { if case .markup = $0 { return true } else { return false } }
            if anyMarkup {
                return .markup(items.map { if case .markup(let s) = $0 { return s } else { return Operators.escapeHTML(text($0)) } }
                    .joined(separator: separator))
            }
            return .string(items.map(text).joined(separator: separator))
        case "replace":
            guard let old = args.get(0, "old"), let new = args.get(1, "new") else { throw fail("replace() missing arguments") }
            var limit = -1
            if case .int(let c)? = args.get(2, "count") { limit = c }
            return .string(StringMethods.replace(try strictText(value), text(old), text(new), count: limit))
        case "list":
            return .list(try interpreter.iterate(value, line: line))
        case "string":
            if case .markup = value { return value }
            return .string(text(value))
        case "safe":
            return .markup(text(value))
        case "e", "escape", "forceescape":
            if case .markup = value, name != "forceescape" { return value }
            return .markup(Operators.escapeHTML(text(value)))
        case "int":
            let fallback = args.get(0, "default") ?? .int(0)
            switch value {
            case .int: return value
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return d.isFinite ? .int(Int(d)) : fallback
            case .string(let s), .markup(let s):
                let trimmed = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
                if let i = Int(trimmed) { return .int(i) }
                if let d = Double(trimmed), d.isFinite { return .int(Int(d)) }
                return fallback
            default: return fallback
            }
        case "float":
            let fallback = args.get(0, "default") ?? .double(0)
            switch value {
            case .int(let i): return .double(Double(i))
            case .bool(let b): return .double(b ? 1 : 0)
            case .double: return value
            case .string(let s), .markup(let s):
                return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? fallback
            default: return fallback
            }
        case "abs":
            switch value {
            case .int(let i): return .int(abs(i))
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return .double(abs(d))
            default: throw fail("bad operand type for abs(): '\(value.typeName)'")
            }
        case "round":
            var precision = 0
            if case .int(let p)? = args.get(0, "precision") { precision = p }
            let method = args.get(1, "method")?.stringContent ?? "common"
            guard let number = Operators.number(value) else { throw fail("type \(value.typeName) doesn't define __round__ method") }
            if method == "common", case .int(let i) = number { return .int(i) }
            let x = Operators.asDouble(number)
            let scale = pow(10.0, Double(precision))
            switch method {
            case "common": return .double((x * scale).rounded(.toNearestOrEven) / scale)
            case "floor": return .double((x * scale).rounded(.down) / scale)
            case "ceil": return .double((x * scale).rounded(.up) / scale)
            default: throw fail("method must be common, ceil or floor")
            }
        case "tojson":
            return .string(try JSONDump.dump(value, try jsonOptions(args, fail: fail)))
        case "items":
            switch value {
            case .undefined: return .list([])
            case .dict(let dict): return .iterator(dict.pairs.map { .tuple([$0.key.value, $0.value]) })
            default: throw fail("Can only get item pairs from a mapping.")
            }
        case "dictsort":
            guard case .dict(let dict) = value else { throw fail("dictsort expects a mapping") }
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let byValue = args.get(1, "by")?.stringContent == "value"
            let reverse = args.bool(2, "reverse", default: false)
            var pairs = dict.pairs.map { Value.tuple([$0.key.value, $0.value]) }
            pairs = try sortValues(pairs, reverse: reverse, interpreter: interpreter, line: line) { pair in
                guard case .tuple(let kv) = pair else { return pair }
                return foldCase(byValue ? kv[1] : kv[0], caseSensitive)
            }
            return .list(pairs)
        case "selectattr", "rejectattr":
            guard let attribute = args.get(0, "attribute")?.stringContent ?? positional.first?.stringContent else {
                throw fail("\(name) needs an attribute name")
            }
            let keep = name == "selectattr"
            return .iterator(try lazyInput(value).filter { item in
                let attr = try attributePath(item, .string(attribute), interpreter: interpreter, line: line)
                let passed: Bool
                if positional.count > 1, let test = positional[1].stringContent {
                    passed = try Tests.apply(test, attr, Array(positional.dropFirst(2)), line: line, interpreter: interpreter)
                } else {
                    passed = attr.truthy
                }
                return passed == keep
            })
        case "select", "reject":
            let keep = name == "select"
            return .iterator(try lazyInput(value).filter { item in
                let passed: Bool
                if let test = positional.first?.stringContent {
                    passed = try Tests.apply(test, item, Array(positional.dropFirst()), line: line, interpreter: interpreter)
                } else {
                    passed = item.truthy
                }
                return passed == keep
            })
        case "map":
            let items = try lazyInput(value)
            if let attribute = keyword.first(where: { $0.0 == "attribute" })?.1 {
                let fallback = keyword.first(where: { $0.0 == "default" })?.1
                return .iterator(try items.map { item in
                    let v = try attributePath(item, attribute, interpreter: interpreter, line: line)
                    if v.isUndefined, let fallback { return fallback }
                    return v
                })
            }
            guard let filterName = positional.first?.stringContent else { throw fail("map requires a filter name or attribute") }
            let rest = Array(positional.dropFirst())
            return .iterator(try items.map { try apply(filterName, $0, rest, keyword, line: line, interpreter: interpreter) })
        case "unique":
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let attribute = args.get(1, "attribute")
            var seen: [Value] = []
            var result: [Value] = []
            for item in try interpreter.iterate(value, line: line) {
                var key = item
                if let attribute { key = try attributePath(item, attribute, interpreter: interpreter, line: line) }
                key = foldCase(key, caseSensitive)
                if !seen.contains(where: { Operators.equal($0, key) }) { seen.append(key); result.append(item) }
            }
            return .iterator(result)
        case "sort":
            let reverse = args.bool(0, "reverse", default: false)
            let caseSensitive = args.bool(1, "case_sensitive", default: false)
            let attribute = args.get(2, "attribute")
            let items = try interpreter.iterate(value, line: line)
            return .list(try sortValues(items, reverse: reverse, interpreter: interpreter, line: line) { item in
                var key = item
                if let attribute { key = (try? attributePath(item, attribute, interpreter: interpreter, line: line)) ?? .none }
                return foldCase(key, caseSensitive)
            })
        case "reverse":
            if let s = value.stringContent { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .iterator(try interpreter.iterate(value, line: line).reversed())
        case "sum":
            var total = args.get(1, "start") ?? .int(0)
            for var item in try interpreter.iterate(value, line: line) {
                if let attribute = args.get(0, "attribute") { item = try attributePath(item, attribute, interpreter: interpreter, line: line) }
                total = try Operators.binary("+", total, item, line: line, interpreter: interpreter)
            }
            return total
        case "min", "max":
            let caseSensitive = args.bool(0, "case_sensitive", default: false)
            let attribute = args.get(1, "attribute")
            let items = try interpreter.iterate(value, line: line)
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            func key(_ v: Value) throws -> Value {
                var k = v
                if let attribute { k = try attributePath(v, attribute, interpreter: interpreter, line: line) }
                return foldCase(k, caseSensitive)
            }
            for item in items.dropFirst() {
                let better = name == "min"
                    ? try Operators.less(try key(item), try key(best), line: line, interpreter: interpreter)
                    : try Operators.less(try key(best), try key(item), line: line, interpreter: interpreter)
                if better { best = item }
            }
            return best
        case "indent":
            return .string(try indent(try strictText(value), args))
        case "center":
            var width = 80
            if case .int(let w)? = args.get(0, "width") { width = w }
            return .string(StringMethods.center(text(value), width: width, fill: " "))
        case "batch":
            guard case .int(let size)? = args.get(0, "linecount"), size > 0 else { throw fail("batch needs a positive size") }
            let fill = args.get(1, "fill_with")
            var batches: [Value] = []
            var current: [Value] = []
            for item in try interpreter.iterate(value, line: line) {
                current.append(item)
                if current.count == size { batches.append(.list(current)); current = [] }
            }
            if !current.isEmpty {
                if let fill, !(fill.isUndefined) { while current.count < size { current.append(fill) } }
                batches.append(.list(current))
            }
            return .iterator(batches)
        case "wordcount":
            return .int(text(value).split(whereSeparator: { $0.isWhitespace || $0.isPunctuation && $0 != "_" && $0 != "'" }).count)
        case "striptags":
            return .string(StringMethods.stripTags(text(value)))
        case "format":
            let formatted = try Operators.binary("%", .string(text(value)), .tuple(positional), line: line, interpreter: interpreter)
            return formatted
        case "attr":
            guard let attribute = args.get(0, "name")?.stringContent else { throw fail("attr needs a name") }
            return try interpreter.attribute(of: value, attribute, line: line)
        case "truncate":
            var length = 255
            if case .int(let l)? = args.get(0, "length") { length = l }
            let killwords = args.bool(1, "killwords", default: false)
            let end = args.get(2, "end")?.stringContent ?? "..."
            var leeway = 5
            if case .int(let l)? = args.get(3, "leeway") { leeway = l }
            let s = text(value)
            if s.count <= length + leeway { return .string(s) }
            if killwords { return .string(String(s.prefix(length - end.count)) + end) }
            var cut = String(s.prefix(length - end.count))
            if let space = cut.lastIndex(of: " ") { cut = String(cut[..<space]) }
            return .string(cut + end)
        default:
            throw fail("No filter named '\(name)'.")
        }
    }

    static func jsonOptions(_ args: Arguments, fail: (String) -> ChatTemplateError) throws -> JSONDumpOptions {
        var options = JSONDumpOptions()
        options.ensureASCII = args.bool(0, "ensure_ascii", default: false)
        switch args.get(1, "indent") {
        case .int(let n)?: options.indent = String(repeating: " ", count: max(0, n))
        case .string(let s)?: options.indent = s
        case .none?, nil, .undefined?: break
        default: throw fail("tojson indent must be an int or string")
        }
        if let separators = args.get(2, "separators"), case .list(let parts) = separators.asSequence {
            guard parts.count == 2, let item = parts[0].stringContent, let key = parts[1].stringContent else {
                throw fail("tojson separators must be a pair of strings")
            }
            options.itemSeparator = item
            options.keySeparator = key
        }
        options.sortKeys = args.bool(3, "sort_keys", default: false)
        return options
    }

    /// Dotted attribute paths ("a.b", "0") as jinja's make_attrgetter resolves them.
    static func attributePath(_ item: Value, _ path: Value, interpreter: Interpreter, line: Int) throws -> Value {
        if case .int = path { return try interpreter.item(of: item, path, line: line) }
        guard let text = path.stringContent else { return try interpreter.item(of: item, path, line: line) }
        var current = item
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
            current = try interpreter.item(of: current, key, line: line)
        }
        return current
    }

    static func foldCase(_ value: Value, _ caseSensitive: Bool) -> Value {
        if !caseSensitive, let s = value.stringContent { return .string(s.lowercased()) }
        return value
    }

    /// Stable sort by key, with Python's comparison errors.
    static func sortValues(_ items: [Value], reverse: Bool, interpreter: Interpreter, line: Int,
                           key: (Value) throws -> Value) throws -> [Value] {
        let keyed = try items.map { (try key($0), $0) }
        var failure: ChatTemplateError? = nil
        let indexed = Array(keyed.enumerated())
        let sorted = indexed.sorted { a, b in
            do {
                if try Operators.less(a.element.0, b.element.0, line: line, interpreter: interpreter) { return !reverse }
                if try Operators.less(b.element.0, a.element.0, line: line, interpreter: interpreter) { return reverse }
            } catch let e as ChatTemplateError {
                failure = e
            } catch {}
            return a.offset < b.offset
        }
        if let failure { throw failure }
        return sorted.map { $0.element.1 }
    }

    private static func indent(_ input: String, _ args: Arguments) throws -> String {
        var indentation = "    "
        switch args.get(0, "width") {
        case .int(let n)?: indentation = String(repeating: " ", count: max(0, n))
        case .string(let s)?: indentation = s
        default: break
        }
        let first = args.bool(1, "first", default: false)
        let blank = args.bool(2, "blank", default: false)
        var lines = StringMethods.splitLines(input + "\n", keepEnds: false)
        var result: String
        if blank {
            result = lines.joined(separator: "\n" + indentation)
        } else {
            result = lines.isEmpty ? "" : lines.removeFirst()
            if !lines.isEmpty {
                result += "\n" + lines.map { $0.isEmpty ? $0 : indentation + $0 }.joined(separator: "\n")
            }
        }
        if first { result = indentation + result }
        return result
    }
}
