import HTTPTypes
import Hummingbird

/// CORS for an allow-list of origins (`--cors-origin`, repeatable): a listed origin gets
/// `Access-Control-Allow-Origin` (and its preflight an answer that allows the API's methods and headers); any
/// other origin gets no CORS header at all, so the browser keeps the answer from the page.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    static var allowHeaders: String { "Authorization, Content-Type, X-API-Key, Last-Event-ID, Idempotency-Key" }
    static var exposeHeaders: String { "Retry-After, Content-Type" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = allowedOrigins.contains(origin)
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var response = Response(status: .noContent)
            response.headers[.vary] = "Origin"
            if allowed {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlAllowMethods] = "GET, POST, PUT, DELETE, OPTIONS"
                response.headers[.accessControlAllowHeaders] = Self.allowHeaders
                response.headers[.accessControlMaxAge] = "600"
            }
            return response
        }
        // Outside the error middleware: error answers carry the header too, so a page can read why it was refused.
        var response = try await next(request, context)
        response.headers[.vary] = "Origin"
        if allowed {
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlExposeHeaders] = Self.exposeHeaders
        }
        return response
    }
}
