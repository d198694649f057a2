import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A tiny OpenAI-like streaming server on 127.0.0.1 for client tests: POST /v1/completions streams
/// `max_tokens` chunks 2 ms apart, then usage and [DONE]; the prompt "fail" gets a 400; GET /v1/models names
/// "fake-model". Counts TCP connections so tests can check keep-alive reuse. With `dropsReusedConnections`
/// a connection that already served a request is closed without an answer when the next one arrives,
/// as a server closing idle keep-alive connections does when a request races with the close.
final class BenchFakeServer: @unchecked Sendable {
    let dropsReusedConnections: Bool

    init(dropsReusedConnections: Bool = false) {
        self.dropsReusedConnections = dropsReusedConnections
    }

    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let lock = NSLock()
    private var connections = 0

    var connectionCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return connections
    }

    var port: Int { channel?.localAddress?.port ?? 0 }

    func start() throws {
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                self.lock.lock()
                self.connections += 1
                self.lock.unlock()
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(BenchFakeServerHandler(dropsReusedConnections: self.dropsReusedConnections))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

private final class BenchFakeServerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private let dropsReusedConnections: Bool
    private var served = 0

    init(dropsReusedConnections: Bool) {
        self.dropsReusedConnections = dropsReusedConnections
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
        case .body(let buffer):
            body += buffer.readableBytesView
        case .end:
            guard let head else { return }
            if dropsReusedConnections && served > 0 {
                context.close(promise: nil)
                return
            }
            served += 1
            respond(context: context, head: head)
        }
    }

    private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
        if head.method == .GET, head.uri == "/v1/models" {
            sendWhole(context: context, status: .ok, text: #"{"object":"list","data":[{"id":"fake-model"}]}"#)
            return
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        guard head.method == .POST, head.uri == "/v1/completions", let maxTokens = json["max_tokens"] as? Int,
              json["prompt"] as? String != "fail" else {
            sendWhole(context: context, status: .badRequest, text: #"{"error":{"message":"fake rejection"}}"#)
            return
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        headers.add(name: "Transfer-Encoding", value: "chunked")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok,
                                                                      headers: headers))), promise: nil)
        streamTokens(context: context, remaining: maxTokens, total: maxTokens)
    }

    private func streamTokens(context: ChannelHandlerContext, remaining: Int, total: Int) {
        guard remaining > 0 else {
            // Usage and [DONE] in one write, split mid-event so the client must reassemble it.
            let tail = "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":\(total)}}\n\ndata: [DO"
            write(context: context, tail)
            write(context: context, "NE]\n\n")
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        write(context: context, "data: {\"choices\":[{\"index\":0,\"text\":\"tok\(total - remaining) \"}]}\n\n")
        context.eventLoop.scheduleTask(in: .milliseconds(2)) {
            self.streamTokens(context: context, remaining: remaining - 1, total: total)
        }
    }

    private func write(context: ChannelHandlerContext, _ text: String) {
        var buffer = context.channel.allocator.buffer(capacity: text.utf8.count)
        buffer.writeString(text)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    private func sendWhole(context: ChannelHandlerContext, status: HTTPResponseStatus, text: String) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: "\(text.utf8.count)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
        write(context: context, text)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
