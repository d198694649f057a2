import Foundation

/// Variable scope: jinja2 gives each loop iteration and macro call its own scope;
/// `if` blocks share their parent's.
final class Scope {
    var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }
}

/// Outcome of executing statements: normal completion or a pending loop control.
enum Flow { case normal, breakLoop, continueLoop }

/// Tree-walking evaluator for one render; counts steps, output bytes and call depth against `RenderLimits`.
final class Interpreter {
    let limits: RenderLimits
    let now: () -> Date
    private var steps = 0
    private var depth = 0

    init(limits: RenderLimits, now: @escaping () -> Date) {
        self.limits = limits
        self.now = now
    }

    /// Deepest container nesting a value may reach (inputs and namespace attributes are checked).
    static let maxValueNesting = 256

    func error(_ message: String, line: Int? = nil) -> ChatTemplateError {
        ChatTemplateError(message, kind: .render, line: line)
    }

    func step(line: Int? = nil) throws {
        steps += 1
        if steps > limits.maxSteps {
            throw error("template exceeded the step limit of \(limits.maxSteps) (runaway loop?)", line: line)
        }
    }

    func enter(line: Int?) throws {
        depth += 1
        if depth > limits.maxRecursionDepth {
            throw error("template exceeded the recursion depth limit of \(limits.maxRecursionDepth)", line: line)
        }
    }

    func leave() { depth -= 1 }

    private func append(_ text: String, to out: inout String, line: Int?) throws {
        out += text
        if out.utf8.count > limits.maxOutputBytes {
            throw error("template output exceeded \(limits.maxOutputBytes) bytes", line: line)
        }
    }

    // MARK: statements

    func execute(_ nodes: [Node], scope: Scope, into out: inout String) throws -> Flow {
        for node in nodes {
            try step()
            switch node {
            case .text(let text):
                try append(text, to: &out, line: nil)
            case .output(let expr, let line):
                let value = try evaluate(expr, scope: scope)
                try append(PythonFormat.str(value), to: &out, line: line)
            case .ifChain(let branches, let otherwise):
                var taken = false
                for (condition, body) in branches where try evaluate(condition, scope: scope).truthy {
                    taken = true
                    let flow = try execute(body, scope: scope, into: &out)
                    if flow != .normal { return flow }
                    break
                }
                if !taken {
                    let flow = try execute(otherwise, scope: scope, into: &out)
                    if flow != .normal { return flow }
                }
            case .forLoop(let target, let iterable, let condition, let body, let otherwise, let line):
                try executeFor(target: target, iterable: iterable, condition: condition, body: body,
                               otherwise: otherwise, line: line, scope: scope, into: &out)
            case .set(let target, let expr, let line):
                try assign(target, try evaluate(expr, scope: scope), scope: scope, line: line)
            case .setBlock(let target, let filters, let body, let line):
                var captured = ""
                _ = try execute(body, scope: Scope(parent: scope), into: &captured)
                var value = Value.string(captured)
                for (name, args, filterLine) in filters {
                    value = try applyFilter(name, to: value, args: args, scope: scope, line: filterLine)
                }
                try assign(target, value, scope: scope, line: line)
            case .macro(let definition):
                scope.variables[definition.name] = makeMacro(definition, scope: scope)
            case .callBlock(let call, let parameters, let body, let line):
                let caller = makeMacro(MacroDefinition(name: "caller", parameters: parameters, body: body), scope: scope)
                guard case .call(let callee, let args, _) = call else { throw error("invalid call block", line: line) }
                let function = try evaluate(callee, scope: scope)
                var (positional, keyword) = try evaluateArguments(args, scope: scope)
                keyword.append(("caller", caller))
                let result = try invoke(function, positional, keyword, line: line)
                try append(PythonFormat.str(result), to: &out, line: line)
            case .filterBlock(let filters, let body, let line):
                var captured = ""
                _ = try execute(body, scope: scope, into: &captured)
                var value = Value.string(captured)
                for (name, args, filterLine) in filters {
                    value = try applyFilter(name, to: value, args: args, scope: scope, line: filterLine)
                }
                try append(PythonFormat.str(value), to: &out, line: line)
            case .scoped(let body):
                let flow = try execute(body, scope: Scope(parent: scope), into: &out)
                if flow != .normal { return flow }
            case .breakLoop:
                return .breakLoop
            case .continueLoop:
                return .continueLoop
            }
        }
        return .normal
    }

