/// Recursive-descent parser following jinja2's grammar and operator precedence.
struct TemplateParser {
    private let tokens: [Token]
    private var index = 0
    /// Nesting of blocks and sub-expressions; bounded so hostile input cannot overflow the stack.
    private var nesting = 0
    static let maxNesting = 100

    init(tokens: [Token]) { self.tokens = tokens }

    static func parse(_ source: String) throws -> [Node] {
        var parser = TemplateParser(tokens: try TemplateLexer.tokenize(source))
        let (body, end) = try parser.parseBody(until: [])
        if let end { throw parser.syntaxError("unexpected '\(end)'") }
        return body
    }

    // MARK: token helpers

    private var current: Token { tokens[index] }
    private var line: Int { current.line }

    private func syntaxError(_ message: String, line: Int? = nil) -> ChatTemplateError {
        ChatTemplateError(message, kind: .syntax, line: line ?? self.line)
    }

    private mutating func next() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isOp(_ op: String, at offset: Int = 0) -> Bool {
        guard index + offset < tokens.count else { return false }
        if case .op(let o) = tokens[index + offset].kind { return o == op }
        return false
    }

    private func isName(_ name: String, at offset: Int = 0) -> Bool {
        guard index + offset < tokens.count else { return false }
        if case .name(let n) = tokens[index + offset].kind { return n == name }
        return false
    }

    private mutating func skipOp(_ op: String) -> Bool {
        if isOp(op) { index += 1; return true }
        return false
    }

    private mutating func skipName(_ name: String) -> Bool {
        if isName(name) { index += 1; return true }
        return false
    }

    private mutating func expectOp(_ op: String) throws {
        guard skipOp(op) else { throw syntaxError("expected '\(op)', got \(describe(current))") }
    }

    private mutating func expectName() throws -> String {
        if case .name(let n) = current.kind { index += 1; return n }
        throw syntaxError("expected a name, got \(describe(current))")
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = current.kind else { throw syntaxError("expected end of statement block, got \(describe(current))") }
        index += 1
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .text: return "template data"
        case .variableBegin: return "'{{'"
        case .variableEnd: return "'}}'"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "end of statement block"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .integer(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    // MARK: statements

    /// Parses nodes until a `{% name %}` whose name is in `endTags`; returns that name (its block begin and name are consumed).
    private mutating func parseBody(until endTags: Set<String>) throws -> ([Node], String?) {
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .eof:
                if !endTags.isEmpty {
                    throw syntaxError("unexpected end of template, expected one of \(endTags.sorted().joined(separator: ", "))")
                }
                return (nodes, nil)
            case .text(let text):
                index += 1
                nodes.append(.text(text))
            case .variableBegin:
                index += 1
                let expr = try parseTuple()
                guard case .variableEnd = current.kind else { throw syntaxError("expected '}}', got \(describe(current))") }
                index += 1
                nodes.append(.output(expr, line: token.line))
            case .blockBegin:
                index += 1
                guard case .name(let tag) = current.kind else { throw syntaxError("expected statement name, got \(describe(current))") }
                if endTags.contains(tag) {
                    index += 1
                    return (nodes, tag)
                }
                nodes.append(try parseStatement(tag))
            default:
                throw syntaxError("unexpected \(describe(token))")
            }
        }
    }

    private mutating func nest() throws {
        nesting += 1
        if nesting > Self.maxNesting { throw syntaxError("template nesting deeper than \(Self.maxNesting) levels") }
    }

