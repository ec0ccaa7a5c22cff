import AsyncHTTPClient
import Foundation
@testable import OffloadClient
import OffloadCore
import OffloadServer
import Testing

@Suite("OffloadClient against a real server")
struct ClientTests {
    @Test("the client exchanges its API key for a JWT once and renews it 5 minutes before it expires")
    func tokenRenewal() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.tokenLifetime = 302
        }) { server in
            let client = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
            let job = try await client.submit("noop", data: 1)
            let first = try #require(await client.tokens.current)
            #expect(try await client.job(job.jobId).jobId == job.jobId)
            #expect(await client.tokens.current == first)
            // 302 s tokens have less than 300 s left after 2 s: the next call renews first.
            try await Task.sleep(for: .milliseconds(2_100))
            #expect(try await client.job(job.jobId).status == .pending)
            let second = try #require(await client.tokens.current)
            #expect(second != first)
        }
    }

    @Test("batch submit, listing with a cursor, retry and cancel go through the client")
    func operations() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let client = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
            let jobs = try await client.submitBatch((1...3).map { ["processingType": "noop", "data": .int($0)] })
            #expect(jobs.count == 3)
            let page = try await client.jobs(limit: 2)
            #expect(page.jobs.map(\.jobId) == [jobs[2].jobId, jobs[1].jobId])
            let rest = try await client.jobs(cursor: page.nextCursor, limit: 2)
            #expect(rest.jobs.map(\.jobId) == [jobs[0].jobId])
            #expect(try await client.cancel(jobs[0].jobId).status == .cancelled)
            #expect(try await client.retry(jobs[0].jobId).status == .pending)
            await #expect(throws: OffloadClientError.self) { try await client.job("job_missing") }
        }
    }

    @Test("calls safe to repeat are retried with backoff; a submit without an idempotency key never is")
    func retries() async throws {
        // Nothing listens on this port: every connection is refused at once (and AsyncHTTPClient is told not
        // to retry a refused connection itself, so the attempts counted here are the client's).
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = OffloadClient(
            baseURL: "http://127.0.0.1:\(try freeLoopbackPort())", apiKey: "unused-key-0123456789abcdef", httpClient: http)
        let submitStart = ContinuousClock.now
        await #expect(throws: (any Error).self) { try await client.submit("noop", data: 1) }
        #expect(ContinuousClock.now - submitStart < .milliseconds(300))
        let readStart = ContinuousClock.now
        await #expect(throws: (any Error).self) { try await client.job("job_x") }
        // Four attempts, 100 + 200 + 400 ms apart.
        #expect(ContinuousClock.now - readStart >= .milliseconds(700))
        let keyedStart = ContinuousClock.now
        await #expect(throws: (any Error).self) {
            try await client.submit("noop", data: 1, options: ["idempotencyKey": "order-1"])
        }
        #expect(ContinuousClock.now - keyedStart >= .milliseconds(700))
        try await http.shutdown()
    }
}
