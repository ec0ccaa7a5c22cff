import Hummingbird
import OffloadCore
import OffloadStore

/// `POST /api/auth/token`: an API key (in `X-API-Key`) exchanged for a JWT.
struct AuthRoutes {
    let auth: AuthMiddleware
    let tokens: TokenIssuer
    let lifetime: Double

    struct TokenResponse: Encodable {
        var token: String
        var expiresIn: Int
    }

    func register(on router: Router<OffloadRequestContext>) {
        router.post("/api/auth/token", use: issueToken)
    }

    /// `POST /api/auth/token`.
    @Sendable func issueToken(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        guard let key = request.headers[.apiKey] else {
            throw OffloadError.unauthorized("send the API key in the X-API-Key header")
        }
        let identity = try await auth.identity(apiKey: key)
        let token = try await tokens.issue(for: identity, lifetime: lifetime)
        return try HTTPJSON.response(TokenResponse(token: token, expiresIn: Int(lifetime)))
    }
}
