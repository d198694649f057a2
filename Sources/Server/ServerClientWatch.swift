import Foundation
import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's core storage plus the client's connection, so a
/// non-streaming request can notice that its client has gone (`cancellingWhenClientLeaves`).
public struct ServerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// One per connection, after the HTTP codec: remembers that the client closed its side. The server
/// allows remote half-closure, so a client hanging up is an `inputClosed` event on a channel that
/// stays active, not a closed channel; NIO keeps reading while a handler runs, so the event arrives
/// while a non-streaming request is still generating.
final class ClientHangupDetector: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny

    private let lock = NSLock()
    private var gone = false

    var clientGone: Bool {
        lock.lock()
        defer { lock.unlock() }
        return gone
    }

    private func markGone() {
        lock.lock()
        gone = true
        lock.unlock()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, case .inputClosed = event { markGone() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        markGone()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        markGone()
        context.fireErrorCaught(error)
    }
}

/// How often a non-streaming request checks that its client is still there.
let clientHangupPollNanoseconds: UInt64 = 50_000_000

/// Runs `operation` and cancels it once the client has hung up. A non-streaming response is written
/// only when the generation is over, so no failed write can tell the request that nobody waits for
/// it: without this a disconnected client's request would run to max_tokens. Cancelling aborts the
/// engine requests and frees their KV blocks (`collectRun`). A connection without the detector (the
/// in-process test client) runs the operation unwatched.
func cancellingWhenClientLeaves<Value: Sendable>(_ channel: any Channel,
                                                 _ operation: @escaping @Sendable () async throws -> Value)
    async throws -> Value {
    guard let detector = try? await channel.pipeline.handler(type: ClientHangupDetector.self).get() else {
        return try await operation()
    }
    return try await withThrowingTaskGroup(of: Value?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            while !detector.clientGone { try await Task.sleep(nanoseconds: clientHangupPollNanoseconds) }
            return nil
        }
        defer { group.cancelAll() }
        while let result = try await group.next() {
            if let value = result { return value }
            throw CancellationError()
        }
        throw CancellationError()
    }
}
