import Foundation

/// Python methods reachable from templates (`s.strip()`, `d.get(k)`, `xs.index(x)`).
/// Mutating list/dict methods are blocked as in jinja2's ImmutableSandboxedEnvironment.
enum Methods {
    private static let unsafeList: Set<String> = ["append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"]
    private static let unsafeDict: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]

    static func bind(_ object: Value, _ name: String) -> Value? {
        func method(_ body: @escaping (Interpreter, Arguments) throws -> Value) -> Value {
            .function(Function(name: name) { interpreter, args, kwargs in
                try body(interpreter, Arguments(positional: args, keyword: kwargs))
            })
        }
        switch object {
        case .string(let s), .markup(let s):
            guard StringMethods.names.contains(name) else { return nil }
            return method { interpreter, args in try StringMethods.call(name, s, args, interpreter: interpreter) }
        case .dict(let dict):
            if unsafeDict.contains(name) {
                return .undefined("access to attribute '\(name)' of 'dict' object is unsafe.")
            }
            switch name {
            case "items": return method { _, _ in .list(dict.pairs.map { .tuple([$0.key.value, $0.value]) }) }
            case "keys": return method { _, _ in .list(dict.keys.map(\.value)) }
            case "values": return method { _, _ in .list(dict.values) }
            case "copy": return method { _, _ in .dict(dict) }
            case "get":
                return method { _, args in
                    guard let key = args.get(0, "key") else { return .none }
                    if let k = Interpreter.dictKey(key), let v = dict[k] { return v }
                    return args.get(1, "default") ?? .none
                }
            default: return nil
            }
        case .list(let items), .tuple(let items):
            if unsafeList.contains(name) {
                return .undefined("access to attribute '\(name)' of 'list' object is unsafe.")
            }
            switch name {
            case "index":
                return method { interpreter, args in
                    let target = args.get(0, "value") ?? .none
                    guard let i = items.firstIndex(where: { Operators.equal($0, target) }) else {
                        throw interpreter.error("\(PythonFormat.repr(target)) is not in list")
                    }
                    return .int(i)
                }
            case "count":
                return method { _, args in
                    let target = args.get(0, "value") ?? .none
                    return .int(items.filter { Operators.equal($0, target) }.count)
                }
            case "copy": return method { _, _ in .list(items) }
            default: return nil
            }
        default:
            return nil
        }
    }
}