    private mutating func parseStatement(_ tag: String) throws -> Node {
        let tagLine = line
        try nest()
        defer { nesting -= 1 }
        index += 1
        switch tag {
        case "if": return try parseIf()
        case "for": return try parseFor(line: tagLine)
        case "set": return try parseSet(line: tagLine)
        case "macro": return try parseMacro()
        case "call": return try parseCallBlock(line: tagLine)
        case "filter": return try parseFilterBlock(line: tagLine)
        case "break":
            try expectBlockEnd()
            return .breakLoop(line: tagLine)
        case "continue":
            try expectBlockEnd()
            return .continueLoop(line: tagLine)
        case "generation":
            // transformers' AssistantTracker tag: renders its body unchanged.
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endgeneration"])
            try expectBlockEnd()
            return .scoped(body)
        case "with":
            var assignments: [Node] = []
            while !(current.kind == .blockEnd) {
                if !assignments.isEmpty { try expectOp(",") }
                let target = try parseAssignTarget(allowNamespace: false)
                try expectOp("=")
                assignments.append(.set(target, try parseExpression(), line: tagLine))
            }
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endwith"])
            try expectBlockEnd()
            return .scoped(assignments + body)
        default:
            throw syntaxError("encountered unknown tag '\(tag)'", line: tagLine)
        }
    }

