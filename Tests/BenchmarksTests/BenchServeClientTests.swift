@testable import Benchmarks
import XCTest

/// The HTTP client and runner end to end against `BenchFakeServer` on 127.0.0.1.
final class BenchServeClientTests: XCTestCase {
    private var server: BenchFakeServer!
    private var client: BenchHTTPClient!

    override func setUpWithError() throws {
        server = BenchFakeServer()
        try server.start()
        client = BenchHTTPClient(endpoint: BenchEndpoint(host: "127.0.0.1", port: server.port))
    }

    override func tearDown() async throws {
        await client.shutdown()
        server.stop()
    }

    func testStreamsAreTimedAndConnectionsReused() async throws {
        let prompts = (0..<6).map { BenchPrompt(text: "p\($0)", promptLength: 4, outputLength: 5) }
        var settings = BenchServeSettings(model: "fake-model")
        settings.maxConcurrency = 2
        let outcome = try await BenchServeRunner.run(prompts: prompts, settings: settings, client: client)
        XCTAssertEqual(outcome.results.count, 6)
        for result in outcome.results {
            XCTAssertTrue(result.success, result.error)
            XCTAssertEqual(result.outputTokens, 5)
            XCTAssertEqual(result.generatedText, "tok0 tok1 tok2 tok3 tok4 ")
            XCTAssertEqual(result.itl.count, 4)
            XCTAssertGreaterThan(result.ttft, 0)
            XCTAssertGreaterThanOrEqual(result.latency, result.ttft + result.itl.reduce(0, +) - 1e-9)
        }
        let metrics = BenchServeMetrics(results: outcome.results, duration: outcome.duration, percentiles: [99]) {
            $0.count
        }
        XCTAssertEqual(metrics.completed, 6)
        XCTAssertEqual(metrics.totalOutput, 30)
        XCTAssertLessThanOrEqual(metrics.peakConcurrentRequests, 2)
        // The test request's connection is reused; the concurrency cap means at most two are ever open.
        XCTAssertLessThanOrEqual(server.connectionCount, 2)
    }

    /// llama.cpp's server closes idle keep-alive connections: a request sent on such a pooled connection
    /// gets no answer and must be sent again on a new connection instead of counting as a failure.
    func testRequestOnAConnectionClosedByTheServerIsSentAgain() async throws {
        let dropping = BenchFakeServer(dropsReusedConnections: true)
        try dropping.start()
        let droppingClient = BenchHTTPClient(endpoint: BenchEndpoint(host: "127.0.0.1", port: dropping.port))
        defer { dropping.stop() }
        let prompts = (0..<3).map { BenchPrompt(text: "p\($0)", promptLength: 4, outputLength: 3) }
        let outcome = try await BenchServeRunner.run(prompts: prompts, settings: BenchServeSettings(model: "fake-model"),
                                                     client: droppingClient)
        await droppingClient.shutdown()
        XCTAssertEqual(outcome.results.filter(\.success).count, 3, outcome.results.map(\.error).joined(separator: "; "))
        // The test request and three benchmark requests each needed a connection of their own.
        XCTAssertEqual(dropping.connectionCount, 4)
    }

    func testRejectedRequestsAreFailuresWithTheServerMessage() async throws {
        var settings = BenchServeSettings(model: "fake-model")
        settings.testRequestFirst = false
        let prompts = [BenchPrompt(text: "fail", promptLength: 1, outputLength: 3),
                       BenchPrompt(text: "ok", promptLength: 1, outputLength: 3)]
        let outcome = try await BenchServeRunner.run(prompts: prompts, settings: settings, client: client)
        XCTAssertFalse(outcome.results[0].success)
        XCTAssertTrue(outcome.results[0].error.contains("HTTP 400"), outcome.results[0].error)
        XCTAssertTrue(outcome.results[0].error.contains("fake rejection"))
        XCTAssertTrue(outcome.results[1].success, outcome.results[1].error)
    }

    func testFailingTestRequestStopsTheRun() async throws {
        let prompts = [BenchPrompt(text: "fail", promptLength: 1, outputLength: 3)]
        do {
            _ = try await BenchServeRunner.run(prompts: prompts, settings: BenchServeSettings(model: "m"), client: client)
            XCTFail("expected the initial test request to fail")
        } catch {
            XCTAssertTrue("\(error)".contains("Initial test run failed"), "\(error)")
        }
    }

    func testGetAndUnreachableServer() async throws {
        let (status, body) = try await client.get(path: "/v1/models")
        XCTAssertEqual(status, 200)
        XCTAssertTrue(body.contains("fake-model"))
        let nowhere = BenchHTTPClient(endpoint: BenchEndpoint(host: "127.0.0.1", port: 1))
        do {
            _ = try await nowhere.get(path: "/v1/models")
            XCTFail("expected a connection error")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot connect"), "\(error)")
        }
        await nowhere.shutdown()
    }

    func testRequestRateSpreadsSends() async throws {
        let prompts = (0..<4).map { BenchPrompt(text: "p\($0)", promptLength: 1, outputLength: 1) }
        var settings = BenchServeSettings(model: "fake-model")
        settings.requestRate = 1000
        settings.testRequestFirst = false
        let outcome = try await BenchServeRunner.run(prompts: prompts, settings: settings, client: client)
        XCTAssertTrue(outcome.results.allSatisfy(\.success))
        var random = BenchRandom(seed: settings.seed)
        let lastSend = BenchArrivals.sendTimes(count: 4, requestRate: 1000, burstiness: 1, random: &random)[3]
        XCTAssertGreaterThan(lastSend, 0)
        XCTAssertGreaterThanOrEqual(outcome.results.map(\.startTime).max() ?? 0, lastSend)
    }
}
