import JSON
import ChatTemplate
import Engine
import EngineCore
import Foundation

/// Serves the real `AsyncLLMEngine` through the server's `ServingEngine` protocol.
public final class AsyncEngineServing: ServingEngine, @unchecked Sendable {
    public let engine: AsyncLLMEngine
    private let tokenTextLock = NSLock()
    private var tokenTexts: [Int: String] = [:]

    public init(engine: AsyncLLMEngine) { self.engine = engine }

    public var maxModelLen: Int { engine.maxModelLen }
    public var vocabSize: Int { engine.modelSpec.vocabSize }
    public var isHealthy: Bool { engine.isAcceptingRequests }

    public func tokenize(_ text: String, addSpecialTokens: Bool) throws -> [Int] {
        engine.encode(text, addSpecialTokens: addSpecialTokens)
    }

    public func detokenize(_ tokenIds: [Int], skipSpecialTokens: Bool) throws -> String {
        engine.decode(tokenIds, skipSpecialTokens: skipSpecialTokens)
    }

    public func tokenStrings(_ tokenIds: [Int]) -> [String] {
        tokenTextLock.lock()
        defer { tokenTextLock.unlock() }
        return tokenIds.map { id in
            if let cached = tokenTexts[id] { return cached }
            let text = engine.decode([id], skipSpecialTokens: false)
            tokenTexts[id] = text
            return text
        }
    }

    public func renderChat(_ chat: ChatRenderRequest) throws -> String {
        var extra: [String: TemplateValue] = [:]
        for (key, value) in chat.templateKwargs { extra[key] = TemplateValue(value) }
        let rendered = try engine.renderChat(messages: .array(chat.messages.map(TemplateValue.init)),
                                             tools: chat.tools.map { .array($0.map(TemplateValue.init)) },
                                             addGenerationPrompt: chat.addGenerationPrompt && !chat.continueFinalMessage,
                                             extraContext: extra)
        guard chat.continueFinalMessage else { return rendered }
        // Leave the final message open: cut the rendering right after its content (vLLM does the same).
        guard case .string(let content)? = chat.messages.last?["content"], !content.isEmpty,
              let range = rendered.range(of: content, options: .backwards) else {
            return rendered
        }
        return String(rendered[..<range.upperBound])
    }

    public var defaultSamplingParams: SamplingParams { engine.defaultSamplingParams }

    public func generate(requestId: String, promptTokenIds: [Int], params: SamplingParams, priority: Int,
                         cacheSalt: String?) throws -> AsyncThrowingStream<RequestOutput, Error> {
        try engine.generate(requestId: requestId, prompt: .tokenIds(promptTokenIds), params: params,
                            priority: priority, outputKind: .delta, cacheSalt: cacheSalt)
    }

    public func abort(requestId: String) { engine.abort(requestId: requestId) }

    public func stats() -> EngineStats { engine.stats() }
}
