import Engine
import EngineCore
import Models
import Tokenizer
import Foundation
import XCTest

/// A byte-level tokenizer (GPT-2 byte alphabet, no merges): id i < 256 is byte i, 256 is <|endoftext|>.
enum FakeTokenizer {
    static let eosId = 256
    static let vocabSize = 257

    static func make() throws -> Tokenizer {
        var data = GGUFTokenizerData(model: "gpt2", tokens: byteAlphabet() + ["<|endoftext|>"])
        data.pre = "gpt-2"
        data.merges = []
        data.tokenTypes = Array(repeating: 1, count: 256) + [3]
        data.eosTokenId = eosId
        data.bosTokenId = eosId
        data.addBosToken = false
        return try Tokenizer(gguf: data)
    }

    /// GPT-2's printable stand-ins for the 256 byte values.
    static func byteAlphabet() -> [String] {
        var bytes = Array(33...126) + Array(161...172) + Array(174...255)
        var scalars = bytes
        var extra = 0
        for byte in 0..<256 where !bytes.contains(byte) {
            bytes.append(byte)
            scalars.append(256 + extra)
            extra += 1
        }
        var tokens = Array(repeating: "", count: 256)
        for (byte, scalar) in zip(bytes, scalars) {
            tokens[byte] = String(Character(Unicode.Scalar(UInt32(scalar))!))
        }
        return tokens
    }

    static func ids(_ text: String) -> [Int] { text.utf8.map { Int($0) } }
}

/// A model whose next token is a pure function of the sequence it reads back from its own paged
/// "KV cache" (token ids stored per slot). Wrong block tables, lost prefix-cache blocks or batch mixing
/// therefore change its output, which is what the engine tests look for.
final class FakeModel: CausalLanguageModel {
    enum Behavior {
        /// Next token = script[position % script.count] (position of the token being predicted).
        case script([Int])
        /// Next token from a hash of the whole sequence; EOS when hash % eosModulo == 0 (0: never).
        case hash(eosModulo: UInt64)
    }

    let spec: ModelSpec
    let behavior: Behavior
    let bytesPerBlockPerToken: Int
    private var slots: [Int32] = []
    private var blockSize = 16
    private(set) var forwardCalls = 0
    /// Slows every forward down, for tests that need requests to still be running a moment later.
    var forwardDelaySeconds: Double = 0

    init(behavior: Behavior, maxPositionEmbeddings: Int = 512, bytesPerToken: Int = 64) {
        self.behavior = behavior
        bytesPerBlockPerToken = bytesPerToken
        spec = ModelSpec(architecture: "FakeForCausalLM", vocabSize: FakeTokenizer.vocabSize,
                         maxPositionEmbeddings: maxPositionEmbeddings, numLayers: 1, numKVHeads: 1, headDim: 8)
    }

    func kvCacheBytesPerBlock(blockSize: Int) -> Int { blockSize * bytesPerBlockPerToken }

    func allocateKVCache(numBlocks: Int, blockSize: Int) throws {
        self.blockSize = blockSize
        slots = Array(repeating: -1, count: numBlocks * blockSize)
    }

    func forward(_ batch: ForwardBatch, logits: UnsafeMutableBufferPointer<Float>) throws {
        forwardCalls += 1
        if forwardDelaySeconds > 0 { Thread.sleep(forTimeInterval: forwardDelaySeconds) }
        for row in 0..<batch.numTokens {
            slots[Int(batch.slotMapping[row])] = batch.tokenIds[row]
        }
        let vocab = spec.vocabSize
        for (outRow, logitRow) in batch.logitRows.enumerated() {
            let row = Int(logitRow)
            var seq = 0
            while Int(batch.queryStart[seq + 1]) <= row { seq += 1 }
            let position = Int(batch.positions[row])
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for pos in 0...position {
                let block = Int(batch.blockTables[seq * batch.maxBlocksPerSeq + pos / blockSize])
                let token = slots[block * blockSize + pos % blockSize]
                hash = (hash ^ UInt64(bitPattern: Int64(token))) &* 0x100_0000_01b3
            }
            let next: Int
            switch behavior {
            case .script(let script):
                next = script[(position + 1) % script.count]
            case .hash(let eosModulo):
                if eosModulo > 0 && position > 2 && hash % eosModulo == 0 {
                    next = FakeTokenizer.eosId
                } else {
                    next = 97 + Int((hash >> 17) % 26)
                }
            }
            let base = outRow * vocab
            for v in 0..<vocab {
                let noise = ((hash ^ UInt64(v) &* 0x9E37_79B9_7F4A_7C15) >> 40) % 1000
                logits[base + v] = Float(noise) / 500
            }
            logits[base + next] += 6
        }
    }
}

enum EngineTestSupport {
    static func config(kvTokens: Int = 4096, blockSize: Int = 16, maxNumBatchedTokens: Int = 2048,
                       maxNumSeqs: Int = 256) -> EngineConfig {
        var config = EngineConfig()
        config.blockSize = blockSize
        config.kvCacheMemoryBytes = kvTokens * 64
        config.maxNumBatchedTokens = maxNumBatchedTokens
        config.maxNumSeqs = maxNumSeqs
        return config
    }

    static func engine(_ behavior: FakeModel.Behavior, config: EngineConfig = config(),
                       maxPositionEmbeddings: Int = 512, forwardDelay: Double = 0) throws -> LLMEngine {
        let model = FakeModel(behavior: behavior, maxPositionEmbeddings: maxPositionEmbeddings)
        model.forwardDelaySeconds = forwardDelay
        let bundle = ModelBundle(model: model, tokenizer: try FakeTokenizer.make(), modelName: "fake",
                                 eosTokenIds: [FakeTokenizer.eosId])
        return try LLMEngine(bundle: bundle, config: config)
    }

    static let scriptText = "the quick brown fox jumps over the lazy dog. "
    static var script: [Int] { FakeTokenizer.ids(scriptText) }

    /// What `.script` generates after a prompt of `promptLength` tokens.
    static func scripted(promptLength: Int, count: Int) -> String {
        let chars = Array(scriptText)
        return String((0..<count).map { chars[(promptLength + $0) % chars.count] })
    }

    static func greedy(maxTokens: Int?) -> SamplingParams {
        var params = SamplingParams()
        params.temperature = 0
        params.maxTokens = maxTokens
        return params
    }

    /// Nucleus sampling from the request's own generator.
    static func seeded(_ seed: UInt64, temperature: Double, topP: Double, maxTokens: Int) -> SamplingParams {
        var params = SamplingParams()
        params.temperature = temperature
        params.topP = topP
        params.seed = seed
        params.maxTokens = maxTokens
        return params
    }

    /// Steps until everything finished; returns the final output per request.
    static func runToCompletion(_ engine: LLMEngine, maxSteps: Int = 10_000) throws -> [String: RequestOutput] {
        var finals: [String: RequestOutput] = [:]
        var steps = 0
        while engine.hasUnfinishedRequests {
            steps += 1
            if steps > maxSteps { XCTFail("engine did not finish in \(maxSteps) steps"); break }
            for output in try engine.step() where output.finished {
                finals[output.requestId] = output
            }
        }
        return finals
    }
}