/// Python str methods and the string helpers the filters share.
enum StringMethods {
    static let names: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "replace", "upper", "lower",
        "title", "capitalize", "find", "rfind", "index", "count", "format", "join", "splitlines", "isdigit",
        "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "zfill", "ljust", "rjust", "center",
        "removeprefix", "removesuffix", "swapcase", "partition", "rpartition",
    ]

    static func call(_ name: String, _ s: String, _ args: Arguments, interpreter: Interpreter) throws -> Value {
        func stringArg(_ i: Int, _ key: String) throws -> String? {
            guard let v = args.get(i, key) else { return nil }
            if case .none = v { return nil }
            guard let text = v.stringContent else {
                throw interpreter.error("\(name)() argument must be str, not \(v.typeName)")
            }
            return text
        }
        func intArg(_ i: Int, _ key: String, _ defaultValue: Int) -> Int {
            if case .int(let n)? = args.get(i, key) { return n }
            return defaultValue
        }
        switch name {
        case "strip": return .string(strip(s, chars: try stringArg(0, "chars"), left: true, right: true))
        case "lstrip": return .string(strip(s, chars: try stringArg(0, "chars"), left: true, right: false))
        case "rstrip": return .string(strip(s, chars: try stringArg(0, "chars"), left: false, right: true))
        case "startswith", "endswith":
            guard let arg = args.get(0, "prefix") else { throw interpreter.error("\(name)() takes at least 1 argument") }
            var candidates: [String] = []
            if case .tuple(let options) = arg {
                candidates = options.compactMap(\.stringContent)
            } else if let text = arg.stringContent {
                candidates = [text]
            } else {
                throw interpreter.error("\(name) first arg must be str or a tuple of str, not \(arg.typeName)")
            }
            let scalars = Array(s.unicodeScalars)
            return .bool(candidates.contains { c in
                let cs = Array(c.unicodeScalars)
                guard cs.count <= scalars.count else { return false }
                return name == "startswith" ? Array(scalars.prefix(cs.count)) == cs : Array(scalars.suffix(cs.count)) == cs
            })
        case "split", "rsplit":
            let separator = try stringArg(0, "sep")
            let maxSplit = intArg(1, "maxsplit", -1)
            if let separator, separator.isEmpty { throw interpreter.error("empty separator") }
            return .list(split(s, separator: separator, maxSplit: maxSplit, fromRight: name == "rsplit").map { .string($0) })
        case "replace":
            guard let old = try stringArg(0, "old"), let new = try stringArg(1, "new") else {
                throw interpreter.error("replace() takes at least 2 arguments")
            }
            return .string(replace(s, old, new, count: intArg(2, "count", -1)))
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "swapcase": return .string(String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
        case "title": return .string(pythonTitle(s))
        case "capitalize": return .string(capitalize(s))
        case "find", "rfind", "index":
            guard let needle = try stringArg(0, "sub") else { throw interpreter.error("\(name)() takes at least 1 argument") }
            let position = name == "rfind" ? lastIndex(of: needle, in: s) : firstIndex(of: needle, in: s)
            if name == "index", position < 0 { throw interpreter.error("substring not found") }
            return .int(position)
        case "count":
            guard let needle = try stringArg(0, "x") else { throw interpreter.error("count() takes at least 1 argument") }
            if needle.isEmpty { return .int(s.unicodeScalars.count + 1) }
            return .int(split(s, separator: needle, maxSplit: -1, fromRight: false).count - 1)
        case "format": return .string(try format(s, args, interpreter: interpreter))
        case "join":
            guard let iterable = args.get(0, "iterable") else { throw interpreter.error("join() takes exactly one argument") }
            let items = try interpreter.iterate(iterable, line: nil)
            var parts: [String] = []
            for item in items {
                guard let text = item.stringContent else {
                    throw interpreter.error("sequence item \(parts.count): expected str instance, \(item.typeName) found")
                }
                parts.append(text)
            }
            return .string(parts.joined(separator: s))
        case "splitlines": return .list(splitLines(s, keepEnds: args.bool(0, "keepends", default: false)).map { .string($0) })
        case "isdigit", "isnumeric": return .bool(!s.isEmpty && s.allSatisfy { $0.isNumber })
        case "isalpha": return .bool(!s.isEmpty && s.allSatisfy { $0.isLetter })
        case "isalnum": return .bool(!s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber })
        case "isspace": return .bool(!s.isEmpty && s.allSatisfy { $0.isWhitespace })
        case "islower": return .bool(s == s.lowercased() && s != s.uppercased())
        case "isupper": return .bool(s == s.uppercased() && s != s.lowercased())
        case "zfill":
            let width = intArg(0, "width", 0)
            guard s.count < width else { return .string(s) }
            let pad = String(repeating: "0", count: width - s.count)
            if let first = s.first, first == "-" || first == "+" { return .string(String(first) + pad + s.dropFirst()) }
            return .string(pad + s)
        case "ljust", "rjust", "center":
            let width = intArg(0, "width", 0)
            let fill = try stringArg(1, "fillchar") ?? " "
            guard s.count < width else { return .string(s) }
            let pad = width - s.count
            if name == "ljust" { return .string(s + String(repeating: fill, count: pad)) }
            if name == "rjust" { return .string(String(repeating: fill, count: pad) + s) }
            return .string(center(s, width: width, fill: fill))
        case "removeprefix":
            let prefix = try stringArg(0, "prefix") ?? ""
            return .string(s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : s)
        case "removesuffix":
            let suffix = try stringArg(0, "suffix") ?? ""
            return .string(!suffix.isEmpty && s.hasSuffix(suffix) ? String(s.dropLast(suffix.count)) : s)
        case "partition", "rpartition":
            guard let sep = try stringArg(0, "sep"), !sep.isEmpty else { throw interpreter.error("empty separator") }
            let range = name == "partition" ? s.range(of: sep) : s.range(of: sep, options: .backwards)
            guard let range else {
                return .tuple(name == "partition" ? [.string(s), "", ""].map(Value.init) : ["", "", .string(s)].map(Value.init))
            }
            return .tuple([.string(String(s[..<range.lowerBound])), .string(sep), .string(String(s[range.upperBound...]))])
        default:
            throw interpreter.error("'str' object has no attribute '\(name)'")
        }
    }

    /// Python whitespace for strip()/split() without arguments.
    static func isPythonSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    static func strip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
        let set = chars.map { Set($0.unicodeScalars) }
        func shouldStrip(_ c: Unicode.Scalar) -> Bool { set?.contains(c) ?? isPythonSpace(c) }
        var scalars = Substring(s).unicodeScalars[...]
        if left { while let first = scalars.first, shouldStrip(first) { scalars.removeFirst() } }
        if right { while let last = scalars.last, shouldStrip(last) { scalars.removeLast() } }
        return String(String.UnicodeScalarView(scalars))
    }

    static func split(_ s: String, separator: String?, maxSplit: Int, fromRight: Bool) -> [String] {
        let scalars = Array(s.unicodeScalars)
        func make(_ slice: ArraySlice<Unicode.Scalar>) -> String {
            var v = String.UnicodeScalarView(); v.append(contentsOf: slice); return String(v)
        }
        guard let separator else {
            // Runs of whitespace separate; leading/trailing whitespace is ignored.
            var words: [ArraySlice<Unicode.Scalar>] = []
            if fromRight {
                var end = scalars.count
                while end > 0 {
                    while end > 0, isPythonSpace(scalars[end - 1]) { end -= 1 }
                    if end == 0 { break }
                    if maxSplit >= 0, words.count == maxSplit {
                        var start = 0
                        while start < end, isPythonSpace(scalars[start]) { start += 1 }
                        words.append(scalars[start..<end]); end = 0; break
                    }
                    var start = end
                    while start > 0, !isPythonSpace(scalars[start - 1]) { start -= 1 }
                    words.append(scalars[start..<end])
                    end = start
                }
                return words.reversed().map(make)
            }
            var start = 0
            while start < scalars.count {
                while start < scalars.count, isPythonSpace(scalars[start]) { start += 1 }
                if start == scalars.count { break }
                if maxSplit >= 0, words.count == maxSplit {
                    var end = scalars.count
                    while end > start, isPythonSpace(scalars[end - 1]) { end -= 1 }
                    words.append(scalars[start..<end]); break
                }
                var end = start
                while end < scalars.count, !isPythonSpace(scalars[end]) { end += 1 }
                words.append(scalars[start..<end])
                start = end
            }
            return words.map(make)
        }
        let sep = Array(separator.unicodeScalars)
        var parts: [String] = []
        if fromRight {
            var end = scalars.count
            var i = scalars.count - sep.count
            while i >= 0 {
                if (maxSplit < 0 || parts.count < maxSplit), Array(scalars[i..<i + sep.count]) == sep {
                    parts.append(make(scalars[(i + sep.count)..<end]))
                    end = i
                    i -= sep.count
                } else {
                    i -= 1
                }
            }
            parts.append(make(scalars[0..<end]))
            return parts.reversed()
        }
        var start = 0
        var i = 0
        while i + sep.count <= scalars.count {
            if (maxSplit < 0 || parts.count < maxSplit), Array(scalars[i..<i + sep.count]) == sep {
                parts.append(make(scalars[start..<i]))
                i += sep.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(make(scalars[start...]))
        return parts
    }

    static func replace(_ s: String, _ old: String, _ new: String, count: Int) -> String {
        if count < 0 {
            if old.isEmpty {
                return new + s.unicodeScalars.map { String($0) }.joined(separator: new) + new
            }
            return split(s, separator: old, maxSplit: -1, fromRight: false).joined(separator: new)
        }
        if old.isEmpty { return s }
        return split(s, separator: old, maxSplit: count, fromRight: false).joined(separator: new)
    }

    static func firstIndex(of needle: String, in s: String) -> Int {
        let hay = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
        if n.isEmpty { return 0 }
        guard n.count <= hay.count else { return -1 }
        for i in 0...(hay.count - n.count) where Array(hay[i..<i + n.count]) == n { return i }
        return -1
    }

    static func lastIndex(of needle: String, in s: String) -> Int {
        let hay = Array(s.unicodeScalars), n = Array(needle.unicodeScalars)
        if n.isEmpty { return hay.count }
        guard n.count <= hay.count else { return -1 }
        for i in stride(from: hay.count - n.count, through: 0, by: -1) where Array(hay[i..<i + n.count]) == n { return i }
        return -1
    }

    static func capitalize(_ s: String) -> String {
        guard let first = s.first else { return s }
        return first.uppercased() + s.dropFirst().lowercased()
    }

    /// Python str.title(): a letter after a non-letter starts a word.
    static func pythonTitle(_ s: String) -> String {
        var out = ""
        var previousCased = false
        for c in s {
            if c.isLetter {
                out += previousCased ? c.lowercased() : c.uppercased()
                previousCased = true
            } else {
                out.append(c)
                previousCased = false
            }
        }
        return out
    }

    /// jinja2 `title` filter: words begin after whitespace or one of -([{<.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atWordStart = true
        for c in s {
            if c.isWhitespace || "-([{<".contains(c) {
                out.append(c)
                atWordStart = true
            } else {
                out += atWordStart ? c.uppercased() : c.lowercased()
                atWordStart = false
            }
        }
        return out
    }

    static func center(_ s: String, width: Int, fill: String) -> String {
        let count = s.count
        guard count < width else { return s }
        let total = width - count
        // CPython puts the extra pad char on the left when both the pad and the width are odd.
        let left = total / 2 + (total & width & 1)
        return String(repeating: fill, count: left) + s + String(repeating: fill, count: total - left)
    }

    /// Python str.splitlines().
    static func splitLines(_ s: String, keepEnds: Bool) -> [String] {
        var lines: [String] = []
        var current = String.UnicodeScalarView()
        var scalars = Array(s.unicodeScalars)[...]
        while let c = scalars.popFirst() {
            switch c.value {
            case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
                var ending = String.UnicodeScalarView([c])
                if c == "\r", scalars.first == "\n" { ending.append(scalars.removeFirst()) }
                if keepEnds { current.append(contentsOf: ending) }
                lines.append(String(current))
                current = String.UnicodeScalarView()
            default:
                current.append(c)
            }
        }
        if !current.isEmpty { lines.append(String(current)) }
        return lines
    }

    static func stripTags(_ s: String) -> String {
        var out = ""
        var inTag = false
        for c in s {
            if c == "<" { inTag = true; continue }
            if c == ">" && inTag { inTag = false; continue }
            if !inTag { out.append(c) }
        }
        return out.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    /// str.format with `{}`, `{0}`, `{name}` fields (no format specs beyond plain conversion).
    static func format(_ s: String, _ args: Arguments, interpreter: Interpreter) throws -> String {
        var out = ""
        var autoIndex = 0
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            if c == "{" {
                if chars.first == "{" { chars.removeFirst(); out.append("{"); continue }
                var field = ""
                while let d = chars.popFirst(), d != "}" { field.append(d) }
                let pieces = field.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                let name = pieces.first.map(String.init) ?? ""
                let spec = pieces.count > 1 ? String(pieces[1]) : ""
                let value: Value?
                if name.isEmpty {
                    value = autoIndex < args.positional.count ? args.positional[autoIndex] : nil
                    autoIndex += 1
                } else if let i = Int(name) {
                    value = i < args.positional.count ? args.positional[i] : nil
                } else {
                    value = args.keyword.first { $0.0 == name }?.1
                }
                guard let value else { throw interpreter.error("format field '\(field)' has no value") }
                out += try FormatSpec.format(value, spec: spec, interpreter: interpreter)
            } else if c == "}" {
                if chars.first == "}" { chars.removeFirst() }
                out.append("}")
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// Template globals: range, namespace, dict, raise_exception, strftime_now.
enum Builtins {
    static func global(_ name: String) -> Value? {
        switch name {
        case "range":
            return .function(Function(name: "range") { interpreter, args, _ in
                var bounds: [Int] = []
                for arg in args {
                    guard case .int(let i) = arg else { throw interpreter.error("range() integer argument expected, got \(arg.typeName)") }
                    bounds.append(i)
                }
                let (start, stop, step): (Int, Int, Int)
                switch bounds.count {
                case 1: (start, stop, step) = (0, bounds[0], 1)
                case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
                case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
                default: throw interpreter.error("range expected 1 to 3 arguments, got \(bounds.count)")
                }
                if step == 0 { throw interpreter.error("range() arg 3 must not be zero") }
                let count = step > 0 ? max(0, (stop - start + step - 1) / step) : max(0, (start - stop - step - 1) / -step)
                // jinja2's sandbox caps range() at 100000 items.
                if count > 100_000 { throw interpreter.error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
                return .list(stride(from: start, to: stop, by: step).map { .int($0) })
            })
        case "namespace":
            return .function(Function(name: "namespace") { interpreter, args, kwargs in
                var attributes = Dict()
                for arg in args {
                    guard case .dict(let dict) = arg else { throw interpreter.error("namespace() positional argument must be a mapping") }
                    for (key, value) in dict.pairs { attributes[key] = value }
                }
                for (key, value) in kwargs { attributes[key] = value }
                return .object(ObjectBox(typeName: "Namespace", isNamespace: true, attributes: attributes))
            })
        case "dict":
            return .function(Function(name: "dict") { interpreter, args, kwargs in
                var dict = Dict()
                for arg in args {
                    guard case .dict(let other) = arg else { throw interpreter.error("dict() positional argument must be a mapping") }
                    for (key, value) in other.pairs { dict[key] = value }
                }
                for (key, value) in kwargs { dict[key] = value }
                return .dict(dict)
            })
        case "raise_exception":
            return .function(Function(name: "raise_exception") { _, args, _ in
                throw ChatTemplateError(args.first.map(PythonFormat.str) ?? "", kind: .raised)
            })
        case "strftime_now":
            return .function(Function(name: "strftime_now") { interpreter, args, _ in
                guard let format = args.first?.stringContent else { throw interpreter.error("strftime_now() needs a format string") }
                return .string(Strftime.format(format, date: interpreter.now()))
            })
        default:
            return nil
        }
    }
}
