import Foundation

/// Python's `%` conversions and `str.format` mini-language for the common cases
/// (fill/align, sign, zero padding, width, precision; s d i f F e E g G x X o %).
enum FormatSpec {
    static func printf(spec: String, conversion: Character, _ value: Value, line: Int, interpreter: Interpreter) throws -> String {
        var flags = ""
        var rest = Substring(spec)
        while let c = rest.first, "-+ #0".contains(c) { flags.append(c); rest.removeFirst() }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let width = Int(parts.first ?? "") ?? 0
        let precision = parts.count > 1 ? Int(parts[1]) ?? 0 : nil
        var body: String
        switch conversion {
        case "s": body = PythonFormat.str(value)
        case "r": body = PythonFormat.repr(value)
        default:
            guard let number = Operators.number(value) else {
                throw interpreter.error("%\(conversion) format: a real number is required, not \(value.typeName)", line: line)
            }
            body = try numeric(number, type: conversion, precision: precision, interpreter: interpreter)
            if flags.contains("+"), !body.hasPrefix("-") { body = "+" + body }
            else if flags.contains(" "), !body.hasPrefix("-") { body = " " + body }
        }
        if let precision, conversion == "s" || conversion == "r" { body = String(body.prefix(precision)) }
        return pad(body, width: width, align: flags.contains("-") ? "<" : ">",
                   fill: flags.contains("0") && !flags.contains("-") && conversion != "s" ? "0" : " ")
    }

    static func format(_ value: Value, spec: String, interpreter: Interpreter) throws -> String {
        if spec.isEmpty { return PythonFormat.str(value) }
        var chars = Array(spec)[...]
        var fill: Character = " "
        var align: Character? = nil
        if chars.count >= 2, "<>^=".contains(chars[chars.startIndex + 1]) {
            fill = chars.removeFirst(); align = chars.removeFirst()
        } else if let c = chars.first, "<>^=".contains(c) {
            align = chars.removeFirst()
        }
        var sign: Character? = nil
        if let c = chars.first, "+- ".contains(c) { sign = chars.removeFirst() }
        if chars.first == "0" { chars.removeFirst(); if align == nil { fill = "0"; align = "=" } }
        var widthText = ""
        while let c = chars.first, c.isNumber { widthText.append(chars.removeFirst()) }
        if chars.first == "," || chars.first == "_" { chars.removeFirst() }
        var precision: Int? = nil
        if chars.first == "." {
            chars.removeFirst()
            var p = ""
            while let c = chars.first, c.isNumber { p.append(chars.removeFirst()) }
            precision = Int(p)
        }
        let type = chars.first
        var body: String
        let isNumber = Operators.number(value) != nil && value.stringContent == nil
        if let type, type != "s", let number = Operators.number(value) {
            body = try numeric(number, type: type, precision: precision, interpreter: interpreter)
        } else if type == nil, isNumber, let precision, let number = Operators.number(value) {
            body = try numeric(number, type: "g", precision: precision, interpreter: interpreter)
        } else {
            body = PythonFormat.str(value)
            if let precision { body = String(body.prefix(precision)) }
        }
        if isNumber, let sign, sign != "-", !body.hasPrefix("-") { body = String(sign == "+" ? "+" : " ") + body }
        let width = Int(widthText) ?? 0
        if align == "=" {
            var signPart = ""
            if let first = body.first, "+- ".contains(first) { signPart = String(first); body.removeFirst() }
            return signPart + pad(body, width: width - signPart.count, align: ">", fill: fill)
        }
        return pad(body, width: width, align: align ?? (isNumber ? ">" : "<"), fill: fill)
    }

    private static func numeric(_ number: Operators.Number, type: Character, precision: Int?,
                                interpreter: Interpreter) throws -> String {
        let d = Operators.asDouble(number)
        switch type {
        case "d", "i", "n":
            if case .int(let i) = number { return String(i) }
            return d.isFinite ? String(Int(d.rounded(.towardZero))) : PythonFormat.float(d)
        case "f", "F": return String(format: "%.\(precision ?? 6)f", d)
        case "e", "E": return String(format: "%.\(precision ?? 6)\(type)", d)
        case "g", "G": return String(format: "%.\(precision ?? 6)\(type)", d)
        case "%": return String(format: "%.\(precision ?? 6)f", d * 100) + "%"
        case "x", "X", "o":
            guard case .int(let i) = number else { throw interpreter.error("format '\(type)' needs an integer") }
            let digits = String(i.magnitude, radix: type == "o" ? 8 : 16, uppercase: type == "X")
            return (i < 0 ? "-" : "") + digits
        default:
            throw interpreter.error("unsupported format type '\(type)'")
        }
    }

    private static func pad(_ body: String, width: Int, align: Character, fill: Character) -> String {
        let count = body.count
        guard count < width else { return body }
        let total = width - count
        switch align {
        case "<": return body + String(repeating: fill, count: total)
        case "^": return String(repeating: fill, count: total / 2) + body + String(repeating: fill, count: total - total / 2)
        default:
            if fill == "0", let first = body.first, "+- ".contains(first) {
                return String(first) + String(repeating: fill, count: total) + body.dropFirst()
            }
            return String(repeating: fill, count: total) + body
        }
    }
}
