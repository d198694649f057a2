/// Splits template source into tokens the way jinja2's lexer does with
/// trim_blocks=True and lstrip_blocks=True (including `-`/`+` whitespace control).
enum TokenKind: Equatable {
    case text(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case integer(Int)
    case float(Double)
    case op(String)
    case eof
}

struct Token {
    let kind: TokenKind
    let line: Int
}

struct TemplateLexer {
    /// Code points, not Characters: grapheme segmentation is slow and jinja works on code points.
    private let chars: [Unicode.Scalar]
    private var pos = 0
    private var line = 1
    private var tokens: [Token] = []

    init(source: String) {
        // jinja2 normalises newlines and drops a single trailing newline (keep_trailing_newline=False).
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(source.utf8.count)
        var afterCR = false
        for c in source.unicodeScalars {
            if c == "\n", afterCR { afterCR = false; continue }
            afterCR = c == "\r"
            scalars.append(afterCR ? "\n" : c)
        }
        if scalars.last == "\n" { scalars.removeLast() }
        chars = scalars
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = TemplateLexer(source: source)
        try lexer.run()
        return lexer.tokens
    }

    private func syntaxError(_ message: String) -> ChatTemplateError {
        ChatTemplateError(message, kind: .syntax, line: line)
    }

    private func peek(_ offset: Int = 0) -> Unicode.Scalar? {
        pos + offset < chars.count ? chars[pos + offset] : nil
    }

    private static func isSpace(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c == " " || (c.value >= 0x09 && c.value <= 0x0D) }
        return c.properties.isWhitespace
    }

