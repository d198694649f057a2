// vLLM's sampling fields as logits processors, in vLLM v1's order: allowed_token_ids, bad_words,
// logit_bias, min_tokens, then the repetition, frequency and presence penalties. A request only gets
// the processors its parameters switch on, so a plain request runs none.

enum BuiltinLogitsProcessors {
    static func make(params: SamplingParams, vocabSize: Int) -> [any LogitsProcessor] {
        var processors: [any LogitsProcessor] = []
        if let allowed = params.allowedTokenIds {
            processors.append(AllowedTokensProcessor(allowed: allowed, vocabSize: vocabSize))
        }
        if !params.badWordsTokenIds.isEmpty {
            processors.append(BadWordsProcessor(words: params.badWordsTokenIds))
        }
        if !params.logitBias.isEmpty {
            processors.append(LogitBiasProcessor(bias: params.logitBias, vocabSize: vocabSize))
        }
        if params.minTokens > 0 {
            processors.append(MinTokensProcessor(minTokens: params.minTokens, stopTokenIds: params.stopTokenIds))
        }
        if params.repetitionPenalty != 1 {
            processors.append(RepetitionPenaltyProcessor(penalty: Float(params.repetitionPenalty)))
        }
        if params.frequencyPenalty != 0 || params.presencePenalty != 0 {
            processors.append(FrequencyPresencePenaltyProcessor(frequency: Float(params.frequencyPenalty),
                                                                presence: Float(params.presencePenalty)))
        }
        return processors
    }
}

/// vLLM `allowed_token_ids`: every other token is masked out.
final class AllowedTokensProcessor: LogitsProcessor, @unchecked Sendable {
    private let mask: TokenMask

    init(allowed: [Int], vocabSize: Int) {
        var mask = TokenMask(vocabSize: vocabSize)
        for token in allowed { mask.allow(token) }
        self.mask = mask
    }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        mask.apply(to: logits)
    }
}

/// vLLM `bad_words` (as token id sequences): a word's last token is banned wherever the output so
/// far ends with the rest of the word; single-token words are always banned.
final class BadWordsProcessor: LogitsProcessor, @unchecked Sendable {
    private let words: [[Int]]

    init(words: [[Int]]) { self.words = words.filter { !$0.isEmpty } }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        let output = context.outputTokenIds
        for word in words {
            guard let last = word.last, last >= 0, last < logits.count else { continue }
            let prefixLength = word.count - 1
            guard prefixLength <= output.count else { continue }
            var matches = true
            var position = output.endIndex - prefixLength
            for index in 0..<prefixLength {
                if output[position] != word[index] { matches = false; break }
                position += 1
            }
            if matches { logits[last] = -.infinity }
        }
    }
}

final class LogitBiasProcessor: LogitsProcessor, @unchecked Sendable {
    private let tokens: [Int]
    private let biases: [Float]

    init(bias: [Int: Double], vocabSize: Int) {
        let valid = bias.filter { $0.key >= 0 && $0.key < vocabSize }.sorted { $0.key < $1.key }
        tokens = valid.map(\.key)
        biases = valid.map { Float($0.value) }
    }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        for index in tokens.indices { logits[tokens[index]] += biases[index] }
    }
}

/// Until `minTokens` are generated, EOS and stop_token_ids cannot be sampled.
final class MinTokensProcessor: LogitsProcessor, @unchecked Sendable {
    private let minTokens: Int
    private let stopTokenIds: [Int]

    init(minTokens: Int, stopTokenIds: [Int]) {
        self.minTokens = minTokens
        self.stopTokenIds = stopTokenIds
    }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        guard context.numOutputTokens < minTokens else { return }
        let vocab = logits.count
        for token in context.eosTokenIds where token >= 0 && token < vocab { logits[token] = -.infinity }
        for token in stopTokenIds where token >= 0 && token < vocab { logits[token] = -.infinity }
    }
}

/// HF/vLLM repetition penalty over prompt and output tokens: positive logits divided, negative multiplied.
final class RepetitionPenaltyProcessor: LogitsProcessor, @unchecked Sendable {
    private let penalty: Float

    init(penalty: Float) { self.penalty = penalty }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        let vocab = logits.count
        let penalty = self.penalty
        func penalize(_ token: Int) {
            guard token >= 0 && token < vocab else { return }
            let v = logits[token]
            logits[token] = v > 0 ? v / penalty : v * penalty
        }
        let promptTokens = context.request.promptTokenSet
        for token in promptTokens { penalize(token) }
        for token in context.request.outputTokenCounts.keys where !promptTokens.contains(token) { penalize(token) }
    }
}

/// OpenAI frequency and presence penalties over output tokens.
final class FrequencyPresencePenaltyProcessor: LogitsProcessor, @unchecked Sendable {
    private let frequency: Float
    private let presence: Float

    init(frequency: Float, presence: Float) {
        self.frequency = frequency
        self.presence = presence
    }

    func apply(_ logits: UnsafeMutableBufferPointer<Float>, context: LogitsContext) {
        let vocab = logits.count
        for (token, count) in context.request.outputTokenCounts where token >= 0 && token < vocab {
            logits[token] -= frequency * Float(count) + presence
        }
    }
}
