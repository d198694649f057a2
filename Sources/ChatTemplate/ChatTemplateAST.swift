/// Syntax tree of a parsed template. Nodes carry their source line for error messages.
indirect enum Expr {
    case literal(Value)
    case name(String, line: Int)
    case attribute(Expr, String, line: Int)
    case item(Expr, Expr, line: Int)
    case slice(Expr, start: Expr?, stop: Expr?, step: Expr?, line: Int)
    case call(Expr, CallArguments, line: Int)
    case filter(Expr?, String, CallArguments, line: Int)
    case test(Expr, String, CallArguments, negated: Bool, line: Int)
    case not(Expr)
    case negate(Expr, line: Int)
    case plus(Expr, line: Int)
    case binary(String, Expr, Expr, line: Int)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case compare(Expr, [(String, Expr)], line: Int)
    case concat([Expr])
    case conditional(condition: Expr, then: Expr, otherwise: Expr?)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
}

struct CallArguments {
    var positional: [Expr] = []
    var keyword: [(String, Expr)] = []
}

enum AssignTarget {
    case name(String)
    case tuple([String])
    case namespaceAttribute(String, String)
}

struct MacroDefinition {
    let name: String
    let parameters: [(String, Expr?)]
    let body: [Node]
}

indirect enum Node {
    case text(String)
    case output(Expr, line: Int)
    case ifChain([(Expr, [Node])], otherwise: [Node])
    case forLoop(target: AssignTarget, iterable: Expr, condition: Expr?, body: [Node], otherwise: [Node], line: Int)
    case set(AssignTarget, Expr, line: Int)
    case setBlock(AssignTarget, filters: [(String, CallArguments, Int)], body: [Node], line: Int)
    case macro(MacroDefinition)
    case callBlock(call: Expr, parameters: [(String, Expr?)], body: [Node], line: Int)
    case filterBlock(filters: [(String, CallArguments, Int)], body: [Node], line: Int)
    case scoped([Node])
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}
