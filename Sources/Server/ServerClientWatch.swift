import Hummingbird

extension OpenAIServer {
    /// Runs a generation route while watching the client's connection, and cancels the route once the
    /// client has closed it. A non-streaming response is written only when the generation is over, so
    /// no failed write can tell the request that nobody waits for it: without this a disconnected
    /// client's request would run to max_tokens. Cancelling aborts the engine requests and frees their
    /// KV blocks (`collectRun`). The body is read through Hummingbird's watcher (which then keeps
    /// reading the connection for its close); `handle` sees it as the request's body.
    func cancellingWhenClientLeaves(_ request: Request,
                                    _ handle: @escaping @Sendable (Request) async throws -> Response)
        async throws -> Response {
        try await request.body.consumeWithCancellationOnInboundClose { body in
            var request = request
            request.body = body
            return try await handle(request)
        }
    }
}
