import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Turns every thrown error into OpenAI's error JSON (never a bare 500 page).
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(any: error)
            if apiError.status.code >= 500, apiError.status != .serviceUnavailable {
                context.logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            }
            return apiError.response()
        }
    }
}

/// Bearer-key check. Every path needs the key except a few open utility routes (vLLM leaves these open);
/// the decision uses the normalized path so encodings or duplicate slashes cannot sneak past it.
struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [[UInt8]]
    static var openPaths: Set<String> { ["health", "metrics", "version", "tokenize", "detokenize", "ping"] }

    init(keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        if keys.isEmpty || request.method == .options || Self.isOpen(request.uri.path) {
            return try await next(request, context)
        }
        guard let header = request.headers[.authorization], let key = Self.bearerToken(header),
              constantTimeMatchesAny(Array(key.utf8), keys) else {
            return APIError.unauthorized.response()
        }
        return try await next(request, context)
    }

    static func isOpen(_ path: String) -> Bool {
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        return components.count == 1 && openPaths.contains(String(components[0]))
    }

    /// "Bearer <key>" with the scheme compared case-insensitively, like vLLM.
    static func bearerToken(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

/// Compares against every key without early exit, so timing does not reveal matching prefixes.
func constantTimeMatchesAny(_ candidate: [UInt8], _ keys: [[UInt8]]) -> Bool {
    var matched: UInt8 = 0
    for key in keys {
        var difference: UInt8 = candidate.count == key.count ? 0 : 1
        for position in 0..<max(candidate.count, key.count) {
            let a = position < candidate.count ? candidate[position] : 0
            let b = position < key.count ? key[position] : 0
            difference |= a ^ b
        }
        matched |= difference == 0 ? 1 : 0
    }
    return matched != 0
}

/// While draining for shutdown, new API requests are refused with 503 (in-flight ones finish).
struct DrainingMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: ServerState
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response {
        if state.isDraining, request.uri.path != "/health", request.uri.path != "/metrics" {
            var error = APIError.overloaded("The server is shutting down.")
            error.code = "server_shutting_down"
            return error.response()
        }
        return try await next(request, context)
    }
}
