import Foundation

/// HTTP-side settings of `vllm serve`.
public struct ServerConfiguration: Sendable {
    /// Names the model answers to; the first is reported in responses and metrics.
    public var servedModelNames: [String]
    /// Accepted API keys for /v1/* (empty: no authentication).
    public var apiKeys: [String]
    /// Larger request bodies are refused with 413.
    public var maxBodyBytes = 32 * 1024 * 1024
    public var limits = RequestLimits()
    public var version: String
    public var logRequests = true
    /// Unix time reported as `created` for the model card.
    public var startTime = Int(Date().timeIntervalSince1970)

    public init(servedModelNames: [String], apiKeys: [String] = [], version: String = "0.1.0") {
        self.servedModelNames = servedModelNames
        self.apiKeys = apiKeys
        self.version = version
    }
}

/// Server lifecycle flags shared by handlers (set when a graceful shutdown starts).
public final class ServerState: @unchecked Sendable {
    private let lock = NSLock()
    private var draining = false

    public init() {}

    public var isDraining: Bool {
        lock.lock()
        defer { lock.unlock() }
        return draining
    }

    public func beginDraining() {
        lock.lock()
        draining = true
        lock.unlock()
    }
}
