import XCTest
@testable import EngineCore

final class EngineCoreValidationTests: XCTestCase {
    private func message(_ configure: (inout SamplingParams) -> Void, vocab: Int = 100) -> String? {
        var params = SamplingParams()
        configure(&params)
        do {
            try params.validate(vocabSize: vocab)
            return nil
        } catch let error as SamplingParamsError {
            return error.message
        } catch {
            return "unexpected \(error)"
        }
    }

    func testDefaultsMatchVLLM() throws {
        let params = SamplingParams()
        XCTAssertEqual(params.n, 1)
        XCTAssertEqual(params.temperature, 1)
        XCTAssertEqual(params.topP, 1)
        XCTAssertEqual(params.topK, 0)
        XCTAssertEqual(params.maxTokens, 16)
        XCTAssertEqual(params.repetitionPenalty, 1)
        XCTAssertTrue(params.skipSpecialTokens)
        XCTAssertNoThrow(try params.validate(vocabSize: 10))
    }

    func testSamplingParamMessages() {
        XCTAssertEqual(message { $0.n = 0 }, "n must be at least 1, got 0.")
        XCTAssertEqual(message { $0.presencePenalty = 2.5 }, "presence_penalty must be in [-2, 2], got 2.5.")
        XCTAssertEqual(message { $0.frequencyPenalty = -3 }, "frequency_penalty must be in [-2, 2], got -3.0.")
        XCTAssertEqual(message { $0.repetitionPenalty = 0 }, "repetition_penalty must be greater than zero, got 0.0.")
        XCTAssertEqual(message { $0.temperature = -0.5 }, "temperature must be non-negative, got -0.5.")
        XCTAssertEqual(message { $0.temperature = .nan }, "temperature must be a finite number, got nan.")
        XCTAssertEqual(message { $0.topP = 0 }, "top_p must be in (0, 1], got 0.0.")
        XCTAssertEqual(message { $0.topP = 1.5 }, "top_p must be in (0, 1], got 1.5.")
        XCTAssertEqual(message { $0.topK = -2 }, "top_k must be 0 (disable), or at least 1, got -2.")
        XCTAssertNil(message { $0.topK = -1 })
        XCTAssertEqual(message { $0.minP = 1.5 }, "min_p must be in [0, 1], got 1.5.")
        XCTAssertEqual(message { $0.maxTokens = 0 }, "max_tokens must be at least 1, got 0.")
        XCTAssertNil(message { $0.maxTokens = nil })
        XCTAssertEqual(message { $0.minTokens = -1 }, "min_tokens must be greater than or equal to 0, got -1.")
        XCTAssertEqual(message { $0.minTokens = 20 }, "min_tokens must be less than or equal to max_tokens=16, got 20.")
        XCTAssertEqual(message { $0.logprobs = 21 }, "Requested sample logprobs of 21, which is greater than max allowed: 20")
        XCTAssertEqual(message { $0.logprobs = -2 }, "logprobs must be non-negative or -1, got -2.")
        XCTAssertEqual(message { $0.promptLogprobs = -1 }, "Requested prompt logprobs of 100, which is greater than max allowed: 20")
        XCTAssertNil(message({ $0.logprobs = -1 }, vocab: 20))
        XCTAssertEqual(message { $0.stopTokenIds = [5, 100, -1] },
                       "stop_token_ids contain token ids out of vocabulary range: [100, -1]. Vocabulary size: 100")
        XCTAssertEqual(message { $0.logitBias = [250: 1, 3: 2, 100: 1] },
                       "token_id(s) [100, 250] in logit_bias contain out-of-vocab token ids. Vocabulary size: 100")
    }

    func testAddRequestErrors() throws {
        let config = SchedulerConfig(numBlocks: 9, maxModelLen: 40, blockSize: 4, maxWaitingRequests: 2)
        let core = try EngineCore(model: FakeModel(vocabSize: 50), config: config)
        func kindAndMessage(_ request: EngineCoreRequest) -> (EngineCoreError.Kind, String)? {
            do {
                try core.addRequest(request)
                return nil
            } catch let error as EngineCoreError {
                return (error.kind, error.message)
            } catch {
                return nil
            }
        }
        let tooLong = kindAndMessage(makeRequest("a", Array(repeating: 1, count: 30), makeParams(maxTokens: 20)))
        XCTAssertEqual(tooLong?.0, .contextLengthExceeded)
        XCTAssertEqual(tooLong?.1, "This model's maximum context length is 40 tokens. However, you requested 20 output "
            + "tokens and your prompt contains 30 input tokens, for a total of 50 tokens. Please reduce the length of "
            + "the input prompt or the number of requested output tokens.")
        let noRoom = kindAndMessage(makeRequest("a", Array(repeating: 1, count: 40), makeParams(maxTokens: nil)))
        XCTAssertEqual(noRoom?.0, .contextLengthExceeded)
        XCTAssertEqual(noRoom?.1, "This model's maximum context length is 40 tokens. However, your request has 40 "
            + "input tokens. Please reduce the length of the input messages.")
        XCTAssertEqual(kindAndMessage(makeRequest("a", []))?.0, .invalidRequest)
        XCTAssertEqual(kindAndMessage(makeRequest("a", [1, 50]))?.1, "Token id 50 is out of vocabulary (vocab size 50).")
        XCTAssertEqual(kindAndMessage(makeRequest("a", [1], makeParams { $0.topP = 0 }))?.1, "top_p must be in (0, 1], got 0.0.")
        let huge = kindAndMessage(makeRequest("a", Array(repeating: 1, count: 20), makeParams(maxTokens: 20)))
        XCTAssertEqual(huge?.0, .exceedsKVCacheCapacity)

        XCTAssertNil(kindAndMessage(makeRequest("ok1", [1, 2])))
        XCTAssertEqual(kindAndMessage(makeRequest("ok1", [1, 2]))?.1, "Request id ok1 is already in use.")
        XCTAssertNil(kindAndMessage(makeRequest("ok2", [1, 2])))
        XCTAssertEqual(kindAndMessage(makeRequest("ok3", [1, 2]))?.0, .queueFull)
        XCTAssertEqual(core.stats.numWaiting, 2)
    }

    func testConfigAndModelLimits() {
        XCTAssertThrowsError(try EngineCore(model: FakeModel(maxPositions: 64),
                                            config: SchedulerConfig(numBlocks: 8, maxModelLen: 128))) { error in
            XCTAssertEqual((error as? EngineCoreError)?.kind, .invalidConfig)
        }
        XCTAssertThrowsError(try EngineCore(model: FakeModel(), config: SchedulerConfig(numBlocks: 1, maxModelLen: 16)))
        XCTAssertThrowsError(try EngineCore(model: FakeModel(),
            config: SchedulerConfig(numBlocks: 8, maxModelLen: 4096, maxNumBatchedTokens: 2048, enableChunkedPrefill: false)))
    }
}
