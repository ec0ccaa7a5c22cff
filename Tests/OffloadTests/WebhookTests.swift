import Foundation
import HTTPTypes
import Hummingbird
import Logging
import OffloadCore
@testable import OffloadServer
import OffloadStore
import Testing

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

/// A receiver on a loopback port that answers `statuses` in turn (then 200) and keeps what it got.
private struct Receiver: Sendable {
    struct Call: Sendable {
        var body: [UInt8]
        var signature: String?
        var attempt: String?
    }

    let calls = Locked<[Call]>([])

    func run<T: Sendable>(statuses: [HTTPResponse.Status], _ body: @Sendable (String) async throws -> T) async throws -> T {
        let router = Router()
        let calls = self.calls
        router.post("/hook") { request, _ -> Response in
            let bytes = Array(try await request.body.collect(upTo: 1 << 20).readableBytesView)
            let index = calls.withLock { list -> Int in
                list.append(Call(
                    body: bytes, signature: request.headers[HTTPField.Name("X-Offload-Signature")!],
                    attempt: request.headers[HTTPField.Name("X-Offload-Attempt")!]))
                return list.count - 1
            }
            return Response(status: index < statuses.count ? statuses[index] : .ok)
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the receiver did not start") }
            defer { group.cancelAll() }
            return try await body("http://127.0.0.1:\(port)/hook")
        }
    }
}

@Suite("Webhooks")
struct WebhookTests {
    @Test("a finished job with a webhookUrl gets one delivery: claimed once at a time, retried at its time, then done", arguments: StoreKind.allCases)
    func store(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let hooked = NewJob(
                jobId: "job_a", processingType: "noop", data: 1, options: ["webhookUrl": "http://127.0.0.1:9/hook"], runAt: t0,
                tenant: "acme", createdAt: t0)
            let plain = NewJob(jobId: "job_b", processingType: "noop", data: 1, runAt: t0, tenant: "acme", createdAt: t0)
            _ = try await store.submit([hooked, plain])
            for leased in try await store.lease(LeaseRequest(workerId: "w", processingTypes: nil, limit: 2, leaseDuration: 30, now: t0)) {
                _ = try await store.complete(jobId: leased.job.jobId, leaseToken: leased.leaseToken, result: 1, at: t0)
            }
            let first = try await store.claimWebhooks(now: t0, claimFor: 60, limit: 10)
            #expect(first == [WebhookDelivery(jobId: "job_a", url: "http://127.0.0.1:9/hook", attempt: 1)])
            #expect(try await store.claimWebhooks(now: t0.addingTimeInterval(1), claimFor: 60, limit: 10).isEmpty)
            try await store.finishWebhook(jobId: "job_a", delivered: false, error: "503", retryAt: t0.addingTimeInterval(5), at: t0)
            #expect(try await store.claimWebhooks(now: t0.addingTimeInterval(4), claimFor: 60, limit: 10).isEmpty)
            #expect(try await store.claimWebhooks(now: t0.addingTimeInterval(5), claimFor: 60, limit: 10).map(\.attempt) == [2])
            try await store.finishWebhook(jobId: "job_a", delivered: true, error: nil, retryAt: nil, at: t0)
            #expect(try await store.claimWebhooks(now: t0.addingTimeInterval(3_600), claimFor: 60, limit: 10).isEmpty)
        }
    }

    @Test("one round sends every due delivery, however many more than a claim holds")
    func backlog() async throws {
        let receiver = Receiver()
        try await receiver.run(statuses: []) { url in
            try await withStore(.sqlite) { store in
                // The sender claims what is due by the clock.
                let now = Date()
                let count = WebhookSender.claimSize * 3 + 5
                let jobs = (0..<count).map {
                    NewJob(jobId: "job_\($0)", processingType: "noop", data: 1, options: ["webhookUrl": .string(url)], runAt: now,
                        tenant: "acme", createdAt: now)
                }
                _ = try await store.submit(jobs)
                for leased in try await store.lease(LeaseRequest(workerId: "w", processingTypes: nil, limit: count, leaseDuration: 30, now: now)) {
                    _ = try await store.complete(jobId: leased.job.jobId, leaseToken: leased.leaseToken, result: 1, at: now)
                }
                let sender = WebhookSender(
                    store: store, secret: "webhook-test-secret-0123456789abcdef", retryBase: 2, maxAttempts: 3,
                    interval: .seconds(1), logger: Logger(label: "test"))
                try await sender.sendDue()
                #expect(receiver.calls.withLock { $0.count } == count)
                #expect(try await store.claimWebhooks(now: now.addingTimeInterval(3_600), claimFor: 60, limit: 10).isEmpty)
            }
        }
    }

    @Test("the final job is POSTed signed with HMAC-SHA256, and a failed delivery is retried with backoff")
    func delivery() async throws {
        let receiver = Receiver()
        let secret = "webhook-test-secret-0123456789abcdef"
        try await receiver.run(statuses: [.internalServerError]) { url in
            try await TestServer.with(configure: {
                $0.webhookSecret = secret
                $0.webhookRetryBase = 0.2
                $0.webhookInterval = .milliseconds(50)
            }) { server in
                #expect(try await server.call("POST", "/api/jobs", json: [
                    "processingType": "noop", "data": 1, "options": ["webhookUrl": "ftp://x"],
                ]).status == 422)
                let job = try await server.submit("noop", data: ["n": 7], options: ["webhookUrl": .string(url)])
                let id = try #require(job["jobId"]?.stringValue)
                let deadline = ContinuousClock.now + .seconds(20)
                while receiver.calls.withLock({ $0.count }) < 2 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                let calls = receiver.calls.withLock { $0 }
                try #require(calls.count == 2)
                #expect(calls.map(\.attempt) == ["1", "2"])
                let delivered = try JSONValue.parse(calls[1].body)
                #expect(delivered["jobId"]?.stringValue == id)
                #expect(delivered["status"] == "COMPLETED")
                #expect(delivered["result"] == ["n": 7])
                #expect(calls[1].signature == WebhookSender.signature(of: calls[1].body, secret: secret))
                #expect(calls[1].signature != WebhookSender.signature(of: calls[1].body, secret: secret + "x"))
            }
        }
    }
}
