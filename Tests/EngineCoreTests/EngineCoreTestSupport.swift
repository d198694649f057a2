// Helpers shared by the engine-core tests: building engines and running them to completion.

import XCTest
import Models
@testable import EngineCore

struct RunResult {
    var tokens: [String: [Int]] = [:]
    var finish: [String: FinishReason] = [:]
    var stopReasons: [String: Int] = [:]
    var cached: [String: Int] = [:]
    var outputs: [String: [EngineCoreOutput]] = [:]
}

func makeParams(maxTokens: Int? = 8, temperature: Double = 0, seed: UInt64? = nil,
                configure: (inout SamplingParams) -> Void = { _ in }) -> SamplingParams {
    var params = SamplingParams()
    params.maxTokens = maxTokens
    params.temperature = temperature
    params.seed = seed
    configure(&params)
    return params
}

func makeRequest(_ id: String, _ prompt: [Int], _ params: SamplingParams = makeParams(),
                 eos: Set<Int> = [], arrival: Double = 0, priority: Int = 0, salt: String? = nil) -> EngineCoreRequest {
    EngineCoreRequest(requestId: id, promptTokenIds: prompt, params: params, eosTokenIds: eos,
                      arrivalTime: arrival, priority: priority, cacheSalt: salt)
}

/// Steps until nothing is left (bounded, so a scheduler bug fails instead of hanging).
@discardableResult
func runToCompletion(_ core: EngineCore, maxSteps: Int = 10_000, into result: inout RunResult,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Int {
    var steps = 0
    while core.hasUnfinishedRequests {
        steps += 1
        if steps > maxSteps {
            XCTFail("engine did not finish within \(maxSteps) steps", file: file, line: line)
            break
        }
        for output in try core.step() {
            result.tokens[output.requestId, default: []].append(contentsOf: output.newTokenIds)
            result.outputs[output.requestId, default: []].append(output)
            result.cached[output.requestId] = output.numCachedTokens
            if let reason = output.finishReason { result.finish[output.requestId] = reason }
            if let stop = output.stopReason { result.stopReasons[output.requestId] = stop }
        }
    }
    return steps
}

func runAll(_ requests: [EngineCoreRequest], config: SchedulerConfig, model: FakeModel = FakeModel(),
         file: StaticString = #filePath, line: UInt = #line) throws -> (RunResult, EngineCore) {
    let core = try EngineCore(model: model, config: config)
    for request in requests { try core.addRequest(request) }
    var result = RunResult()
    try runToCompletion(core, into: &result, file: file, line: line)
    return (result, core)
}

/// Deterministic prompt of `length` tokens in 1..<vocab (token 0 is kept free for EOS tests).
func makePrompt(_ length: Int, seed: UInt64, vocab: Int = 64) -> [Int] {
    var generator = SeededGenerator(seed: seed)
    return (0..<length).map { _ in 1 + Int(generator.next() % UInt64(vocab - 1)) }
}
