import JSON
import Engine
import Foundation
import HTTPTypes
import Hummingbird

/// An error answered to the client in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}`.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Seconds after which a client may retry (503 overload).
    public var retryAfter: Int?

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil,
                code: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    public static func badRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    public static func modelNotFound(_ model: String) -> APIError {
        APIError(status: .notFound, message: "The model `\(model)` does not exist.", type: "not_found_error",
                 param: "model", code: "model_not_found")
    }

    public static let unauthorized = APIError(
        status: .unauthorized, message: "Incorrect or missing API key. Send it as 'Authorization: Bearer <key>'.",
        type: "authentication_error", code: "invalid_api_key")

    public static func payloadTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, message: "Request body is larger than the limit of \(limit) bytes.",
                 type: "invalid_request_error", code: "request_too_large")
    }

    public static func overloaded(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, message: message, type: "server_error", code: "server_overloaded",
                 retryAfter: 1)
    }

    public static func internalError(_ message: String) -> APIError {
        APIError(status: .internalServerError, message: message, type: "server_error", code: "internal_error")
    }

    /// The one mapping from the engine's errors to HTTP: status, OpenAI error type and code per kind.
    public init(_ error: EngineError) {
        switch error.kind {
        case .invalidRequest:
            self = .badRequest(error.message, param: error.param)
        case .contextLengthExceeded:
            self = .badRequest(error.message, param: "input_tokens", code: "context_length_exceeded")
        case .overloaded, .shuttingDown:
            self = .overloaded(error.message)
        case .loadFailed, .invalidConfig, .modelFailure:
            self = .internalError(error.message)
        }
    }

    /// Any error thrown while handling a request, as an API error (never leaks a crash to the client).
    public init(any error: Error) {
        switch error {
        case let apiError as APIError: self = apiError
        case let engine as EngineError: self.init(engine)
        case let parse as JSONParseError: self = .badRequest(parse.description)
        case let http as HTTPResponseError where http.status == .contentTooLarge:
            self = .payloadTooLarge(limit: 0)
            self.message = "Request body is too large."
        case let http as HTTPResponseError:
            self = APIError(status: http.status, message: http.status.reasonPhrase,
                            type: http.status.code >= 500 ? "server_error" : "invalid_request_error")
        default:
            self = .internalError("Internal error: \(error)")
        }
    }

    public var json: JSONValue {
        .object([("error", .object([
            ("message", .string(message)),
            ("type", .string(type)),
            ("param", .optional(param)),
            ("code", .optional(code)),
        ]))])
    }

    public func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: JSONWriter.string(json))))
    }
}

extension Response {
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, requestId: String? = nil) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let requestId { headers[requestIdHeader] = requestId }
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: JSONWriter.string(value))))
    }
}

/// openai-python exposes this header as `response.request_id`.
let requestIdHeader = HTTPField.Name("X-Request-Id")!
