import JSON
import Foundation

/// Offline batch generation (`vllm generate`): each input line is `{"prompt": ...}` or `{"messages": [...]}`
/// with optional sampling fields (same names, defaults and validation as the HTTP API). All requests are
/// submitted together (bounded) so the engine batches them; results keep input order.
public enum OfflineBatch {
    public struct Result: Sendable {
        public var index: Int
        /// One JSON object per input line: generated texts, finish reasons and usage, or an error.
        public var json: JSONValue
        public var generatedTokens: Int
    }

    /// Runs all lines; `progress(done, total, generatedTokens)` is called after each one finishes.
    public static func run(lines: [String], engine: any ServingEngine, modelName: String, maxInFlight: Int = 256,
                           progress: @escaping @Sendable (Int, Int, Int) -> Void) async -> [Result] {
        let total = lines.count
        var results: [Result] = []
        results.reserveCapacity(total)
        await withTaskGroup(of: Result.self) { group in
            var next = 0
            var done = 0
            var tokens = 0
            func submit() {
                let index = next
                let line = lines[index]
                next += 1
                group.addTask { await runOne(index: index, line: line, engine: engine, modelName: modelName) }
            }
            while next < total && next < maxInFlight { submit() }
            for await result in group {
                results.append(result)
                done += 1
                tokens += result.generatedTokens
                progress(done, total, tokens)
                if next < total { submit() }
            }
        }
        return results.sorted { $0.index < $1.index }
    }

    static func runOne(index: Int, line: String, engine: any ServingEngine, modelName: String) async -> Result {
        do {
            let body = try JSONParser.parse(line, maxDepth: requestMaxNesting)
            let served = [modelName]
            if body["messages"] != nil {
                let plan = try ChatPlan(body: stripModel(body), engine: engine, servedModels: served,
                                        limits: RequestLimits())
                let json = try await chatNonStreaming(plan, engine: engine)
                return Result(index: index, json: summarize(index: index, request: body, response: json, textKey: "message"),
                              generatedTokens: json.completionTokens)
            }
            let plan = try CompletionPlan(body: stripModel(body), engine: engine, servedModels: served,
                                          limits: RequestLimits())
            let json = try await completeNonStreaming(plan, engine: engine)
            return Result(index: index, json: summarize(index: index, request: body, response: json, textKey: "text"),
                          generatedTokens: json.completionTokens)
        } catch {
            let message = APIError(any: error).message
            return Result(index: index, json: .object([("index", .number(index)), ("error", .string(message))]),
                          generatedTokens: 0)
        }
    }

    /// Lines need not name the model.
    private static func stripModel(_ body: JSONValue) -> JSONValue {
        guard case .object(let members) = body else { return body }
        return .object(members.filter { $0.0 != "model" })
    }

    private static func summarize(index: Int, request: JSONValue, response: JSONValue, textKey: String) -> JSONValue {
        var outputs: [JSONValue] = []
        if case .array(let choices)? = response["choices"] {
            for choice in choices {
                let text = textKey == "message" ? choice["message"]?["content"] : choice["text"]
                var members: [(String, JSONValue)] = [("text", text ?? .null),
                                                      ("finish_reason", choice["finish_reason"] ?? .null)]
                if let logprobs = choice["logprobs"], !logprobs.isNull { members.append(("logprobs", logprobs)) }
                outputs.append(.object(members))
            }
        }
        var members: [(String, JSONValue)] = [("index", .number(index))]
        if let prompt = request["prompt"] { members.append(("prompt", prompt)) }
        return .object(members + [("outputs", .array(outputs)), ("usage", response["usage"] ?? .null)])
    }
}

private extension JSONValue {
    var completionTokens: Int {
        if case .int(let count)? = self["usage"]?["completion_tokens"] { return Int(count) }
        return 0
    }
}
