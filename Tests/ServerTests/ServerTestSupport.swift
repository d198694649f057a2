import JSON
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import XCTest
@testable import Server

/// Builds the router over a fake engine and runs `body` against it in-process.
func withTestServer(engine: FakeServingEngine = FakeServingEngine(), apiKeys: [String] = [],
                    maxBodyBytes: Int? = nil, state: ServerState = ServerState(),
                    _ body: @escaping @Sendable (any TestClientProtocol, FakeServingEngine) async throws -> Void)
    async throws {
    var configuration = ServerConfiguration(servedModelNames: ["test-model", "alias"], apiKeys: apiKeys)
    configuration.logRequests = false
    if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
    let server = OpenAIServer(engine: engine, configuration: configuration, state: state)
    let app = Application(router: server.makeRouter())
    try await app.test(.router) { client in try await body(client, engine) }
}

extension TestClientProtocol {
    /// POSTs a JSON text body and returns the status and parsed JSON (or nil when not JSON).
    func postJSON(_ uri: String, _ json: String, headers: HTTPFields = [.contentType: "application/json"])
        async throws -> (status: HTTPResponse.Status, json: JSONValue?, text: String, headers: HTTPFields) {
        try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json)) { response in
            let text = String(buffer: response.body)
            return (response.status, try? JSONParser.parse(text), text, response.headers)
        }
    }

    func getText(_ uri: String, headers: HTTPFields = [:]) async throws -> (status: HTTPResponse.Status, text: String) {
        try await execute(uri: uri, method: .get, headers: headers) { response in
            (response.status, String(buffer: response.body))
        }
    }
}

/// Splits an SSE body into its `data:` payloads, checking the framing on the way.
func sseEvents(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [String] {
    XCTAssertTrue(text.hasSuffix("\n\n"), "SSE body must end with a blank line", file: file, line: line)
    return text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
        XCTAssertTrue(event.hasPrefix("data: "), "every event is a data line: \(event)", file: file, line: line)
        return String(event.dropFirst("data: ".count))
    }
}

extension JSONValue {
    subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
    var stringValue: String? { if case .string(let text) = self { return text } else { return nil } }
    var intValue: Int? { if case .int(let number) = self { return Int(number) } else { return nil } }
    var doubleValue: Double? {
        switch self {
        case .int(let number): return Double(number)
        case .double(let number): return number
        default: return nil
        }
    }
    var arrayValue: [JSONValue]? { if case .array(let elements) = self { return elements } else { return nil } }
    func path(_ keys: Any...) -> JSONValue? {
        var current: JSONValue? = self
        for key in keys {
            if let name = key as? String { current = current?[name] } else if let index = key as? Int { current = current?[index] }
        }
        return current
    }
}
