import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs the HTTP server until SIGTERM/SIGINT, then drains: stops accepting connections, answers 503 to new
/// requests on open connections, lets in-flight requests finish for up to `drainTimeout`, then cancels them
/// (which aborts their engine requests) and returns.
public enum ServerRunner {
    public static func run(_ server: OpenAIServer, host: String, port: Int, drainTimeout: Duration,
                           logger: Logger, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let app = Application(
            router: server.makeRouter(),
            server: .http1(additionalChannelHandlers: [ClientHangupDetector()]),
            configuration: .init(address: .hostname(host, port: port), serverName: "vllm"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? port) },
            logger: logger)
        let drainWatcher = DrainWatcher(state: server.state, logger: logger)
        // Services shut down in reverse order: the watcher first (new requests get 503), then the HTTP server
        // (stops accepting, waits for in-flight responses up to the maximum duration, then cancels them).
        var configuration = ServiceGroupConfiguration(
            services: [.init(service: app),
                       .init(service: drainWatcher, successTerminationBehavior: .ignore)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            cancellationSignals: [],
            logger: logger)
        configuration.maximumGracefulShutdownDuration = drainTimeout
        try await ServiceGroup(configuration: configuration).run()
    }
}

/// Flips the server into draining mode as soon as a graceful shutdown begins.
struct DrainWatcher: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        logger.info("Shutdown requested: draining in-flight requests.")
    }
}
