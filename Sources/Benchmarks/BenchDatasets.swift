import Foundation
import Tokenizer

/// One benchmark request: the prompt text, its length in tokens, and how many tokens to ask for.
public struct BenchPrompt: Sendable, Equatable {
    public var text: String
    public var promptLength: Int
    public var outputLength: Int

    public init(text: String, promptLength: Int, outputLength: Int) {
        self.text = text
        self.promptLength = promptLength
        self.outputLength = outputLength
    }
}

/// What the synthetic datasets need from a tokenizer.
public protocol BenchTokenizing {
    var vocabSize: Int { get }
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int]
    func decode(_ ids: [Int], skipSpecialTokens: Bool) -> String
    func isSpecial(_ id: Int) -> Bool
}

extension Tokenizer: BenchTokenizing {}

/// vLLM's synthetic datasets: random token ids decoded to text, re-encoded and adjusted so that each prompt
/// has (close to) the asked number of tokens.
public struct BenchDatasetBuilder {
    let tokenizer: any BenchTokenizing
    /// Ordinary (non-special) token ids: prompts never contain control tokens.
    let ordinaryIds: [Int]

    public init(tokenizer: any BenchTokenizing) throws {
        self.tokenizer = tokenizer
        ordinaryIds = (0..<tokenizer.vocabSize).filter { !tokenizer.isSpecial($0) }
        guard ordinaryIds.count > 1 else { throw BenchError("the tokenizer has no ordinary tokens to build prompts from") }
    }

    /// `--dataset-name random`: lengths uniform in [len * (1 - ratio), len * (1 + ratio)].
    public func random(count: Int, inputLength: Int, outputLength: Int, rangeRatio: Double,
                       random: inout BenchRandom) throws -> [BenchPrompt] {
        guard inputLength >= 1, outputLength >= 1 else {
            throw BenchError("--random-input-len and --random-output-len must be at least 1")
        }
        guard rangeRatio >= 0, rangeRatio < 1 else { throw BenchError("--random-range-ratio must be in [0, 1)") }
        func draw(_ length: Int) -> Int {
            let low = max(1, Int((Double(length) * (1 - rangeRatio)).rounded(.down)))
            let high = max(low, Int((Double(length) * (1 + rangeRatio)).rounded(.down)))
            return random.int(in: low...high)
        }
        var prompts: [BenchPrompt] = []
        for index in 0..<count {
            let inputLen = draw(inputLength)
            let outputLen = draw(outputLength)
            // Like vLLM: a random offset, then consecutive ids, so that prompts differ from the first token on.
            let offset = random.int(in: 0...(ordinaryIds.count - 1))
            let ids = (0..<inputLen).map { ordinaryIds[(offset + index + $0) % ordinaryIds.count] }
            let (text, length) = adjust(ids, to: inputLen, random: &random)
            prompts.append(BenchPrompt(text: text, promptLength: length, outputLength: outputLen))
        }
        return prompts
    }

    /// `--dataset-name prefix-repetition`: `numPrefixes` shared prefixes, each followed by random suffixes.
    public func prefixRepetition(count: Int, prefixLength: Int, suffixLength: Int, numPrefixes: Int,
                                 outputLength: Int, random: inout BenchRandom) throws -> [BenchPrompt] {
        guard numPrefixes >= 1, count >= numPrefixes else {
            throw BenchError("--prefix-repetition-num-prefixes must be in 1...--num-prompts")
        }
        guard prefixLength >= 0, suffixLength >= 0, prefixLength + suffixLength >= 1, outputLength >= 1 else {
            throw BenchError("prefix-repetition lengths must be >= 0 (prefix + suffix >= 1) and output length >= 1")
        }
        var prompts: [BenchPrompt] = []
        for group in 0..<numPrefixes {
            let prefix = randomIds(prefixLength, random: &random)
            // The prefix text is fixed once so that every prompt in the group shares it exactly.
            let (prefixText, _) = adjust(prefix, to: prefixLength, random: &random)
            let groupSize = count / numPrefixes + (group < count % numPrefixes ? 1 : 0)
            for _ in 0..<groupSize {
                let (suffixText, _) = adjust(randomIds(suffixLength, random: &random), to: suffixLength, random: &random)
                let text = prefixText + suffixText
                prompts.append(BenchPrompt(text: text, promptLength: tokenizer.encode(text, addSpecialTokens: false).count,
                                           outputLength: outputLength))
            }
        }
        prompts.shuffle(using: &random)
        return prompts
    }

    private func randomIds(_ count: Int, random: inout BenchRandom) -> [Int] {
        (0..<count).map { _ in ordinaryIds[random.int(in: 0...(ordinaryIds.count - 1))] }
    }

    /// Decoding then re-encoding changes the count (merges, split bytes): trim or extend until it matches.
    private func adjust(_ ids: [Int], to target: Int, random: inout BenchRandom) -> (String, Int) {
        guard target > 0 else { return ("", 0) }
        var current = ids
        var text = tokenizer.decode(current, skipSpecialTokens: true)
        for _ in 0..<10 {
            let encoded = tokenizer.encode(text, addSpecialTokens: false)
            if encoded.count == target { return (text, target) }
            current = encoded.count > target ? Array(encoded.prefix(target))
                : encoded + randomIds(target - encoded.count, random: &random)
            text = tokenizer.decode(current, skipSpecialTokens: true)
        }
        return (text, tokenizer.encode(text, addSpecialTokens: false).count)
    }
}
