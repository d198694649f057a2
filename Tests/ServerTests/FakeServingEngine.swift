import Engine
import EngineCore
import Foundation
@testable import Server

/// A deterministic engine for HTTP tests. Tokens are UTF-8 bytes (ids 0...255), BOS = 256, EOS = 257.
/// Choice c of a request generates the letters "a", "b", "c", ... shifted by c, one token each.
final class FakeServingEngine: ServingEngine, @unchecked Sendable {
    let maxModelLen: Int
    let vocabSize = 300
    var defaultSamplingParams = SamplingParams()
    static let bos = 256

    private let lock = NSLock()
    private var _aborted: [String] = []
    private var _started: [(id: String, prompt: [Int], params: SamplingParams, priority: Int, cacheSalt: String?)] = []
    private var _renders: [ChatRenderRequest] = []
    /// Streams that stay open after `tokensBeforeHang` tokens until aborted (to test disconnects).
    var hangAfterTokens: Int?
    /// Throw `overloaded` from generate (503 test).
    var overloaded = false
    /// Fail the stream with an engine error after the first output (mid-stream error test).
    var failMidStream = false
    var healthy = true
    /// What /metrics renders (the engine measures; the server only renders).
    var currentStats = EngineStats(maxModelLen: 64)

    init(maxModelLen: Int = 64) { self.maxModelLen = maxModelLen }

    var aborted: [String] { lock.lock(); defer { lock.unlock() }; return _aborted }
    var started: [(id: String, prompt: [Int], params: SamplingParams, priority: Int, cacheSalt: String?)] {
        lock.lock(); defer { lock.unlock() }; return _started
    }
    var renders: [ChatRenderRequest] { lock.lock(); defer { lock.unlock() }; return _renders }
    var isHealthy: Bool { healthy }

    func tokenize(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        (addSpecialTokens ? [Self.bos] : []) + text.utf8.map(Int.init)
    }

    func detokenize(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        String(decoding: tokenIds.filter { $0 < 256 }.map(UInt8.init), as: UTF8.self)
    }

    func tokenStrings(_ tokenIds: [Int]) -> [String] {
        tokenIds.map { $0 < 256 ? String(decoding: [UInt8($0)], as: UTF8.self) : "<s>" }
    }

    func renderChat(_ chat: ChatRenderRequest) throws -> String {
        lock.lock()
        _renders.append(chat)
        lock.unlock()
        var text = ""
        for message in chat.messages {
            guard case .string(let role)? = message["role"] else { continue }
            if case .string(let content)? = message["content"] { text += "\(role):\(content)\n" }
        }
        return chat.addGenerationPrompt ? text + "assistant:" : text
    }

    func stats() -> EngineStats { currentStats }

    func abort(requestId: String) {
        lock.lock()
        _aborted.append(requestId)
        lock.unlock()
    }

    private static func letter(_ position: Int, choice: Int) -> Int {
        Int(UInt8(ascii: "a")) + (position + choice) % 26
    }

    private static func logprob(_ id: Int) -> PositionLogprobs {
        let token = String(decoding: [UInt8(id)], as: UTF8.self)
        let other = id == Int(UInt8(ascii: "z")) ? Int(UInt8(ascii: "a")) : id + 1
        return PositionLogprobs(chosen: LogprobCandidate(tokenId: id, token: token, logprob: -0.5, rank: 1),
                            top: [LogprobCandidate(tokenId: id, token: token, logprob: -0.5, rank: 1),
                                  LogprobCandidate(tokenId: other, token: String(decoding: [UInt8(other)], as: UTF8.self),
                                                   logprob: -1.5, rank: 2)])
    }

    func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, priority: Int,
                  cacheSalt: String?) throws -> AsyncThrowingStream<RequestOutput, Error> {
        if overloaded { throw EngineError(.overloaded, "The waiting queue is full (2 requests); retry later.") }
        // The real engine's request checks, so the HTTP tests see exactly what it refuses.
        try EngineRequestChecks.validate(params: params, cacheSalt: cacheSalt, vocabSize: vocabSize, maxLogprobs: 20)
        lock.lock()
        _started.append((requestId, promptTokenIds, params, priority, cacheSalt))
        lock.unlock()
        let maxTokens = params.maxTokens ?? 16
        let hang = hangAfterTokens
        let fail = failMidStream
        return AsyncThrowingStream { continuation in
            continuation.onTermination = { [weak self] termination in
                if case .cancelled = termination { self?.abort(requestId: requestId) }
            }
            for choice in 0..<params.n {
                for position in 0..<maxTokens {
                    if let hang, position >= hang { break }
                    let id = Self.letter(position, choice: choice)
                    let piece = String(decoding: [UInt8(id)], as: UTF8.self)
                    var finish: FinishReason? = position == maxTokens - 1 ? .length : nil
                    var stopReason: StopReason?
                    var delta = piece
                    // The fake matches single-character stop strings only.
                    if let stop = params.stop.first(where: { $0 == piece }) {
                        finish = .stop
                        stopReason = .string(stop)
                        delta = params.includeStopStrInOutput ? piece : ""
                    } else if params.stopTokenIds.contains(id) {
                        finish = .stop
                        stopReason = .tokenId(id)
                    }
                    var promptLogprobs: [PositionLogprobs?]?
                    if position == 0, params.promptLogprobs != nil {
                        promptLogprobs = promptTokenIds.enumerated().map { $0 == 0 ? nil : Self.logprob(min($1, 255)) }
                    }
                    let completion = CompletionOutput(
                        index: choice, text: delta, tokenIds: [id],
                        logprobs: params.logprobs == nil ? nil : [Self.logprob(id)], finishReason: finish,
                        stopReason: stopReason, numGeneratedTokens: position + 1)
                    continuation.yield(RequestOutput(
                        requestId: requestId, prompt: nil, promptTokenIds: promptTokenIds, promptLogprobs: promptLogprobs,
                        outputs: [completion], finished: finish != nil && choice == params.n - 1, numCachedTokens: 0,
                        timing: RequestTiming(arrival: 0)))
                    if fail {
                        continuation.finish(throwing: EngineError(.modelFailure, "Injected engine failure."))
                        return
                    }
                    if finish != nil { break }
                }
            }
            if hang == nil { continuation.finish() }
        }
    }
}
