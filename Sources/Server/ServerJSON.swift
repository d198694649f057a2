import JSON

/// Deepest nesting a request body may have. No API request needs more than a handful of levels; the
/// bound keeps hostile bodies from recursing deep.
let requestMaxNesting = 256

// Shorthands for building response bodies.
extension JSONValue {
    static func optional(_ text: String?) -> JSONValue { text.map { .string($0) } ?? .null }
    static func optional(_ number: Int?) -> JSONValue { number.map { .int(Int64($0)) } ?? .null }
    static func number(_ value: Int) -> JSONValue { .int(Int64(value)) }
    static func number(_ value: Float) -> JSONValue { .double(Double(value)) }
}