    private func executeFor(target: AssignTarget, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node],
                            line: Int, scope: Scope, into out: inout String) throws {
        var items = try iterate(try evaluate(iterable, scope: scope), line: line)
        if let condition {
            var kept: [Value] = []
            for item in items {
                try step(line: line)
                let filterScope = Scope(parent: scope)
                try assign(target, item, scope: filterScope, line: line)
                if try evaluate(condition, scope: filterScope).truthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try execute(otherwise, scope: Scope(parent: scope), into: &out)
            return
        }
        let loop = LoopContext(items: items)
        let loopValue = Value.object(ObjectBox(typeName: "LoopContext", isNamespace: false, attributes: Dict(), loop: loop))
        for (index, item) in items.enumerated() {
            try step(line: line)
            let iterationScope = Scope(parent: scope)
            try assign(target, item, scope: iterationScope, line: line)
            loop.index = index
            iterationScope.variables["loop"] = loopValue
            let flow = try execute(body, scope: iterationScope, into: &out)
            if flow == .breakLoop { break }
        }
    }

    /// Python iteration: lists, dict keys, string characters; undefined iterates as empty.
    func iterate(_ value: Value, line: Int?) throws -> [Value] {
        switch value {
        case .list(let items), .tuple(let items), .iterator(let items): return items
        case .dict(let dict): return dict.keys.map(\.value)
        // Python strings are sequences of code points, not grapheme clusters.
        case .string(let s), .markup(let s): return s.unicodeScalars.map { .string(String($0)) }
        case .undefined: return []
        default: throw error("'\(value.typeName)' object is not iterable", line: line)
        }
    }

    func assign(_ target: AssignTarget, _ value: Value, scope: Scope, line: Int) throws {
        switch target {
        case .name(let name):
            scope.variables[name] = value
        case .tuple(let names):
            let items = try iterate(value, line: line)
            guard items.count == names.count else {
                throw error(items.count > names.count ? "too many values to unpack (expected \(names.count))"
                            : "not enough values to unpack (expected \(names.count), got \(items.count))", line: line)
            }
            for (name, item) in zip(names, items) { scope.variables[name] = item }
        case .namespaceAttribute(let name, let attribute):
            guard case .object(let box)? = scope.lookup(name), box.isNamespace else {
                throw error("cannot assign attribute on non-namespace object", line: line)
            }
            let previous = box.attributes[attribute]
            box.attributes[attribute] = value
            // Checked after storing so that a namespace containing itself (a cycle) is caught too.
            if Value.object(box).nestsDeeper(than: Self.maxValueNesting) {
                box.attributes[attribute] = previous
                throw error("value assigned to \(name).\(attribute) nests deeper than \(Self.maxValueNesting) levels", line: line)
            }
        }
    }

    private func makeMacro(_ definition: MacroDefinition, scope definitionScope: Scope) -> Value {
        .function(Function(name: definition.name) { interpreter, args, kwargs in
            let callScope = Scope(parent: definitionScope)
            var remaining = kwargs
            for (i, (name, defaultExpr)) in definition.parameters.enumerated() {
                if i < args.count {
                    callScope.variables[name] = args[i]
                } else if let k = remaining.firstIndex(where: { $0.0 == name }) {
                    callScope.variables[name] = remaining[k].1
                    remaining.remove(at: k)
                } else if let defaultExpr {
                    callScope.variables[name] = try interpreter.evaluate(defaultExpr, scope: callScope)
                } else {
                    callScope.variables[name] = .undefined("parameter '\(name)' was not provided")
                }
            }
            if let k = remaining.firstIndex(where: { $0.0 == "caller" }) {
                callScope.variables["caller"] = remaining[k].1
                remaining.remove(at: k)
            }
            callScope.variables["varargs"] = .tuple(Array(args.dropFirst(definition.parameters.count)))
            var extra = Dict()
            for (key, value) in remaining { extra[key] = value }
            callScope.variables["kwargs"] = .dict(extra)
            var out = ""
            _ = try interpreter.execute(definition.body, scope: callScope, into: &out)
            return .string(out)
        })
    }

    // MARK: expressions

    func evaluate(_ expr: Expr, scope: Scope) throws -> Value {
        switch expr {
        case .literal(let value):
            return value
        case .name(let name, _):
            if let value = scope.lookup(name) { return value }
            if let global = Builtins.global(name) { return global }
            return .undefined("'\(name)' is undefined")
        case .attribute(let target, let name, let line):
            let object = try evaluate(target, scope: scope)
            return try attribute(of: object, name, line: line)
        case .item(let target, let keyExpr, let line):
            let object = try evaluate(target, scope: scope)
            let key = try evaluate(keyExpr, scope: scope)
            return try item(of: object, key, line: line)
        case .slice(let target, let start, let stop, let stepExpr, let line):
            let object = try evaluate(target, scope: scope)
            func bound(_ e: Expr?) throws -> Int? {
                guard let e else { return nil }
                switch try evaluate(e, scope: scope) {
                case .int(let i): return i
                case .bool(let b): return b ? 1 : 0
                case .none: return nil
                default: throw error("slice indices must be integers or None", line: line)
                }
            }
            return try Operators.slice(object, start: try bound(start), stop: try bound(stop), step: try bound(stepExpr), line: line, interpreter: self)
        case .call(let calleeExpr, let args, let line):
            let callee = try evaluate(calleeExpr, scope: scope)
            let (positional, keyword) = try evaluateArguments(args, scope: scope)
            return try invoke(callee, positional, keyword, line: line)
        case .filter(let target, let name, let args, let line):
            let value = try target.map { try evaluate($0, scope: scope) } ?? .missing
            return try applyFilter(name, to: value, args: args, scope: scope, line: line)
        case .test(let target, let name, let args, let negated, let line):
            let value = try evaluate(target, scope: scope)
            let (positional, _) = try evaluateArguments(args, scope: scope)
            let result = try Tests.apply(name, value, positional, line: line, interpreter: self)
            return .bool(negated ? !result : result)
        case .not(let inner):
            return .bool(!(try evaluate(inner, scope: scope).truthy))
        case .negate(let inner, let line):
            return try Operators.negate(try evaluate(inner, scope: scope), line: line, interpreter: self)
        case .plus(let inner, let line):
            let value = try evaluate(inner, scope: scope)
            switch value {
            case .int, .double: return value
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw Operators.unsupported("unary +", value, nil, line: line, interpreter: self)
            }
        case .binary(let op, let left, let right, let line):
            let l = try evaluate(left, scope: scope)
            let r = try evaluate(right, scope: scope)
            return try Operators.binary(op, l, r, line: line, interpreter: self)
        case .and(let left, let right):
            let l = try evaluate(left, scope: scope)
            return l.truthy ? try evaluate(right, scope: scope) : l
        case .or(let left, let right):
            let l = try evaluate(left, scope: scope)
            return l.truthy ? l : try evaluate(right, scope: scope)
        case .compare(let first, let ops, let line):
            var left = try evaluate(first, scope: scope)
            for (op, rightExpr) in ops {
                let right = try evaluate(rightExpr, scope: scope)
                guard try Operators.compare(op, left, right, line: line, interpreter: self) else { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .concat(let parts):
            var text = ""
            for part in parts {
                text += PythonFormat.str(try evaluate(part, scope: scope))
                if text.utf8.count > limits.maxOutputBytes {
                    throw error("value larger than \(limits.maxOutputBytes) bytes")
                }
            }
            return .string(text)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition, scope: scope).truthy { return try evaluate(then, scope: scope) }
            guard let otherwise else { return .undefined("the inline if-expression evaluated to false and no else section was defined.") }
            return try evaluate(otherwise, scope: scope)
        case .list(let items):
            return .list(try items.map { try evaluate($0, scope: scope) })
        case .tuple(let items):
            return .tuple(try items.map { try evaluate($0, scope: scope) })
        case .dict(let pairs):
            var dict = Dict()
            for (keyExpr, valueExpr) in pairs {
                let key = try evaluate(keyExpr, scope: scope)
                guard let keyText = Self.dictKey(key) else { throw error("unsupported dict key type '\(key.typeName)'") }
                dict[keyText] = try evaluate(valueExpr, scope: scope)
            }
            return .dict(dict)
        }
    }

    static func dictKey(_ key: Value) -> DictKey? { DictKey(key) }

    func evaluateArguments(_ args: CallArguments, scope: Scope) throws -> ([Value], [(String, Value)]) {
        let positional = try args.positional.map { try evaluate($0, scope: scope) }
        let keyword = try args.keyword.map { ($0.0, try evaluate($0.1, scope: scope)) }
        return (positional, keyword)
    }

    func invoke(_ callee: Value, _ args: [Value], _ kwargs: [(String, Value)], line: Int?) throws -> Value {
        switch callee {
        case .function(let function):
            try step(line: line)
            try enter(line: line)
            defer { leave() }
            do {
                return try function.body(self, args, kwargs)
            } catch var e as ChatTemplateError where e.line == nil {
                e = ChatTemplateError(e.message, kind: e.kind, line: line)
                throw e
            }
        case .undefined(let info):
            throw error(info.hint, line: line)
        default:
            throw error("'\(callee.typeName)' object is not callable", line: line)
        }
    }

    private func applyFilter(_ name: String, to value: Value, args: CallArguments, scope: Scope, line: Int) throws -> Value {
        let (positional, keyword) = try evaluateArguments(args, scope: scope)
        do {
            return try Filters.apply(name, value, positional, keyword, line: line, interpreter: self)
        } catch let e as ChatTemplateError where e.line == nil {
            throw ChatTemplateError(e.message, kind: e.kind, line: line)
        }
    }

    /// jinja2 sandbox getattr: Python attributes (methods) first, then items; `_`-prefixed names are blocked.
    func attribute(of object: Value, _ name: String, line: Int?) throws -> Value {
        if case .undefined(let info) = object { throw error(info.hint, line: line) }
        if name.hasPrefix("_") {
            return .undefined("access to attribute '\(name)' of '\(object.typeName)' object is unsafe.")
        }
        if let method = Methods.bind(object, name) { return method }
        switch object {
        case .dict(let dict):
            return dict[name] ?? .undefined("'dict object' has no attribute '\(name)'")
        case .object(let box):
            if let loop = box.loop { return loop.attribute(name) }
            return box.attributes[name] ?? .undefined("'\(box.typeName) object' has no attribute '\(name)'")
        case .none:
            return .undefined("'None' has no attribute '\(name)'")
        default:
            return .undefined("'\(object.typeName) object' has no attribute '\(name)'")
        }
    }

    /// jinja2 getitem: subscription first, then attribute lookup for string keys.
    func item(of object: Value, _ key: Value, line: Int?) throws -> Value {
        if case .undefined(let info) = object { throw error(info.hint, line: line) }
        switch (object, key) {
        case (.dict(let dict), _):
            if let k = Self.dictKey(key), let value = dict[k] { return value }
        case (.list(let items), .int(let i)), (.tuple(let items), .int(let i)):
            let index = i < 0 ? items.count + i : i
            if index >= 0 && index < items.count { return items[index] }
            return .undefined("'list object' has no element \(i)")
        case (.list(let items), .bool(let b)):
            let index = b ? 1 : 0
            if index < items.count { return items[index] }
        case (.string(let s), .int(let i)), (.markup(let s), .int(let i)):
            let scalars = Array(s.unicodeScalars)
            let index = i < 0 ? scalars.count + i : i
            if index >= 0 && index < scalars.count { return .string(String(scalars[index])) }
            return .undefined("'str object' has no element \(i)")
        case (.object(let box), _):
            if let k = Self.dictKey(key), let value = box.attributes[k] { return value }
        default:
            break
        }
        if let name = key.stringContent {
            return try attribute(of: object, name, line: line)
        }
        if case .none = object { return .undefined("'None' has no element \(PythonFormat.repr(key))") }
        return .undefined("'\(object.typeName) object' has no element \(PythonFormat.repr(key))")
    }
}
