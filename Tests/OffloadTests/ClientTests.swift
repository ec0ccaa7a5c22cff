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
        // The proxy accepts each connection and closes it at once (nothing listens behind it), so that the
        // attempts are counted; AsyncHTTPClient is told not to retry a failed connection itself.
        let proxy = try await CuttingProxy(targetPort: try freeLoopbackPort())
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = OffloadClient(
            baseURL: "http://127.0.0.1:\(proxy.port)", apiKey: "unused-key-0123456789abcdef", httpClient: http)
        await #expect(throws: (any Error).self) { try await client.submit("noop", data: 1) }
        #expect(proxy.accepted == 1, "a submit without an idempotency key is tried once")
        let readStart = ContinuousClock.now
        await #expect(throws: (any Error).self) { try await client.job("job_x") }
        // Four attempts, 100 + 200 + 400 ms apart.
        #expect(proxy.accepted == 1 + 4)
        #expect(ContinuousClock.now - readStart >= .milliseconds(700))
        await #expect(throws: (any Error).self) {
            try await client.submit("noop", data: 1, options: ["idempotencyKey": "order-1"])
        }
        #expect(proxy.accepted == 1 + 4 + 4)
        try await proxy.close()
        try await http.shutdown()
    }

    @Test("watch resumes a stream cut mid-way with Last-Event-ID: every event once, in order, none missing")
    func resumeAfterCut() async throws {
        try await TestServer.with(configure: { $0.workers = 1 }) { server in
            let port = try #require(Int(server.baseURL.split(separator: ":").last ?? ""))
            let proxy = try await CuttingProxy(targetPort: port)
            let client = OffloadClient(baseURL: "http://127.0.0.1:\(proxy.port)", apiKey: TestServer.adminKey)
            // 12 items, 100 ms each: a progress event per item, over about 1.2 s.
            let items = JSONValue.array((1...12).map { ["id": .int(Int64($0)), "name": .string("item\($0)")] })
            let job = try await client.submit("type1", data: items)
            var seqs: [Int64] = []
            var cuts = 0
            for try await update in client.watch(job.jobId, resumeFrom: 0) {
                guard case .event(let seq, _, _) = update else { continue }
                seqs.append(seq)
                // Cut the connection after the 4th and the 8th event: the client must come back twice.
                if seqs.count == 4 || seqs.count == 8 {
                    cuts += 1
                    proxy.cutAll()
                }
            }
            try await proxy.close()
            let stored = try await server.call("GET", "/api/jobs/\(job.jobId)/events").json["events"]?.arrayValue ?? []
            #expect(cuts == 2)
            #expect(seqs == stored.compactMap { $0["seq"]?.intValue })
            #expect(seqs == Array(1...Int64(seqs.count)))
            #expect(seqs.count >= 15)
        }
    }

    @Test("watch from seq 0 of a job that has already ended replays its whole log, not only the snapshot")
    func replayFinished() async throws {
        try await TestServer.with(configure: { $0.workers = 1 }) { server in
            let client = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
            let items = JSONValue.array((1...3).map { ["id": .int(Int64($0)), "name": .string("item\($0)")] })
            let job = try await client.submitAndWait("type1", data: items, seconds: 30)
            #expect(job.status == .completed)
            var seqs: [Int64] = []
            for try await update in client.watch(job.jobId, resumeFrom: 0) {
                if case .event(let seq, _, _) = update { seqs.append(seq) }
            }
            let stored = try await server.call("GET", "/api/jobs/\(job.jobId)/events").json["events"]?.arrayValue ?? []
            #expect(seqs == stored.compactMap { $0["seq"]?.intValue })
            #expect(seqs.count >= 6)
        }
    }
}