    private static func isNameStart(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return c == "_" || (c.value | 0x20 >= 0x61 && c.value | 0x20 <= 0x7A) }
        return c.properties.isAlphabetic
    }

    private static func isNameContinue(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return isNameStart(c) || isDigit(c) }
        return c.properties.isAlphabetic || c.properties.numericType != nil
    }

    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c.value >= 0x30 && c.value <= 0x39 }

    private static func string<S: Sequence>(_ scalars: S) -> String where S.Element == Unicode.Scalar {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    private mutating func advance(_ n: Int = 1) {
        for _ in 0..<n where pos < chars.count {
            if chars[pos] == "\n" { line += 1 }
            pos += 1
        }
    }

    private enum TagKind { case variable, block, comment }

    /// Position of the next `{{`, `{%` or `{#` at or after `from`.
    private func nextTag(from: Int) -> (Int, TagKind)? {
        var i = from
        while i + 1 < chars.count {
            if chars[i] == "{" {
                switch chars[i + 1] {
                case "{": return (i, .variable)
                case "%": return (i, .block)
                case "#": return (i, .comment)
                default: break
                }
            }
            i += 1
        }
        return nil
    }

    private mutating func run() throws {
        while pos < chars.count {
            let lineStarting = pos == 0 || chars[pos - 1] == "\n"
            guard let (tagStart, kind) = nextTag(from: pos) else {
                emitText(Self.string(chars[pos...]), line: line)
                advance(chars.count - pos)
                break
            }
            var text = Array(chars[pos..<tagStart])
            let textLine = line
            let modifier: Unicode.Scalar? = tagStart + 2 < chars.count ? chars[tagStart + 2] : nil
            if modifier == "-" {
                while let last = text.last, Self.isSpace(last) { text.removeLast() }
            } else if modifier != "+", kind != .variable {
                // lstrip_blocks: drop spaces/tabs between the line start and a block or comment tag.
                let lineStart = (text.lastIndex(of: "\n").map { $0 + 1 }) ?? 0
                if (lineStart > 0 || lineStarting), lineStart < text.count,
                   text[lineStart...].allSatisfy({ Self.isSpace($0) && $0 != "\n" }) {
                    text.removeSubrange(lineStart...)
                }
            }
            if !text.isEmpty { emitText(Self.string(text), line: textLine) }
            advance(tagStart - pos + 2)
            if modifier == "-" || modifier == "+" { advance() }
            switch kind {
            case .comment: try skipComment()
            case .variable:
                tokens.append(Token(kind: .variableBegin, line: line))
                try lexInside(block: false)
            case .block:
                if try lexRawBlock() { continue }
                tokens.append(Token(kind: .blockBegin, line: line))
                try lexInside(block: true)
            }
        }
        tokens.append(Token(kind: .eof, line: line))
    }

    private mutating func emitText(_ text: String, line: Int) {
        if case .text(let previous)? = tokens.last?.kind {
            tokens[tokens.count - 1] = Token(kind: .text(previous + text), line: tokens[tokens.count - 1].line)
        } else {
            tokens.append(Token(kind: .text(text), line: line))
        }
    }

    /// Whitespace after a closing delimiter: `-` strips all of it, plain block/comment ends eat one newline.
    private mutating func afterClose(strip: Unicode.Scalar?, trimNewline: Bool) {
        if strip == "-" {
            while let c = peek(), Self.isSpace(c) { advance() }
        } else if strip != "+", trimNewline, peek() == "\n" {
            advance()
        }
    }

    private mutating func skipComment() throws {
        let startLine = line
        while pos < chars.count {
            if chars[pos] == "#", peek(1) == "}" {
                let strip: Unicode.Scalar? = pos > 0 && (chars[pos - 1] == "-" || chars[pos - 1] == "+") ? chars[pos - 1] : nil
                advance(2)
                afterClose(strip: strip, trimNewline: true)
                return
            }
            advance()
        }
        throw ChatTemplateError("missing end of comment tag", kind: .syntax, line: startLine)
    }

    /// `{% raw %}...{% endraw %}` copies its body verbatim.
    private mutating func lexRawBlock() throws -> Bool {
        var i = pos
        while i < chars.count, Self.isSpace(chars[i]) { i += 1 }
        guard i + 3 <= chars.count, Self.string(chars[i..<i + 3]) == "raw" else { return false }
        i += 3
        while i < chars.count, Self.isSpace(chars[i]) { i += 1 }
        var strip: Unicode.Scalar? = nil
        if i < chars.count, chars[i] == "-" || chars[i] == "+" { strip = chars[i]; i += 1 }
        guard i + 1 < chars.count, chars[i] == "%", chars[i + 1] == "}" else { return false }
        advance(i + 2 - pos)
        afterClose(strip: strip, trimNewline: true)
        let bodyStart = pos
        var j = pos
        while j + 1 < chars.count {
            if chars[j] == "{", chars[j + 1] == "%" {
                var k = j + 2
                var openStrip = false
                if k < chars.count, chars[k] == "-" || chars[k] == "+" { openStrip = chars[k] == "-"; k += 1 }
                while k < chars.count, Self.isSpace(chars[k]) { k += 1 }
                if k + 6 <= chars.count, Self.string(chars[k..<k + 6]) == "endraw" {
                    var body = Array(chars[bodyStart..<j])
                    if openStrip { while let last = body.last, Self.isSpace(last) { body.removeLast() } }
                    emitText(Self.string(body), line: line)
                    k += 6
                    while k < chars.count, Self.isSpace(chars[k]) { k += 1 }
                    var closeStrip: Unicode.Scalar? = nil
                    if k < chars.count, chars[k] == "-" || chars[k] == "+" { closeStrip = chars[k]; k += 1 }
                    guard k + 1 < chars.count, chars[k] == "%", chars[k + 1] == "}" else { throw syntaxError("malformed endraw tag") }
                    advance(k + 2 - pos)
                    afterClose(strip: closeStrip, trimNewline: true)
                    return true
                }
            }
            j += 1
        }
        throw syntaxError("missing endraw for raw block")
    }

    private static let operators2: Set<String> = ["//", "**", "==", "!=", ">=", "<="]
    private static let operators1: Set<Unicode.Scalar> = ["+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}",
                                                     ",", ".", ":", "|", "=", "<", ">"]

    /// Expression tokens up to the closing `}}` or `%}`.
    private mutating func lexInside(block: Bool) throws {
        let openLine = line
        var braceDepth = 0
        let closer: Unicode.Scalar = block ? "%" : "}"
        while true {
            while let c = peek(), Self.isSpace(c) { advance() }
            guard let c = peek() else {
                throw ChatTemplateError("unexpected end of template, expected '\(block ? "%}" : "}}")'",
                                        kind: .syntax, line: openLine)
            }
            // Closing delimiter, optionally preceded by a whitespace-control sign.
            if braceDepth == 0 {
                var sign: Unicode.Scalar? = nil
                var offset = 0
                if c == "-" || c == "+" { sign = c; offset = 1 }
                if peek(offset) == closer, peek(offset + 1) == "}" {
                    if sign == "+", !block {
                        // `+}}` is not a closer in jinja; fall through to operator lexing.
                    } else {
                        advance(offset + 2)
                        tokens.append(Token(kind: block ? .blockEnd : .variableEnd, line: line))
                        afterClose(strip: sign, trimNewline: block)
                        return
                    }
                }
            }
            let tokenLine = line
            if Self.isNameStart(c) {
                var scalars = String.UnicodeScalarView()
                while let d = peek(), Self.isNameContinue(d) {
                    scalars.append(d); advance()
                }
                let name = String(scalars)
                tokens.append(Token(kind: .name(name), line: tokenLine))
            } else if Self.isDigit(c) {
                tokens.append(Token(kind: lexNumber(), line: tokenLine))
            } else if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString(quote: c)), line: tokenLine))
            } else {
                let two = peek(1).map { Self.string([c, $0]) } ?? ""
                if Self.operators2.contains(two) {
                    advance(2)
                    tokens.append(Token(kind: .op(two), line: tokenLine))
                } else if Self.operators1.contains(c) {
                    if c == "{" || c == "[" || c == "(" { braceDepth += 1 }
                    if c == "}" || c == "]" || c == ")" {
                        braceDepth -= 1
                        if braceDepth < 0 { throw syntaxError("unexpected '\(c)'") }
                    }
                    advance()
                    tokens.append(Token(kind: .op(String(c)), line: tokenLine))
                } else {
                    throw syntaxError("unexpected char '\(c)'")
                }
            }
        }
    }

    private mutating func lexNumber() -> TokenKind {
        // After a '.', jinja reads only integers so that `x.0.y` is item access.
        let afterDot: Bool = {
            if case .op(".")? = tokens.last?.kind { return true }
            return false
        }()
        var text = ""
        func digits(_ lexer: inout TemplateLexer) {
            while let d = lexer.peek(), Self.isDigit(d) || (d == "_" && lexer.peek(1).map(Self.isDigit) == true) {
                if d != "_" { text.unicodeScalars.append(d) }
                lexer.advance()
            }
        }
        digits(&self)
        var isFloat = false
        if !afterDot {
            if peek() == ".", let d = peek(1), Self.isDigit(d) {
                isFloat = true
                text.append("."); advance()
                digits(&self)
            }
            if peek() == "e" || peek() == "E" {
                var offset = 1
                if peek(1) == "+" || peek(1) == "-" { offset = 2 }
                if let d = peek(offset), Self.isDigit(d) {
                    isFloat = true
                    text.append("e")
                    if offset == 2, let sign = peek(1) { text.unicodeScalars.append(sign) }
                    advance(offset)
                    digits(&self)
                }
            }
        }
        if isFloat { return .float(Double(text) ?? 0) }
        return .integer(Int(text) ?? Int.max)
    }

    /// String literal with Python `unicode-escape` semantics (unknown escapes stay verbatim).
    private mutating func lexString(quote: Unicode.Scalar) throws -> String {
        let startLine = line
        advance()
        var raw: [Unicode.Scalar] = []
        while true {
            guard let c = peek() else { throw ChatTemplateError("unterminated string", kind: .syntax, line: startLine) }
            if c == quote { advance(); break }
            if c == "\\", let next = peek(1) {
                raw.append(c); raw.append(next); advance(2); continue
            }
            raw.append(c)
            advance()
        }
        return Self.unescape(raw)
    }

    private static func hexValue(_ c: Unicode.Scalar) -> Int? {
        switch c.value {
        case 0x30...0x39: return Int(c.value - 0x30)
        case 0x41...0x46: return Int(c.value - 0x41 + 10)
        case 0x61...0x66: return Int(c.value - 0x61 + 10)
        default: return nil
        }
    }

    static func unescape(_ raw: [Unicode.Scalar]) -> String {
        var out = ""
        var i = 0
        func hex(_ count: Int) -> UInt32? {
            guard i + count <= raw.count else { return nil }
            var value: UInt32 = 0
            for k in 0..<count {
                guard let digit = hexValue(raw[i + k]) else { return nil }
                value = value * 16 + UInt32(digit)
            }
            return value
        }
        while i < raw.count {
            let c = raw[i]
            guard c == "\\", i + 1 < raw.count else { out.unicodeScalars.append(c); i += 1; continue }
            let e = raw[i + 1]
            i += 2
            switch e {
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": break
            case "x", "u", "U":
                let count = e == "x" ? 2 : (e == "u" ? 4 : 8)
                if let code = hex(count), let scalar = Unicode.Scalar(code) {
                    out.unicodeScalars.append(scalar)
                    i += count
                } else {
                    out.append("\\"); out.unicodeScalars.append(e)
                }
            case "0"..."7":
                var code = UInt32(hexValue(e) ?? 0)
                var n = 1
                while n < 3, i < raw.count, let d = hexValue(raw[i]), d < 8 { code = code * 8 + UInt32(d); i += 1; n += 1 }
                if let scalar = Unicode.Scalar(code) { out.unicodeScalars.append(scalar) }
            default:
                out.append("\\"); out.unicodeScalars.append(e)
            }
        }
        return out
    }
}
