import Foundation
import NIOHTTP1

/// Settings of one `vllm bench serve` run.
public struct BenchServeSettings: Sendable {
    public var model: String
    /// /v1/completions or /v1/chat/completions.
    public var endpointPath: String = "/v1/completions"
    public var requestRate: Double = .infinity
    public var burstiness: Double = 1
    public var maxConcurrency: Int?
    public var ignoreEOS = false
    public var seed: UInt64 = 0
    /// Send one request first and stop with its error if it fails (vLLM's initial test run).
    public var testRequestFirst = true

    public init(model: String) { self.model = model }

    var isChat: Bool { endpointPath.hasSuffix("chat/completions") }
}

/// Drives a serve benchmark: requests sent at their arrival times, at most `maxConcurrency` in flight.
public enum BenchServeRunner {
    public struct Outcome: Sendable {
        public var results: [BenchRequestResult]
        /// Wall time from the first send to the last response.
        public var duration: Double
    }

    public static func run(prompts: [BenchPrompt], settings: BenchServeSettings, client: BenchHTTPClient,
                           log: @escaping @Sendable (String) -> Void = { _ in }) async throws -> Outcome {
        guard settings.burstiness > 0 else { throw BenchError("--burstiness must be > 0") }
        if let first = prompts.first, settings.testRequestFirst {
            log("Starting initial single prompt test run...")
            let test = await sendOne(first, settings: settings, client: client, benchmarkStart: BenchClock.now())
            guard test.success else {
                throw BenchError("Initial test run failed - please make sure benchmark arguments are correctly specified. Error: \(test.error)")
            }
            log("Initial test run completed. Starting main benchmark run...")
        }
        var random = BenchRandom(seed: settings.seed)
        let sendTimes = BenchArrivals.sendTimes(count: prompts.count, requestRate: settings.requestRate,
                                                burstiness: settings.burstiness, random: &random)
        let limiter = settings.maxConcurrency.map { BenchConcurrencyLimiter(limit: $0) }
        let start = BenchClock.now()
        var results = [BenchRequestResult?](repeating: nil, count: prompts.count)
        await withTaskGroup(of: (Int, BenchRequestResult).self) { group in
            for (index, prompt) in prompts.enumerated() {
                let wait = start + sendTimes[index] - BenchClock.now()
                if wait > 0 { try? await Task.sleep(nanoseconds: UInt64(wait * 1e9)) }
                group.addTask {
                    await limiter?.acquire()
                    let result = await sendOne(prompt, settings: settings, client: client, benchmarkStart: start)
                    await limiter?.release()
                    return (index, result)
                }
            }
            for await (index, result) in group { results[index] = result }
        }
        let duration = BenchClock.now() - start
        return Outcome(results: results.map { $0 ?? BenchRequestResult(promptLength: 0, error: "not run") },
                       duration: duration)
    }

    /// The OpenAI streaming request body vLLM's benchmark sends (greedy, exact max tokens, usage at the end).
    public static func requestBody(_ prompt: BenchPrompt, settings: BenchServeSettings) throws -> Data {
        var body: [String: Any] = [
            "model": settings.model, "temperature": 0.0, "stream": true,
            "stream_options": ["include_usage": true],
        ]
        if settings.isChat {
            body["messages"] = [["role": "user", "content": prompt.text]]
            body["max_completion_tokens"] = prompt.outputLength
        } else {
            body["prompt"] = prompt.text
        }
        body["max_tokens"] = prompt.outputLength
        if settings.ignoreEOS { body["ignore_eos"] = true }
        return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    }

    /// Sends one streaming request and times its chunks (vLLM's async_request_openai_completions).
    public static func sendOne(_ prompt: BenchPrompt, settings: BenchServeSettings, client: BenchHTTPClient,
                               benchmarkStart: Double) async -> BenchRequestResult {
        let recorder = BenchStreamRecorder(promptLength: prompt.promptLength)
        do {
            let body = try requestBody(prompt, settings: settings)
            recorder.start(at: BenchClock.now(), benchmarkStart: benchmarkStart)
            let status = try await client.send(method: .POST, path: settings.endpointPath, body: body) {
                status, bytes, time in
                try recorder.receive(status: status, bytes: bytes, at: time)
            }
            return recorder.finish(status: status)
        } catch {
            return recorder.fail("\(error)")
        }
    }
}

/// Turns a streamed response into a `BenchRequestResult`. Fed from one connection's reads, in order.
final class BenchStreamRecorder: @unchecked Sendable {
    private var result: BenchRequestResult
    private var parser = BenchSSEParser()
    private var sentAt = 0.0
    private var benchmarkStart = 0.0
    private var lastChunkAt: Double?
    private var errorBody: [UInt8] = []

    init(promptLength: Int) { result = BenchRequestResult(promptLength: promptLength) }

    func start(at time: Double, benchmarkStart: Double) {
        sentAt = time
        self.benchmarkStart = benchmarkStart
        result.startTime = time - benchmarkStart
    }

    func receive(status: Int, bytes: [UInt8], at time: Double) throws {
        guard status == 200 else {
            if errorBody.count < 4096 { errorBody += bytes.prefix(4096 - errorBody.count) }
            return
        }
        for event in parser.feed(bytes) { try handle(event, at: time) }
    }

    private func handle(_ event: String, at time: Double) throws {
        guard let chunk = try BenchStreamChunk.parse(event) else { return }
        if let error = chunk.error { throw BenchError("server error in stream: \(error)") }
        if let tokens = chunk.completionTokens { result.outputTokens = tokens }
        guard chunk.hasChoices else { return }
        if let last = lastChunkAt {
            result.itl.append(time - last)
        } else {
            result.ttft = time - sentAt
        }
        lastChunkAt = time
        result.chunkTimes.append(time - benchmarkStart)
        result.generatedText += chunk.text
    }

    func finish(status: Int) -> BenchRequestResult {
        guard status == 200 else {
            return fail("HTTP \(status): \(String(decoding: errorBody, as: UTF8.self))")
        }
        if let last = parser.finish(), let lastChunkAt { try? handle(last, at: lastChunkAt) }
        guard let lastChunkAt else { return fail("Never received a valid chunk to calculate TTFT.") }
        result.latency = lastChunkAt - sentAt
        result.success = true
        return result
    }

    func fail(_ message: String) -> BenchRequestResult {
        var failed = result
        failed.success = false
        failed.error = message
        return failed
    }
}

/// An async semaphore: at most `limit` holders.
actor BenchConcurrencyLimiter {
    private var available: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(limit: Int) { available = max(1, limit) }

    func acquire() async {
        if available > 0 {
            available -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func release() {
        if waiters.isEmpty {
            available += 1
        } else {
            waiters.removeFirst().resume()
        }
    }
}