    private mutating func parseIf() throws -> Node {
        var branches: [(Expr, [Node])] = []
        var condition = try parseTuple(withConditional: false)
        while true {
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["elif", "else", "endif"])
            branches.append((condition, body))
            switch end {
            case "elif":
                condition = try parseTuple(withConditional: false)
            case "else":
                try expectBlockEnd()
                let (otherwise, _) = try parseBody(until: ["endif"])
                try expectBlockEnd()
                return .ifChain(branches, otherwise: otherwise)
            default:
                try expectBlockEnd()
                return .ifChain(branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor(line: Int) throws -> Node {
        let target = try parseAssignTarget(allowNamespace: false)
        guard skipName("in") else { throw syntaxError("expected 'in' in for loop") }
        let iterable = try parseTuple(withConditional: false, extraEnd: ["recursive"])
        var condition: Expr? = nil
        if skipName("if") { condition = try parseExpression() }
        if skipName("recursive") { throw syntaxError("recursive for loops are not supported") }
        try expectBlockEnd()
        let (body, end) = try parseBody(until: ["endfor", "else"])
        var otherwise: [Node] = []
        if end == "else" {
            try expectBlockEnd()
            (otherwise, _) = try parseBody(until: ["endfor"])
        }
        try expectBlockEnd()
        return .forLoop(target: target, iterable: iterable, condition: condition, body: body, otherwise: otherwise, line: line)
    }

    private mutating func parseSet(line: Int) throws -> Node {
        let target = try parseAssignTarget(allowNamespace: true)
        if skipOp("=") {
            let value = try parseTuple()
            try expectBlockEnd()
            return .set(target, value, line: line)
        }
        var filters: [(String, CallArguments, Int)] = []
        while skipOp("|") { filters.append(try parseFilterCall()) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endset"])
        try expectBlockEnd()
        return .setBlock(target, filters: filters, body: body, line: line)
    }

    private mutating func parseAssignTarget(allowNamespace: Bool) throws -> AssignTarget {
        let parenthesized = skipOp("(")
        let first = try expectName()
        if allowNamespace, !parenthesized, skipOp(".") {
            return .namespaceAttribute(first, try expectName())
        }
        var names = [first]
        var sawComma = false
        while skipOp(",") {
            sawComma = true
            if case .name = current.kind, !isName("in") { names.append(try expectName()) } else { break }
        }
        if parenthesized { try expectOp(")") }
        return (sawComma || parenthesized) && names.count >= 1 && (sawComma || names.count > 1) ? .tuple(names) : .name(first)
    }

    private mutating func parseParameters() throws -> [(String, Expr?)] {
        var params: [(String, Expr?)] = []
        try expectOp("(")
        while !skipOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if skipOp(")") { break }
            let name = try expectName()
            var defaultValue: Expr? = nil
            if skipOp("=") { defaultValue = try parseExpression() }
            params.append((name, defaultValue))
        }
        return params
    }

    private mutating func parseMacro() throws -> Node {
        let name = try expectName()
        let params = try parseParameters()
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endmacro"])
        try expectBlockEnd()
        return .macro(MacroDefinition(name: name, parameters: params, body: body))
    }

    private mutating func parseCallBlock(line: Int) throws -> Node {
        let params = isOp("(") ? try parseParameters() : []
        let call = try parseExpression()
        guard case .call = call else { throw syntaxError("expected a call in call block", line: line) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endcall"])
        try expectBlockEnd()
        return .callBlock(call: call, parameters: params, body: body, line: line)
    }

    private mutating func parseFilterBlock(line: Int) throws -> Node {
        var filters: [(String, CallArguments, Int)] = [try parseFilterCall()]
        while skipOp("|") { filters.append(try parseFilterCall()) }
        try expectBlockEnd()
        let (body, _) = try parseBody(until: ["endfilter"])
        try expectBlockEnd()
        return .filterBlock(filters: filters, body: body, line: line)
    }

    // MARK: expressions

    /// Comma-separated expressions form a tuple (as in `{% set a = 1, 2 %}`).
    private mutating func parseTuple(withConditional: Bool = true, extraEnd: Set<String> = []) throws -> Expr {
        var items: [Expr] = []
        var sawComma = false
        while true {
            if !items.isEmpty {
                guard skipOp(",") else { break }
                sawComma = true
            }
            if isTupleEnd(extraEnd) { break }
            items.append(withConditional ? try parseExpression() : try parseOr())
        }
        if !sawComma {
            guard let only = items.first else { throw syntaxError("expected an expression, got \(describe(current))") }
            return only
        }
        return .tuple(items)
    }

    private func isTupleEnd(_ extraEnd: Set<String>) -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .eof: return true
        case .op(let o): return o == ")" || o == "]" || o == "}"
        case .name(let n): return extraEnd.contains(n) || n == "if" && false
        default: return false
        }
    }

    mutating func parseExpression() throws -> Expr {
        try nest()
        defer { nesting -= 1 }
        let value = try parseOr()
        guard skipName("if") else { return value }
        let condition = try parseOr()
        var otherwise: Expr? = nil
        if skipName("else") { otherwise = try parseExpression() }
        return .conditional(condition: condition, then: value, otherwise: otherwise)
    }

    private mutating func parseOr() throws -> Expr {
        var left = try parseAnd()
        while skipName("or") { left = .or(left, try parseAnd()) }
        return left
    }

    private mutating func parseAnd() throws -> Expr {
        var left = try parseNot()
        while skipName("and") { left = .and(left, try parseNot()) }
        return left
    }

    private mutating func parseNot() throws -> Expr {
        if skipName("not") {
            try nest()
            defer { nesting -= 1 }
            return .not(try parseNot())
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let compareLine = line
        let first = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = current.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                index += 1
                ops.append((o, try parseMath1()))
            } else if skipName("in") {
                ops.append(("in", try parseMath1()))
            } else if isName("not"), isName("in", at: 1) {
                index += 2
                ops.append(("notin", try parseMath1()))
            } else {
                break
            }
        }
        return ops.isEmpty ? first : .compare(first, ops, line: compareLine)
    }

    private mutating func parseMath1() throws -> Expr {
        var left = try parseConcat()
        while case .op(let o) = current.kind, o == "+" || o == "-" {
            let opLine = line
            index += 1
            left = .binary(o, left, try parseConcat(), line: opLine)
        }
        return left
    }

    private mutating func parseConcat() throws -> Expr {
        var parts = [try parseMath2()]
        while skipOp("~") { parts.append(try parseMath2()) }
        return parts.count == 1 ? parts[0] : .concat(parts)
    }

    private mutating func parseMath2() throws -> Expr {
        var left = try parsePow()
        while case .op(let o) = current.kind, ["*", "/", "//", "%"].contains(o) {
            let opLine = line
            index += 1
            left = .binary(o, left, try parsePow(), line: opLine)
        }
        return left
    }

    private mutating func parsePow() throws -> Expr {
        var left = try parseUnary()
        while isOp("**") {
            let opLine = line
            index += 1
            left = .binary("**", left, try parseUnary(), line: opLine)
        }
        return left
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        let unaryLine = line
        try nest()
        defer { nesting -= 1 }
        var node: Expr
        if skipOp("-") {
            node = .negate(try parseUnary(withFilter: false), line: unaryLine)
        } else if skipOp("+") {
            node = .plus(try parseUnary(withFilter: false), line: unaryLine)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let token = next()
        switch token.kind {
        case .name(let n):
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, line: token.line)
            }
        case .string(var s):
            while case .string(let more) = current.kind { s += more; index += 1 }
            return .literal(.string(s))
        case .integer(let i): return .literal(.int(i))
        case .float(let d): return .literal(.double(d))
        case .op("("):
            if skipOp(")") { return .tuple([]) }
            let inner = try parseTuple()
            try expectOp(")")
            return inner
        case .op("["):
            var items: [Expr] = []
            while !skipOp("]") {
                if !items.isEmpty { try expectOp(",") }
                if skipOp("]") { break }
                items.append(try parseExpression())
            }
            return .list(items)
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            while !skipOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if skipOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            return .dict(pairs)
        default:
            throw syntaxError("unexpected \(describe(token))", line: token.line)
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let postLine = line
            if skipOp(".") {
                let token = next()
                switch token.kind {
                case .name(let n): node = .attribute(node, n, line: postLine)
                case .integer(let i): node = .item(node, .literal(.int(i)), line: postLine)
                default: throw syntaxError("expected name or number after '.'", line: token.line)
                }
            } else if skipOp("[") {
                node = try parseSubscript(node, line: postLine)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments(), line: postLine)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ target: Expr, line: Int) throws -> Expr {
        var start: Expr? = nil
        if !isOp(":") { start = try parseExpression() }
        if skipOp("]") {
            guard let start else { throw syntaxError("empty subscript") }
            return .item(target, start, line: line)
        }
        try expectOp(":")
        var stop: Expr? = nil
        var step: Expr? = nil
        if !isOp("]") && !isOp(":") { stop = try parseExpression() }
        if skipOp(":") {
            if !isOp("]") { step = try parseExpression() }
        }
        try expectOp("]")
        return .slice(target, start: start, stop: stop, step: step, line: line)
    }

    private mutating func parseCallArguments() throws -> CallArguments {
        try expectOp("(")
        var args = CallArguments()
        var first = true
        while !skipOp(")") {
            if !first { try expectOp(",") }
            first = false
            if skipOp(")") { break }
            if case .name(let n) = current.kind, isOp("=", at: 1) {
                index += 2
                args.keyword.append((n, try parseExpression()))
            } else {
                if !args.keyword.isEmpty { throw syntaxError("positional argument after keyword argument") }
                args.positional.append(try parseExpression())
            }
        }
        return args
    }

    private mutating func parseFilterCall() throws -> (String, CallArguments, Int) {
        let filterLine = line
        var name = try expectName()
        while skipOp(".") { name += "." + (try expectName()) }
        let args = isOp("(") ? try parseCallArguments() : CallArguments()
        return (name, args, filterLine)
    }

    private mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            if skipOp("|") {
                let (name, args, filterLine) = try parseFilterCall()
                node = .filter(node, name, args, line: filterLine)
            } else if isName("is") {
                let testLine = line
                index += 1
                let negated = skipName("not")
                var name = try expectName()
                while skipOp(".") { name += "." + (try expectName()) }
                var args = CallArguments()
                if isOp("(") {
                    args = try parseCallArguments()
                } else if startsTestArgument() {
                    var arg = try parsePrimary()
                    arg = try parsePostfix(arg)
                    args.positional = [arg]
                }
                node = .test(node, name, args, negated: negated, line: testLine)
            } else if isOp("(") {
                node = .call(node, try parseCallArguments(), line: line)
            } else {
                return node
            }
        }
    }

    private func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let n): return !["else", "or", "and"].contains(n)
        case .string, .integer, .float: return true
        case .op(let o): return o == "[" || o == "{"
        default: return false
        }
    }
}
