import Foundation

/// A compiled Jinja2 chat template that renders like transformers' `apply_chat_template`
/// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, transformers' tojson,
/// raise_exception and strftime_now).
public final class ChatTemplate: @unchecked Sendable {
    public let source: String
    public let limits: RenderLimits
    private let nodes: [Node]
    private let now: @Sendable () -> Date

    /// Parses once; a syntax error throws `ChatTemplateError` (kind `.syntax`) with the template line.
    /// `now` feeds `strftime_now` (formatted in UTC); inject a fixed clock for reproducible output.
    public init(source: String, limits: RenderLimits = .default, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.source = source
        self.limits = limits
        self.now = now
        self.nodes = try TemplateParser.parse(source)
    }

    /// Renders with the given variables; errors (including raise_exception) throw `ChatTemplateError`.
    public func render(_ context: [String: TemplateValue]) throws -> String {
        let interpreter = Interpreter(limits: limits, now: now)
        let root = Scope(parent: nil)
        for (key, value) in context {
            guard !value.nestsDeeper(than: Interpreter.maxValueNesting) else {
                throw ChatTemplateError("context variable '\(key)' nests deeper than \(Interpreter.maxValueNesting) levels")
            }
            root.variables[key] = Value(value)
        }
        var out = ""
        _ = try interpreter.execute(nodes, scope: root, into: &out)
        return out
    }

    /// The variables transformers passes: messages, tools (None when absent), documents (None when absent),
    /// add_generation_prompt, bos_token/eos_token when known, then the extra kwargs (which win on clashes).
    public func renderChat(messages: TemplateValue, tools: TemplateValue? = nil, documents: TemplateValue? = nil,
                           addGenerationPrompt: Bool, bosToken: String?, eosToken: String?,
                           extraContext: [String: TemplateValue] = [:]) throws -> String {
        var context: [String: TemplateValue] = [
            "messages": messages,
            "tools": tools ?? .none,
            "documents": documents ?? .none,
            "add_generation_prompt": .bool(addGenerationPrompt),
        ]
        if let bosToken { context["bos_token"] = .string(bosToken) }
        if let eosToken { context["eos_token"] = .string(eosToken) }
        for (key, value) in extraContext { context[key] = value }
        return try render(context)
    }
}
