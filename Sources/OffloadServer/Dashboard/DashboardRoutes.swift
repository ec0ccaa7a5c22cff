import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The dashboard: `GET /` and its script and style sheet, compiled into the binary (SwiftPM embeds the files
/// of `Dashboard/Assets` as byte arrays; nothing is read from disk or fetched at run time). The page signs in
/// with an API key, keeps only the JWT it gets for it (in sessionStorage) and calls the same `/api` routes as
/// any client, so it sees exactly what its key may see.
struct DashboardRoutes {
    /// One file the dashboard serves.
    struct Asset: Sendable {
        let bytes: [UInt8]
        let contentType: String
        let etag: String

        init(_ bytes: [UInt8], contentType: String) {
            self.bytes = bytes
            self.contentType = contentType
            let digest = SHA256.hash(data: bytes).prefix(12).map { String(format: "%02x", $0) }.joined()
            etag = "\"\(digest)\""
        }
    }

    static let page = Asset(PackageResources.index_html, contentType: "text/html; charset=utf-8")
    static let script = Asset(PackageResources.app_js, contentType: "text/javascript; charset=utf-8")
    static let styles = Asset(PackageResources.app_css, contentType: "text/css; charset=utf-8")

    /// No inline script or style, nothing from another origin, never inside a frame.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
        "form-action 'self'", "base-uri 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// Headers HTTPTypes has no names for.
    static let extraHeaders: [(HTTPField.Name, String)] = [
        (HTTPField.Name("X-Frame-Options")!, "DENY"), (HTTPField.Name("Referrer-Policy")!, "no-referrer"),
        (HTTPField.Name("Cross-Origin-Opener-Policy")!, "same-origin"),
    ]

    func register(on router: Router<OffloadRequestContext>) {
        for (path, asset) in [("/", Self.page), ("/dashboard/app.js", Self.script), ("/dashboard/app.css", Self.styles)] {
            router.get(RouterPath(path)) { request, _ -> Response in Self.response(asset, request: request) }
        }
    }

    /// The asset with the dashboard's security headers; a 304 when the browser already has this version.
    static func response(_ asset: Asset, request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .contentSecurityPolicy: contentSecurityPolicy,
            .xContentTypeOptions: "nosniff",
            .cacheControl: "no-cache",
            .eTag: asset.etag,
        ]
        for (name, value) in Self.extraHeaders { headers[name] = value }
        if request.headers[.ifNoneMatch] == asset.etag {
            return Response(status: .notModified, headers: headers)
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: asset.bytes)))
    }
}
