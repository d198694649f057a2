/// Compile-time checks jinja2 performs: unknown filters and tests fail the whole template at load.
enum TemplateValidator {
    static func validate(_ nodes: [Node]) throws {
        for node in nodes { try validate(node) }
    }

    private static func validate(_ node: Node) throws {
        switch node {
        case .text, .breakLoop, .continueLoop: break
        case .output(let e, _): try validate(e)
        case .ifChain(let branches, let otherwise):
            for (condition, body) in branches { try validate(condition); try validate(body) }
            try validate(otherwise)
        case .forLoop(_, let iterable, let condition, let body, let otherwise, _):
            try validate(iterable)
            if let condition { try validate(condition) }
            try validate(body); try validate(otherwise)
        case .set(_, let e, _): try validate(e)
        case .setBlock(_, let filters, let body, _), .filterBlock(let filters, let body, _):
            for (name, args, line) in filters { try checkFilter(name, line: line); try validate(args) }
            try validate(body)
        case .macro(let definition):
            for (_, defaultValue) in definition.parameters { if let defaultValue { try validate(defaultValue) } }
            try validate(definition.body)
        case .callBlock(let call, _, let body, _):
            try validate(call); try validate(body)
        case .scoped(let body): try validate(body)
        }
    }

    private static func validate(_ args: CallArguments) throws {
        for e in args.positional { try validate(e) }
        for (_, e) in args.keyword { try validate(e) }
    }

    private static func checkFilter(_ name: String, line: Int) throws {
        guard Filters.known.contains(name) else {
            throw ChatTemplateError("No filter named '\(name)'.", kind: .syntax, line: line)
        }
    }

    private static func validate(_ expr: Expr) throws {
        switch expr {
        case .literal, .name: break
        case .attribute(let e, _, _), .not(let e), .negate(let e, _), .plus(let e, _): try validate(e)
        case .item(let a, let b, _), .binary(_, let a, let b, _), .and(let a, let b), .or(let a, let b):
            try validate(a); try validate(b)
        case .slice(let e, let start, let stop, let step, _):
            try validate(e)
            for part in [start, stop, step] { if let part { try validate(part) } }
        case .call(let e, let args, _): try validate(e); try validate(args)
        case .filter(let e, let name, let args, let line):
            if let e { try validate(e) }
            try checkFilter(name, line: line)
            try validate(args)
        case .test(let e, let name, let args, _, let line):
            try validate(e)
            guard Tests.known.contains(name) else {
                throw ChatTemplateError("No test named '\(name)'.", kind: .syntax, line: line)
            }
            try validate(args)
        case .compare(let e, let ops, _):
            try validate(e)
            for (_, operand) in ops { try validate(operand) }
        case .concat(let items), .list(let items), .tuple(let items):
            for item in items { try validate(item) }
        case .conditional(let c, let t, let o):
            try validate(c); try validate(t)
            if let o { try validate(o) }
        case .dict(let pairs):
            for (k, v) in pairs { try validate(k); try validate(v) }
        }
    }
}
