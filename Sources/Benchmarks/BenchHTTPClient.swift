import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Where requests go: http://host[:port][/prefix]. TLS is not supported (benchmarks run against local servers).
public struct BenchEndpoint: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Path prefix from the base URL ("" or e.g. "/proxy"); request paths are appended to it.
    public var pathPrefix: String

    public init(host: String, port: Int, pathPrefix: String = "") {
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
    }

    public init(baseURL: String) throws {
        var rest = Substring(baseURL.trimmingCharacters(in: .whitespaces))
        if rest.hasPrefix("https://") {
            throw BenchError("--base-url \(baseURL): https is not supported; use http:// (the benchmark client has no TLS)")
        }
        if rest.hasPrefix("http://") { rest = rest.dropFirst(7) }
        let authority = rest.prefix { $0 != "/" }
        pathPrefix = String(rest.dropFirst(authority.count))
        while pathPrefix.hasSuffix("/") { pathPrefix.removeLast() }
        if let colon = authority.lastIndex(of: ":"), !authority.hasSuffix("]") {
            host = String(authority[..<colon])
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else {
                throw BenchError("--base-url \(baseURL): the port is not a number in 1...65535")
            }
            self.port = port
        } else {
            host = String(authority)
            port = 80
        }
        host = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        guard !host.isEmpty else { throw BenchError("--base-url \(baseURL) has no host (expected http://HOST:PORT)") }
    }
}

/// Monotonic seconds, shared by every timestamp the benchmark takes.
public enum BenchClock {
    public static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
    }
}

/// A small HTTP/1.1 client on SwiftNIO: keep-alive connections reused across requests, response bodies
/// delivered piece by piece with the time each piece was read off the socket (for TTFT/ITL).
public actor BenchHTTPClient {
    public let endpoint: BenchEndpoint
    private let group: MultiThreadedEventLoopGroup
    private var idle: [BenchHTTPConnection] = []
    private var extraHeaders: [(String, String)]

    public init(endpoint: BenchEndpoint, apiKey: String? = nil) {
        self.endpoint = endpoint
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        extraHeaders = apiKey.map { [("Authorization", "Bearer \($0)")] } ?? []
    }

    /// Sends one request; `onBody(status, bytes, readTime)` sees every body piece as it arrives.
    /// Returns the status code. The connection goes back to the pool only after a complete keep-alive response.
    @discardableResult
    public func send(method: HTTPMethod, path: String, body: Data?,
                     onBody: @escaping @Sendable (Int, [UInt8], Double) throws -> Void) async throws -> Int {
        // A pooled keep-alive connection may have been closed by the server while idle (llama.cpp's
        // server does so): when such a connection yields no response at all, the request is sent
        // once more on a new connection, as HTTP clients do for stale pooled connections.
        let (connection, reused) = try await acquire()
        do {
            return try await send(on: connection, method: method, path: path, body: body, onBody: onBody)
        } catch is StaleConnection where reused {
            let (fresh, _) = try await acquire(fresh: true)
            do {
                return try await send(on: fresh, method: method, path: path, body: body, onBody: onBody)
            } catch let stale as StaleConnection {
                throw stale.underlying
            }
        } catch let stale as StaleConnection {
            throw stale.underlying
        }
    }

    /// The connection failed before any response byte arrived.
    private struct StaleConnection: Error { let underlying: Error }

    private func send(on connection: BenchHTTPConnection, method: HTTPMethod, path: String, body: Data?,
                      onBody: @escaping @Sendable (Int, [UInt8], Double) throws -> Void) async throws -> Int {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: endpoint.pathPrefix + path)
        head.headers.add(name: "Host", value: "\(endpoint.host):\(endpoint.port)")
        head.headers.add(name: "Accept", value: "*/*")
        for (name, value) in extraHeaders { head.headers.add(name: name, value: value) }
        if let body {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: "\(body.count)")
        }
        var status = 0
        var keepAlive = false
        do {
            for try await event in connection.send(head: head, body: body) {
                switch event {
                case .head(let code, let reusable):
                    status = code
                    keepAlive = reusable
                case .body(let bytes, let time):
                    try onBody(status, bytes, time)
                case .end:
                    break
                }
            }
        } catch {
            connection.close()
            if status == 0 { throw StaleConnection(underlying: error) }
            throw error
        }
        if keepAlive && connection.isActive {
            idle.append(connection)
        } else {
            connection.close()
        }
        return status
    }

    /// GET path and return the body as text (for /v1/models and similar small responses).
    public func get(path: String) async throws -> (status: Int, body: String) {
        let collected = BenchByteCollector()
        let status = try await send(method: .GET, path: path, body: nil) { _, bytes, _ in collected.append(bytes) }
        return (status, collected.text)
    }

    public func shutdown() async {
        for connection in idle { connection.close() }
        idle.removeAll()
        try? await group.shutdownGracefully()
    }

    /// A pooled connection (reused: true) when one is alive and `fresh` is false, else a new one.
    private func acquire(fresh: Bool = false) async throws -> (BenchHTTPConnection, reused: Bool) {
        while !fresh, let connection = idle.popLast() {
            if connection.isActive { return (connection, true) }
        }
        let handler = BenchHTTPResponseHandler()
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            throw BenchError("cannot connect to http://\(endpoint.host):\(endpoint.port): \(error)")
        }
        return (BenchHTTPConnection(channel: channel, handler: handler), false)
    }
}

/// Collects a small response body from the event loop thread.
final class BenchByteCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    func append(_ more: [UInt8]) {
        lock.lock()
        bytes += more
        lock.unlock()
    }
    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: bytes, as: UTF8.self)
    }
}

enum BenchHTTPEvent: Sendable {
    case head(status: Int, keepAlive: Bool)
    case body([UInt8], readTime: Double)
    case end
}

/// One TCP connection; one request at a time.
final class BenchHTTPConnection: @unchecked Sendable {
    let channel: Channel
    let handler: BenchHTTPResponseHandler

    init(channel: Channel, handler: BenchHTTPResponseHandler) {
        self.channel = channel
        self.handler = handler
    }

    var isActive: Bool { channel.isActive }

    func close() { channel.close(promise: nil) }

    func send(head: HTTPRequestHead, body: Data?) -> AsyncThrowingStream<BenchHTTPEvent, Error> {
        AsyncThrowingStream { continuation in
            let channel = self.channel
            let handler = self.handler
            channel.eventLoop.execute {
                guard channel.isActive else {
                    continuation.finish(throwing: BenchError("connection closed before the request was sent"))
                    return
                }
                handler.sink = continuation
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                if let body {
                    var buffer = channel.allocator.buffer(capacity: body.count)
                    buffer.writeBytes(body)
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(buffer)), promise: nil)
                }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            }
        }
    }
}

/// Forwards response parts of the request in flight to its stream. Runs on the channel's event loop only.
final class BenchHTTPResponseHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    var sink: AsyncThrowingStream<BenchHTTPEvent, Error>.Continuation?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            sink?.yield(.head(status: Int(head.status.code), keepAlive: head.isKeepAlive))
        case .body(let buffer):
            sink?.yield(.body(Array(buffer.readableBytesView), readTime: BenchClock.now()))
        case .end:
            sink?.yield(.end)
            sink?.finish()
            sink = nil
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        sink?.finish(throwing: BenchError("HTTP error: \(error)"))
        sink = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        sink?.finish(throwing: BenchError("the server closed the connection before the response ended"))
        sink = nil
        context.fireChannelInactive()
    }
}
