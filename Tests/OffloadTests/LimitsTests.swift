import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadCore
@testable import OffloadServer
import Testing

@Suite("Limits: rate limit, CORS, SSE streams per key")
struct LimitsTests {
    @Test("a token bucket allows the burst, then one request per 1/rate seconds")
    func tokenBucket() {
        let limiter = RateLimiter(rate: 2, burst: 3)
        let t0 = ContinuousClock.now
        #expect((0..<3).map { _ in limiter.take("k", now: t0) } == [nil, nil, nil])
        #expect(limiter.take("k", now: t0) == 1)
        #expect(limiter.take("other", now: t0) == nil)
        #expect(limiter.take("k", now: t0 + .milliseconds(400)) == 1)
        #expect(limiter.take("k", now: t0 + .milliseconds(600)) == nil)
        #expect(limiter.take("k", now: t0 + .milliseconds(600)) == 1)
    }

    @Test("past the rate a client key gets 429 with Retry-After; admin and worker keys are not limited")
    func rateLimit() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.rateLimit = 0.5
            $0.rateBurst = 3
        }) { server in
            let client = try await server.makeKey(role: "client", tenant: "acme")
            for _ in 0..<3 { #expect(try await server.call("GET", "/api/jobs", key: client).status == 200) }
            let refused = try await server.call("GET", "/api/jobs", key: client)
            #expect(refused.status == 429)
            #expect(refused.headers.first(name: "Retry-After") == "2")
            #expect(refused.json["error"]?["code"] == "rate_limited")
            for _ in 0..<10 { #expect(try await server.call("GET", "/api/jobs").status == 200) }
        }
    }

    @Test("CORS: a listed origin gets Access-Control-Allow-Origin and its preflight answered; another gets none")
    func cors() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.corsOrigins = ["https://app.example.com"]
        }) { server in
            let preflight = try await server.call("OPTIONS", "/api/jobs", key: nil, headers: [
                ("Origin", "https://app.example.com"), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "authorization, content-type"),
            ])
            #expect(preflight.status == 204)
            #expect(preflight.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
            #expect(preflight.headers.first(name: "Access-Control-Allow-Methods")?.contains("POST") == true)
            #expect(preflight.headers.first(name: "Access-Control-Allow-Headers")?.contains("Authorization") == true)
            let allowed = try await server.call("GET", "/api/jobs", headers: [("Origin", "https://app.example.com")])
            #expect(allowed.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
            let refused = try await server.call("GET", "/api/jobs", key: nil, headers: [("Origin", "https://app.example.com")])
            #expect(refused.status == 401)
            #expect(refused.headers.first(name: "Access-Control-Allow-Origin") == "https://app.example.com")
            let other = try await server.call("GET", "/api/jobs", headers: [("Origin", "https://evil.example.com")])
            #expect(other.headers.first(name: "Access-Control-Allow-Origin") == nil)
            let otherPreflight = try await server.call("OPTIONS", "/api/jobs", key: nil, headers: [
                ("Origin", "https://evil.example.com"), ("Access-Control-Request-Method", "POST"),
            ])
            #expect(otherPreflight.headers.first(name: "Access-Control-Allow-Origin") == nil)
        }
    }

    @Test("a key may hold only so many SSE streams open; a closed one frees its place")
    func streamsPerKey() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.maxStreamsPerKey = 1
        }) { server in
            let id = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            var request = HTTPClientRequest(url: server.baseURL + "/api/sse/job-progress/\(id)")
            request.headers.add(name: "X-API-Key", value: TestServer.adminKey)
            let first = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            #expect(first.status == .ok)
            var body = first.body.makeAsyncIterator()
            _ = try await body.next()
            let second = try await server.call("GET", "/api/sse/job-progress/\(id)")
            #expect(second.status == 429)
            // The job ends, its stream closes, and the place is free again.
            _ = try await server.call("POST", "/api/jobs/\(id)/cancel")
            while try await body.next() != nil {}
            let deadline = ContinuousClock.now + .seconds(5)
            var third = try await server.call("GET", "/api/sse/job-progress/\(id)")
            while third.status == 429 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
                third = try await server.call("GET", "/api/sse/job-progress/\(id)")
            }
            #expect(third.status == 200)
        }
    }
}
