import JSON
import Foundation

/// Typed access to the fields of a request body. Lenient where OpenAI is (null means absent; integral floats
/// like `5.0` count as integers) and strict on types, with 400 errors that name the field.
struct FieldReader {
    let members: [(String, JSONValue)]

    init(body: JSONValue) throws {
        guard case .object(let members) = body else {
            throw APIError.badRequest("The request body must be a JSON object, got \(body.typeName).")
        }
        self.members = members
    }

    init(object: JSONValue, path: String) throws {
        guard case .object(let members) = object else {
            throw APIError.badRequest("'\(path)' must be an object, got \(object.typeName).", param: path)
        }
        self.members = members
    }

    /// The value of a field, nil when absent or null.
    func value(_ name: String) -> JSONValue? {
        guard let value = members.first(where: { $0.0 == name })?.1, !value.isNull else { return nil }
        return value
    }

    func has(_ name: String) -> Bool { value(name) != nil }

    private func typeError(_ name: String, expected: String, got value: JSONValue) -> APIError {
        .badRequest("'\(name)' must be \(expected), got \(value.typeName).", param: name)
    }

    func string(_ name: String) throws -> String? {
        guard let value = value(name) else { return nil }
        guard case .string(let text) = value else { throw typeError(name, expected: "a string", got: value) }
        return text
    }

    func bool(_ name: String) throws -> Bool? {
        guard let value = value(name) else { return nil }
        guard case .bool(let flag) = value else { throw typeError(name, expected: "a boolean", got: value) }
        return flag
    }

    func int(_ name: String) throws -> Int? {
        guard let value = value(name) else { return nil }
        return try Self.integer(value, name: name)
    }

    static func integer(_ value: JSONValue, name: String) throws -> Int {
        switch value {
        case .int(let number):
            guard let exact = Int(exactly: number) else { throw APIError.badRequest("'\(name)' is out of range.", param: name) }
            return exact
        case .double(let number) where number == number.rounded() && abs(number) < 9.2e18:
            return Int(number)
        case .double:
            throw APIError.badRequest("'\(name)' must be an integer, got \(value).", param: name)
        default:
            throw APIError.badRequest("'\(name)' must be an integer, got \(value.typeName).", param: name)
        }
    }

    func double(_ name: String) throws -> Double? {
        guard let value = value(name) else { return nil }
        switch value {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: throw typeError(name, expected: "a number", got: value)
        }
    }

    func array(_ name: String) throws -> [JSONValue]? {
        guard let value = value(name) else { return nil }
        guard case .array(let elements) = value else { throw typeError(name, expected: "an array", got: value) }
        return elements
    }

    func object(_ name: String) throws -> [(String, JSONValue)]? {
        guard let value = value(name) else { return nil }
        guard case .object(let members) = value else { throw typeError(name, expected: "an object", got: value) }
        return members
    }

    /// `stop`: a string or an array of strings.
    func stringOrStrings(_ name: String) throws -> [String]? {
        guard let value = value(name) else { return nil }
        switch value {
        case .string(let text): return [text]
        case .array(let elements):
            return try elements.enumerated().map { position, element in
                guard case .string(let text) = element else {
                    throw APIError.badRequest("'\(name)[\(position)]' must be a string, got \(element.typeName).",
                                              param: name)
                }
                return text
            }
        default: throw typeError(name, expected: "a string or an array of strings", got: value)
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        guard let elements = try array(name) else { return nil }
        return try elements.enumerated().map { try Self.integer($1, name: "\(name)[\($0)]") }
    }
}
