/// Every failure of parsing or rendering a template (syntax errors carry the template line).
public struct ChatTemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The template text does not parse.
        case syntax
        /// The template called raise_exception(message); `message` is exactly the template's text.
        case raised
        /// Anything else found while rendering (type errors, undefined values, limits).
        case render
    }

    public let message: String
    public let kind: Kind
    /// 1-based template line, when known.
    public let line: Int?

    public init(_ message: String, kind: Kind = .render, line: Int? = nil) {
        self.message = message
        self.kind = kind
        self.line = line
    }

    public var description: String {
        if let line { return "chat template error (line \(line)): \(message)" }
        return "chat template error: \(message)"
    }
}

/// Bounds that keep a hostile or buggy template from hanging or exhausting memory.
public struct RenderLimits: Sendable {
    /// Interpreter steps (statements, loop iterations, calls) per render.
    public var maxSteps: Int
    /// Output size in UTF-8 bytes.
    public var maxOutputBytes: Int
    /// Nesting of macro calls and expression evaluation.
    public var maxRecursionDepth: Int

    public init(maxSteps: Int = 1_000_000, maxOutputBytes: Int = 16 << 20, maxRecursionDepth: Int = 200) {
        self.maxSteps = maxSteps
        self.maxOutputBytes = maxOutputBytes
        self.maxRecursionDepth = maxRecursionDepth
    }

    public static let `default` = RenderLimits()
}
