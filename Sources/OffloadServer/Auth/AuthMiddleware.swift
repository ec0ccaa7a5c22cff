import HTTPTypes
import Hummingbird
import OffloadCore
import OffloadStore

extension HTTPField.Name {
    static let apiKey = Self("X-API-Key")!
    static let lastEventID = Self("Last-Event-ID")!
}

/// Resolves the caller from `X-API-Key`, `Authorization: Bearer <jwt>` or, on SSE routes, `?token=<jwt>`.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = OffloadRequestContext

    let store: any JobStore
    let tokens: TokenIssuer
    let keyCache: KeyCache
    /// Paths that take no credentials.
    let openPaths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if openPaths.contains(request.uri.path) { return try await next(request, context) }
        var context = context
        context.identity = try await identity(for: request)
        return try await next(request, context)
    }

    func identity(for request: Request) async throws -> Identity {
        if let key = request.headers[.apiKey] {
            return try await identity(apiKey: key)
        }
        if let header = request.headers[.authorization] {
            let prefix = "Bearer "
            guard header.hasPrefix(prefix) else {
                throw OffloadError.unauthorized("Authorization must be 'Bearer <token>'")
            }
            return try await tokens.verify(String(header.dropFirst(prefix.count)))
        }
        if request.uri.path.hasPrefix("/api/sse/"), let token = request.uri.queryParameters["token"] {
            let identity = try await tokens.verify(String(token))
            guard identity.jobScope != nil else {
                throw OffloadError.unauthorized("?token= takes only a stream token from POST /api/jobs/{id}/stream-token")
            }
            return identity
        }
        throw OffloadError.unauthorized("send X-API-Key or Authorization: Bearer <token>")
    }

    func identity(apiKey: String) async throws -> Identity {
        let hash = KeySecrets.hash(apiKey)
        guard let key = try await keyCache.key(secretHash: hash, loading: { try await store.key(secretHash: hash) }) else {
            throw OffloadError.unauthorized("unknown API key")
        }
        return Identity(keyId: key.id, role: key.role, tenant: key.tenant, jobScope: nil)
    }
}
