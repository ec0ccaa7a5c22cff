import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadCore

/// The client's JWT: exchanged for the API key on first use (`POST /api/auth/token`) and exchanged again
/// `refreshMargin` before it expires, so the API key crosses the network once per token, not per call.
actor TokenSource {
    private let baseURL: String
    private let apiKey: String
    private let http: HTTPClient
    private let refreshMargin: TimeInterval
    private var token: (value: String, expiresAt: Date)?
    private var exchanging: Task<(value: String, expiresAt: Date), any Error>?

    init(baseURL: String, apiKey: String, http: HTTPClient, refreshMargin: TimeInterval) {
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.http = http
        self.refreshMargin = refreshMargin
    }

    /// The token now held, if any (for tests and diagnostics).
    var current: String? { token?.value }

    /// A token valid for at least `refreshMargin` more; `renew` forces a new one (the server refused the old).
    func bearer(renew: Bool = false) async throws -> String {
        if !renew, let token, token.expiresAt.timeIntervalSinceNow > refreshMargin { return token.value }
        if let exchanging { return try await exchanging.value.value }
        let task = Task { try await exchange() }
        exchanging = task
        defer { exchanging = nil }
        let fresh = try await task.value
        token = fresh
        return fresh.value
    }

    private func exchange() async throws -> (value: String, expiresAt: Date) {
        var request = HTTPClientRequest(url: baseURL + "/api/auth/token")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: apiKey)
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status.code == 200 else {
            throw OffloadClientError.http(status: Int(response.status.code), body: String(buffer: body))
        }
        let json = try JSONValue.parse(Array(body.readableBytesView))
        guard let value = json["token"]?.stringValue, let seconds = json["expiresIn"]?.intValue else {
            throw OffloadClientError.http(status: 200, body: "the token answer had no token")
        }
        return (value, Date().addingTimeInterval(TimeInterval(seconds)))
    }
}
