import Hummingbird
import NIOCore
import OffloadCore
import OffloadStore

/// The routes that need no key: `GET /health` (the process answers), `GET /ready` (the store answers too),
/// `GET /metrics` (Prometheus) and `GET /openapi.json` (the API's contract).
struct OpenRoutes {
    let store: any JobStore
    let metrics: ServerMetrics

    /// The paths the auth middleware lets through without a key (`/api/auth/token` takes the key itself).
    static let paths: Set<String> = ["/health", "/ready", "/metrics", "/openapi.json", "/api/auth/token"]

    func register(on router: Router<OffloadRequestContext>) {
        router.get("/health", use: health)
        router.get("/ready", use: ready)
        router.get("/metrics", use: scrape)
        router.get("/openapi.json", use: openAPI)
    }

    /// `GET /health`.
    @Sendable func health(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try HTTPJSON.response(["status": "ok"])
    }

    /// `GET /ready`.
    @Sendable func ready(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await store.ping()
        return try HTTPJSON.response(["status": "ready"])
    }

    /// `GET /metrics`.
    @Sendable func scrape(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try await metrics.scrape())))
    }

    /// `GET /openapi.json`.
    @Sendable func openAPI(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
    }
}
