import Foundation
import JSON

/// Incremental Server-Sent Events parser: bytes arrive in arbitrary pieces (an event, a line or even a UTF-8
/// character can be split across reads); complete events come out as their joined `data:` payloads.
public struct BenchSSEParser: Sendable {
    private var pending: [UInt8] = []
    private var dataLines: [String] = []

    public init() {}

    /// Feeds the next bytes; returns the data of every event completed by them.
    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) -> [String] where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        var events: [String] = []
        var lineStart = 0
        var index = 0
        while index < pending.count {
            let byte = pending[index]
            guard byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") else {
                index += 1
                continue
            }
            // A CR at the very end may be the first half of CRLF: wait for the next read.
            if byte == UInt8(ascii: "\r"), index + 1 == pending.count { break }
            let line = pending[lineStart..<index]
            index += (byte == UInt8(ascii: "\r") && pending[index + 1] == UInt8(ascii: "\n")) ? 2 : 1
            lineStart = index
            if let event = consume(line: line) { events.append(event) }
        }
        pending.removeFirst(lineStart)
        return events
    }

    /// Data still buffered at end of stream: a last event without its blank line.
    public mutating func finish() -> String? {
        if !pending.isEmpty {
            _ = consume(line: pending[...])
            pending.removeAll()
        }
        return flush()
    }

    private mutating func consume(line: ArraySlice<UInt8>) -> String? {
        if line.isEmpty { return flush() }
        // Comments (":keep-alive") and fields other than data (event:, id:, retry:) carry no payload here.
        guard line.starts(with: "data:".utf8) else { return nil }
        var value = line.dropFirst(5)
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        dataLines.append(String(decoding: value, as: UTF8.self))
        return nil
    }

    private mutating func flush() -> String? {
        guard !dataLines.isEmpty else { return nil }
        defer { dataLines.removeAll() }
        return dataLines.joined(separator: "\n")
    }
}

/// What one streamed OpenAI chunk says: new text (completions `choices[0].text` or chat
/// `choices[0].delta.content`), whether it had choices at all, and usage when present.
public struct BenchStreamChunk: Equatable, Sendable {
    public var hasChoices: Bool
    public var text: String
    public var completionTokens: Int?
    public var promptTokens: Int?
    public var error: String?

    /// nil for "[DONE]".
    public static func parse(_ data: String) throws -> BenchStreamChunk? {
        if data.trimmingCharacters(in: .whitespaces) == "[DONE]" { return nil }
        let json: JSONValue
        do {
            json = try JSONParser.parse(data)
        } catch {
            throw BenchError("server sent an event that is not JSON: \(data.prefix(200))")
        }
        guard json.members != nil else {
            throw BenchError("server sent an event that is not a JSON object: \(data.prefix(200))")
        }
        var chunk = BenchStreamChunk(hasChoices: false, text: "")
        if let error = json["error"] {
            chunk.error = error["message"]?.string ?? "\(error)"
            return chunk
        }
        if let first = json["choices"]?.array?.first {
            chunk.hasChoices = true
            if let text = first["text"]?.string {
                chunk.text = text
            } else if let delta = first["delta"] {
                chunk.text = delta["content"]?.string ?? delta["reasoning_content"]?.string ?? ""
            }
        }
        if let usage = json["usage"] {
            chunk.completionTokens = usage["completion_tokens"]?.int
            chunk.promptTokens = usage["prompt_tokens"]?.int
        }
        return chunk
    }
}
