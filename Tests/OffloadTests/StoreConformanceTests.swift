import Foundation
import Logging
import OffloadCore
import OffloadStore
import Synchronization
import Testing

/// The stores every store behaviour is checked against. A new store adds a case here and passes every test.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Runs `body` against a fresh store of `kind`, with its writer running, and shuts it down afterwards.
func withStore<T: Sendable>(_ kind: StoreKind, _ body: @Sendable (any JobStoreService) async throws -> T) async throws -> T {
    switch kind {
    case .sqlite:
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteJobStore(path: directory.path + "/test.sqlite", logger: Logger(label: "test"))
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { store.close() }
            return try await body(store)
        }
    case .postgres:
        let location = try await PostgresCluster.shared().makeDatabase()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let store = try await PostgresJobStore.open(location, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { store.close() }
            return try await body(store)
        }
    }
}

/// Two stores on one database: two servers for PostgreSQL; for SQLite (one server) the same store twice.
func withTwoStores<T: Sendable>(_ kind: StoreKind, _ body: @Sendable (any JobStoreService, any JobStoreService) async throws -> T)
    async throws -> T
{
    switch kind {
    case .sqlite:
        return try await withStore(kind) { store in try await body(store, store) }
    case .postgres:
        let location = try await PostgresCluster.shared().makeDatabase()
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let first = try await PostgresJobStore.open(location, logger: logger)
        let second = try await PostgresJobStore.open(location, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await first.run() }
            group.addTask { try await second.run() }
            defer {
                first.close()
                second.close()
            }
            return try await body(first, second)
        }
    }
}

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

private func newJob(
    _ id: String, type: String = "noop", tenant: String = "acme", priority: Int = 0, runAt: Date = t0,
    maxAttempts: Int = 3, idempotencyKey: String? = nil, queue: String = "default"
) -> NewJob {
    NewJob(
        jobId: id, processingType: type, queue: queue, data: ["n": .string(id)], maxAttempts: maxAttempts,
        priority: priority, runAt: runAt, idempotencyKey: idempotencyKey, tenant: tenant, createdAt: t0)
}

private func lease(_ store: any JobStore, limit: Int = 1, types: [String]? = nil, at: Date = t0, seconds: Double = 30)
    async throws -> [LeasedJob]
{
    try await store.lease(LeaseRequest(workerId: "w1", processingTypes: types, limit: limit, leaseDuration: seconds, now: at))
}

@Suite("Store conformance")
struct StoreConformanceTests {
    @Test("a submitted job is PENDING with one status event", arguments: StoreKind.allCases)
    func submit(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let outcome = try await store.submit([newJob("job_a")])
            #expect(outcome.map(\.created) == [true])
            let job = try #require(try await store.job(id: "job_a", tenant: "acme"))
            #expect(job.status == .pending)
            #expect(job.attempt == 0)
            #expect(job.data == ["n": "job_a"])
            let events = try await store.events(jobId: "job_a", after: 0, limit: 10)
            #expect(events.map(\.seq) == [1])
            #expect(events.first?.data == ["status": "PENDING"])
        }
    }

    @Test("a job of another tenant is invisible", arguments: StoreKind.allCases)
    func tenants(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a", tenant: "acme"), newJob("job_b", tenant: "other")])
            #expect(try await store.job(id: "job_a", tenant: "other") == nil)
            #expect(try await store.job(id: "job_a", tenant: nil) != nil)
            #expect(try await store.jobs(JobQuery(tenant: "acme")).jobs.map(\.jobId) == ["job_a"])
            #expect(try await store.snapshot(jobId: "job_a", tenant: "other", after: nil, limit: 10) == nil)
            await #expect(throws: OffloadError.notFound("no job job_a")) {
                try await store.cancel(jobId: "job_a", tenant: "other", at: t0)
            }
        }
    }

    @Test("a repeated idempotency key answers the first job", arguments: StoreKind.allCases)
    func idempotency(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = try await store.submit([newJob("job_a", idempotencyKey: "k")])
            let second = try await store.submit([newJob("job_b", idempotencyKey: "k"), newJob("job_c", tenant: "x", idempotencyKey: "k")])
            #expect(first[0].created)
            #expect(second.map(\.created) == [false, true])
            #expect(second[0].job.jobId == "job_a")
            #expect(try await store.job(id: "job_b", tenant: nil) == nil)
        }
    }

    @Test("leases go by priority, then FIFO, only to ready jobs of the worker's types", arguments: StoreKind.allCases)
    func leaseOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([
                newJob("job_1"), newJob("job_2", priority: 5), newJob("job_3"),
                newJob("job_4", runAt: t0.addingTimeInterval(60)), newJob("job_5", type: "type1"),
            ])
            #expect(try await lease(store, limit: 10, types: ["noop"]).map(\.job.jobId) == ["job_2", "job_1", "job_3"])
            #expect(try await lease(store, limit: 10, types: ["noop"]).isEmpty)
            let later = try await lease(store, limit: 10, at: t0.addingTimeInterval(61))
            #expect(later.map(\.job.jobId) == ["job_5", "job_4"])
            #expect(later.allSatisfy { $0.job.status == .processing && $0.job.attempt == 1 && $0.job.workerId == "w1" })
            #expect(Set(later.map(\.leaseToken)).count == 2)
        }
    }

    @Test("the next run time is the earliest delayed PENDING job", arguments: StoreKind.allCases)
    func nextRunAt(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await store.nextRunAt(after: t0) == nil)
            _ = try await store.submit([
                newJob("job_1"), newJob("job_2", runAt: t0.addingTimeInterval(30)), newJob("job_3", runAt: t0.addingTimeInterval(10)),
            ])
            #expect(try await store.nextRunAt(after: t0) == t0.addingTimeInterval(10))
            #expect(try await store.nextRunAt(after: t0.addingTimeInterval(10)) == t0.addingTimeInterval(30))
            _ = try await store.cancel(jobId: "job_2", tenant: nil, at: t0)
            #expect(try await store.nextRunAt(after: t0.addingTimeInterval(10)) == nil)
        }
    }

    @Test("reports need the current lease token and keep seqs gap-free", arguments: StoreKind.allCases)
    func reports(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a")])
            let leased = try #require(try await lease(store).first)
            await #expect(throws: OffloadError.self) {
                try await store.report(jobId: "job_a", leaseToken: "stale", events: [.progress(10)], at: t0)
            }
            let outcome = try await store.report(
                jobId: "job_a", leaseToken: leased.leaseToken, events: [.progress(40, message: "m"), .log("hello"), .token("t")],
                at: t0)
            #expect(outcome.events.map(\.seq) == [3, 4, 5])
            #expect(!outcome.cancelRequested)
            let job = try #require(try await store.job(id: "job_a", tenant: nil))
            #expect(job.progress == 40)
            #expect(job.message == "m")
            await #expect(throws: OffloadError.self) {
                try await store.report(jobId: "job_a", leaseToken: leased.leaseToken, events: [EventReport(kind: .completed, data: nil)], at: t0)
            }
            let events = try await store.events(jobId: "job_a", after: 0, limit: 100)
            #expect(events.map(\.seq) == [1, 2, 3, 4, 5])
            #expect(events.map(\.kind) == [.status, .status, .progress, .log, .token])
        }
    }

    @Test("completing ends the lease and writes a final event carrying the job", arguments: StoreKind.allCases)
    func complete(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a")])
            let leased = try #require(try await lease(store).first)
            let job = try await store.complete(jobId: "job_a", leaseToken: leased.leaseToken, result: ["ok": true], at: t0)
            #expect(job.status == .completed)
            #expect(job.progress == 100)
            #expect(job.result == ["ok": true])
            #expect(job.completedAt == t0)
            let last = try #require(try await store.events(jobId: "job_a", after: 0, limit: 10).last)
            #expect(last.kind == .completed)
            #expect(last.data["status"] == "COMPLETED")
            #expect(last.data["result"] == ["ok": true])
            await #expect(throws: OffloadError.self) {
                try await store.complete(jobId: "job_a", leaseToken: leased.leaseToken, result: nil, at: t0)
            }
        }
    }

    @Test("a failed attempt goes back to PENDING while attempts are left, then FAILED", arguments: StoreKind.allCases)
    func failures(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a", maxAttempts: 2)])
            let first = try #require(try await lease(store).first)
            let retry = t0.addingTimeInterval(5)
            let again = try await store.fail(jobId: "job_a", leaseToken: first.leaseToken, error: "boom", result: nil, retryAt: { _ in retry }, at: t0)
            #expect(again.status == .pending)
            #expect(again.runAt == retry)
            #expect(again.error == "boom")
            #expect(try await lease(store, at: t0.addingTimeInterval(1)).isEmpty)
            let second = try #require(try await lease(store, at: retry).first)
            #expect(second.job.attempt == 2)
            let failed = try await store.fail(jobId: "job_a", leaseToken: second.leaseToken, error: "boom 2", result: nil, retryAt: { _ in retry }, at: retry)
            #expect(failed.status == .failed)
            #expect(failed.error == "boom 2")
            #expect(failed.errors == [
                AttemptError(attempt: 1, error: "boom", at: t0), AttemptError(attempt: 2, error: "boom 2", at: retry),
            ])
            #expect(try await store.events(jobId: "job_a", after: 0, limit: 10).last?.kind == .failed)

            let retried = try await store.retry(jobId: "job_a", tenant: "acme", at: retry)
            #expect(retried.status == .pending)
            #expect(retried.attempt == 0)
            #expect(retried.error == nil)
            #expect(retried.errors.count == 2)
            #expect(try await lease(store, at: retry).first?.job.attempt == 1)
            await #expect(throws: OffloadError.self) { try await store.retry(jobId: "job_a", tenant: nil, at: retry) }
            await #expect(throws: OffloadError.notFound("no job job_a")) {
                try await store.retry(jobId: "job_a", tenant: "other", at: retry)
            }
        }
    }

    @Test("cancel stops a pending job at once and asks a running job's worker", arguments: StoreKind.allCases)
    func cancel(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a"), newJob("job_b")])
            let leased = try #require(try await lease(store).first)
            #expect(leased.job.jobId == "job_a")
            let (requests, continuation) = AsyncStream.makeStream(of: String.self)
            let token = store.eventBus.onCancelRequest { continuation.yield($0) }
            defer { store.eventBus.removeCancelListener(token) }

            let pending = try await store.cancel(jobId: "job_b", tenant: "acme", at: t0)
            #expect(pending.status == .cancelled)
            let running = try await store.cancel(jobId: "job_a", tenant: "acme", at: t0)
            #expect(running.status == .processing)
            #expect(running.cancelRequested)
            var iterator = requests.makeAsyncIterator()
            #expect(await iterator.next() == "job_a")
            let report = try await store.report(jobId: "job_a", leaseToken: leased.leaseToken, events: [.progress(1)], at: t0)
            #expect(report.cancelRequested)
            #expect(try await store.heartbeat(workerId: "w1", jobIds: ["job_a"], until: t0) == ["job_a"])
            let done = try await store.acknowledgeCancel(jobId: "job_a", leaseToken: leased.leaseToken, at: t0)
            #expect(done.status == .cancelled)
            await #expect(throws: OffloadError.conflict("job job_a is already CANCELLED")) {
                try await store.cancel(jobId: "job_a", tenant: nil, at: t0)
            }
        }
    }

    @Test("a released job goes back to PENDING without counting the attempt", arguments: StoreKind.allCases)
    func release(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a")])
            let leased = try #require(try await lease(store).first)
            let job = try await store.release(jobId: "job_a", leaseToken: leased.leaseToken, at: t0)
            #expect(job.status == .pending)
            #expect(job.attempt == 0)
            #expect(try await lease(store).first?.job.attempt == 1)
        }
    }

    @Test("a job whose lease expires goes back to PENDING, counted as an attempt; the last one fails", arguments: StoreKind.allCases)
    func expiry(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_a", maxAttempts: 2)])
            let first = try #require(try await lease(store, seconds: 10).first)
            let ref = LeaseRef(jobId: "job_a", leaseToken: first.leaseToken)
            #expect(try await store.heartbeat(workerId: "w1", jobIds: [ref.jobId], until: t0.addingTimeInterval(20)).isEmpty)
            #expect(try await store.requeueExpiredLeases(now: t0.addingTimeInterval(15)) == 0)
            #expect(try await store.requeueExpiredLeases(now: t0.addingTimeInterval(21)) == 1)
            let job = try #require(try await store.job(id: "job_a", tenant: nil))
            #expect(job.status == .pending)
            #expect(job.attempt == 1)
            #expect(try await store.heartbeat(workerId: "w1", jobIds: [ref.jobId], until: t0) == ["job_a"])
            _ = try #require(try await lease(store, at: t0.addingTimeInterval(21), seconds: 10).first)
            #expect(try await store.requeueExpiredLeases(now: t0.addingTimeInterval(40)) == 1)
            let failed = try #require(try await store.job(id: "job_a", tenant: nil))
            #expect(failed.status == .failed)
            #expect(failed.errors.map(\.attempt) == [1, 2])
        }
    }

    @Test("pruning deletes only finished jobs older than the cut-off, with their events, a batch at a time", arguments: StoreKind.allCases)
    func prune(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit((1...5).map { newJob("job_\($0)") })
            for (index, leased) in try await lease(store, limit: 3).enumerated() {
                _ = try await store.complete(
                    jobId: leased.job.jobId, leaseToken: leased.leaseToken, result: nil, at: t0.addingTimeInterval(Double(index)))
            }
            _ = try await store.cancel(jobId: "job_4", tenant: nil, at: t0.addingTimeInterval(100))
            #expect(try await store.prune(finishedBefore: t0.addingTimeInterval(50), limit: 2) == 2)
            #expect(try await store.prune(finishedBefore: t0.addingTimeInterval(50), limit: 2) == 1)
            #expect(try await store.prune(finishedBefore: t0.addingTimeInterval(50), limit: 2) == 0)
            let left = try await store.jobs(JobQuery(limit: 10)).jobs.map(\.jobId)
            #expect(left == ["job_5", "job_4"])
            #expect(try await store.events(jobId: "job_1", after: 0, limit: 10).isEmpty)
        }
    }

    @Test("nothing is leased from a paused queue; resuming wakes the workers", arguments: StoreKind.allCases)
    func pausedQueue(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_1", queue: "mail"), newJob("job_2")])
            try await store.setQueue("mail", paused: true, at: t0)
            #expect(try await store.pausedQueues() == ["mail"])
            #expect(try await lease(store, limit: 10).map(\.job.jobId) == ["job_2"])
            let generation = store.eventBus.work.generation
            try await store.setQueue("mail", paused: false, at: t0)
            #expect(store.eventBus.work.generation != generation)
            #expect(try await lease(store, limit: 10).map(\.job.jobId) == ["job_1"])
            try await store.setType("type1", enabled: false, fallback: .refuse, at: t0)
            try await store.setType("type2", enabled: false, fallback: .sync, at: t0)
            #expect(try await store.disabledTypes() == ["type1": .refuse, "type2": .sync])
            try await store.setType("type1", enabled: false, fallback: .sync, at: t0)
            #expect(try await store.disabledTypes()["type1"] == .sync)
            try await store.setType("type1", enabled: true, fallback: .refuse, at: t0)
            try await store.setType("type2", enabled: true, fallback: .refuse, at: t0)
            #expect(try await store.disabledTypes().isEmpty)
        }
    }

    @Test("a lease can name the one job it wants", arguments: StoreKind.allCases)
    func leaseByName(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([newJob("job_1"), newJob("job_2", priority: 5)])
            let named = try await store.lease(LeaseRequest(
                workerId: "sync", processingTypes: nil, limit: 5, leaseDuration: 30, now: t0, jobIds: ["job_1"]))
            #expect(named.map(\.job.jobId) == ["job_1"])
            #expect(try await lease(store, limit: 5).map(\.job.jobId) == ["job_2"])
        }
    }

    @Test("a cached submission is answered at once with the newest equal completed job's result", arguments: StoreKind.allCases)
    func resultCache(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            func cached(_ id: String, tenant: String = "acme", key: String = "k", at: Date) -> NewJob {
                var job = newJob(id, tenant: tenant)
                job.createdAt = at
                job.cacheKey = key
                job.cacheMaxAge = 60
                return job
            }
            let miss = try await store.submit([cached("job_1", at: t0)])[0].job
            #expect(miss.status == .pending)
            let leased = try #require(try await lease(store).first)
            _ = try await store.complete(jobId: "job_1", leaseToken: leased.leaseToken, result: ["answer": 42], at: t0)
            let hit = try await store.submit([cached("job_2", at: t0.addingTimeInterval(30))])[0].job
            #expect(hit.status == .completed)
            #expect(hit.result == ["answer": 42])
            #expect(hit.cachedFrom == "job_1")
            #expect(try await store.events(jobId: "job_2", after: 0, limit: 10).map(\.kind) == [.completed])
            #expect(try await store.submit([cached("job_3", tenant: "other", at: t0)])[0].job.status == .pending)
            #expect(try await store.submit([cached("job_4", key: "other", at: t0)])[0].job.status == .pending)
            #expect(try await store.submit([cached("job_5", at: t0.addingTimeInterval(61))])[0].job.status == .pending)
        }
    }

    @Test("history pages newest first with filters and a cursor", arguments: StoreKind.allCases)
    func history(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit((1...7).map { newJob("job_\($0)", type: $0 % 2 == 0 ? "type1" : "noop") })
            let page1 = try await store.jobs(JobQuery(tenant: "acme", limit: 3))
            #expect(page1.jobs.map(\.jobId) == ["job_7", "job_6", "job_5"])
            let page2 = try await store.jobs(JobQuery(tenant: "acme", before: page1.nextCursor, limit: 3))
            #expect(page2.jobs.map(\.jobId) == ["job_4", "job_3", "job_2"])
            let page3 = try await store.jobs(JobQuery(tenant: "acme", before: page2.nextCursor, limit: 3))
            #expect(page3.jobs.map(\.jobId) == ["job_1"])
            #expect(page3.nextCursor == nil)
            #expect(try await store.jobs(JobQuery(tenant: "acme", processingType: "type1")).jobs.count == 3)
            _ = try await lease(store, limit: 2)
            #expect(try await store.jobs(JobQuery(status: .processing)).jobs.count == 2)
        }
    }

    @Test("each status lists newest first, per tenant or across tenants, a page at a time", arguments: StoreKind.allCases)
    func historyByStatus(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            // Two of each status, the tenants interleaved; each status comes from its own index or the key.
            _ = try await store.submit((0..<10).map { newJob("job_\($0)", tenant: $0 % 2 == 0 ? "acme" : "other") })
            var leased: [String: LeasedJob] = [:]
            for job in try await lease(store, limit: 8) { leased[job.job.jobId] = job }
            for id in ["job_2", "job_3"] {
                _ = try await store.complete(jobId: id, leaseToken: leased[id]!.leaseToken, result: nil, at: t0)
            }
            for id in ["job_4", "job_5"] {
                _ = try await store.fail(
                    jobId: id, leaseToken: leased[id]!.leaseToken, error: "boom", result: nil, retryAt: { _ in nil }, at: t0)
            }
            for id in ["job_6", "job_7"] { _ = try await store.cancel(jobId: id, tenant: nil, at: t0) }
            for id in ["job_6", "job_7"] { _ = try await store.acknowledgeCancel(jobId: id, leaseToken: leased[id]!.leaseToken, at: t0) }
            let expected: [JobStatus: [String]] = [
                .pending: ["job_9", "job_8"], .processing: ["job_1", "job_0"], .completed: ["job_3", "job_2"],
                .failed: ["job_5", "job_4"], .cancelled: ["job_7", "job_6"],
            ]
            for (status, ids) in expected {
                #expect(try await store.jobs(JobQuery(status: status)).jobs.map(\.jobId) == ids, "\(status)")
                let first = try await store.jobs(JobQuery(status: status, limit: 1))
                #expect(first.jobs.map(\.jobId) == [ids[0]], "\(status)")
                #expect(try await store.jobs(JobQuery(status: status, before: first.nextCursor)).jobs.map(\.jobId) == [ids[1]])
                for tenant in ["acme", "other"] {
                    let mine = ids.filter { Int($0.dropFirst(4))! % 2 == (tenant == "acme" ? 0 : 1) }
                    #expect(try await store.jobs(JobQuery(tenant: tenant, status: status)).jobs.map(\.jobId) == mine)
                }
            }
            #expect(try await store.jobs(JobQuery(tenant: "other")).jobs.map(\.jobId) == ["job_9", "job_7", "job_5", "job_3", "job_1"])
        }
    }

    @Test("a submit to a paused queue signals no work; one to a running queue does", arguments: StoreKind.allCases)
    func pausedQueueSignalsNoWork(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.setQueue("default", paused: true, at: t0)
            let generation = store.eventBus.work.generation
            _ = try await store.submit([newJob("job_1"), newJob("job_2")])
            #expect(store.eventBus.work.generation == generation)
            _ = try await store.submit([newJob("job_3"), newJob("job_4", queue: "other")])
            #expect(store.eventBus.work.generation != generation)
        }
    }

    @Test("events reach the bus after commit, in order", arguments: StoreKind.allCases)
    func busOrder(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let (events, continuation) = AsyncStream.makeStream(of: Int64.self)
            let token = store.eventBus.follow(jobId: "job_a") { delivery in
                if case .event(let event) = delivery { continuation.yield(event.seq) }
            }
            defer { store.eventBus.unfollow(token) }
            _ = try await store.submit([newJob("job_a")])
            let leased = try #require(try await lease(store).first)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        _ = try await store.report(jobId: "job_a", leaseToken: leased.leaseToken, events: [.log("\(i)")], at: t0)
                    }
                }
                try await group.waitForAll()
            }
            _ = try await store.complete(jobId: "job_a", leaseToken: leased.leaseToken, result: nil, at: t0)
            var seen: [Int64] = []
            for await seq in events {
                seen.append(seq)
                if seen.count == 23 { break }
            }
            #expect(seen == Array(1...23))
        }
    }

    @Test("concurrent submits are all durable and each answers its own job", arguments: StoreKind.allCases)
    func concurrentSubmits(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for i in 0..<500 {
                    group.addTask { try await store.submit([newJob("job_\(10_000 + i)")])[0].job.jobId }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 500)
            let listed = try await store.jobs(JobQuery(limit: 500)).jobs
            #expect(Set(listed.map(\.jobId)) == ids)
        }
    }

    @Test("concurrent completions each commit their own result or fail alone with the reason", arguments: StoreKind.allCases)
    func concurrentCompletions(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let ids = (0..<150).map { "job_\(20_000 + $0)" }
            _ = try await store.submit(ids.map { newJob($0) })
            let leased = try await lease(store, limit: 150)
            #expect(leased.count == 150)
            // Every job completed with a wrong token first, then with its own (a third of them twice at once),
            // and a job that does not exist: when a stale and a good completion of one job share a transaction,
            // only the good one may succeed.
            enum Outcome: Equatable { case completed(String), conflict(String), notFound }
            let outcomes = await withTaskGroup(of: Outcome.self) { group in
                for (index, lease) in leased.enumerated() {
                    group.addTask {
                        do {
                            _ = try await store.complete(jobId: lease.job.jobId, leaseToken: "stale", result: nil, at: t0)
                            return .completed("stale token accepted")
                        } catch OffloadError.conflict {
                            return .conflict(lease.job.jobId)
                        } catch {
                            return .conflict("unexpected \(error)")
                        }
                    }
                    let tries = index % 3 == 0 ? 2 : 1
                    for _ in 0..<tries {
                        group.addTask {
                            do {
                                let job = try await store.complete(
                                    jobId: lease.job.jobId, leaseToken: lease.leaseToken, result: .string(lease.job.jobId), at: t0)
                                return job.result == .string(job.jobId) ? .completed(job.jobId) : .conflict("wrong result")
                            } catch OffloadError.conflict {
                                return .conflict(lease.job.jobId)
                            } catch {
                                return .conflict("unexpected \(error)")
                            }
                        }
                    }
                }
                group.addTask {
                    do {
                        _ = try await store.complete(jobId: "job_missing", leaseToken: "t", result: nil, at: t0)
                        return .completed("job_missing")
                    } catch OffloadError.notFound {
                        return .notFound
                    } catch {
                        return .conflict("unexpected \(error)")
                    }
                }
                return await group.reduce(into: [Outcome]()) { $0.append($1) }
            }
            #expect(Set(outcomes.compactMap { if case .completed(let id) = $0 { id } else { nil } }) == Set(ids))
            #expect(outcomes.filter { if case .completed = $0 { true } else { false } }.count == 150)
            #expect(outcomes.filter { if case .conflict(let id) = $0 { id.hasPrefix("job_") } else { false } }.count == 50 + 150)
            #expect(outcomes.filter { $0 == .notFound }.count == 1)
            for id in ids {
                let events = try await store.events(jobId: id, after: 0, limit: 10)
                #expect(events.map(\.seq) == [1, 2, 3])
                #expect(events.last?.kind == .completed)
                #expect(events.last?.data["result"] == .string(id))
            }
        }
    }

    @Test("templates are saved, replaced, listed and deleted by name", arguments: StoreKind.allCases)
    func templates(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            try await store.saveTemplate(name: "nightly", body: ["processingType": "noop"], at: t0)
            try await store.saveTemplate(name: "nightly", body: ["processingType": "type1"], at: t0)
            #expect(try await store.template(name: "nightly") == ["processingType": "type1"])
            #expect(try await store.templates() == ["nightly": ["processingType": "type1"]])
            #expect(try await store.deleteTemplate(name: "nightly"))
            #expect(try await !store.deleteTemplate(name: "nightly"))
            #expect(try await store.template(name: "nightly") == nil)
        }
    }

    @Test("API keys are found by the hash of their secret and can be deleted", arguments: StoreKind.allCases)
    func keys(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            #expect(try await !store.hasKey(role: .admin))
            let key = StoredKey(id: "key_1", name: "ci", role: .admin, tenant: "acme", secretHash: "abc", createdAt: t0)
            try await store.createKey(key)
            #expect(try await store.hasKey(role: .admin))
            #expect(try await store.key(secretHash: "abc") == key)
            #expect(try await store.keys() == [key])
            #expect(try await store.deleteKey(id: "key_1"))
            #expect(try await !store.deleteKey(id: "key_1"))
            #expect(try await store.key(secretHash: "abc") == nil)
        }
    }

    @Test("a job's stored log is exactly what was published, in every lifecycle step, read whole or page by page",
        arguments: StoreKind.allCases)
    func eventLogReplaysWhatWasPublished(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let published = Mutex<[String: [JobEvent]]>([:])
            for id in ["job_a", "job_b", "job_c", "job_d"] {
                _ = store.eventBus.follow(jobId: id) { delivery in
                    if case .event(let event) = delivery { published.withLock { $0[event.jobId, default: []].append(event) } }
                }
            }
            _ = try await store.submit([newJob("job_a"), newJob("job_b", maxAttempts: 2), newJob("job_c"), newJob("job_d", type: "type1")])
            // job_d: runs once and completes (the common case).
            let once = try #require(try await lease(store, types: ["type1"]).first)
            _ = try await store.complete(jobId: "job_d", leaseToken: once.leaseToken, result: ["ok": true], at: t0)
            // job_a: fails once and is retried by its backoff, fails for good, is retried by hand, handed back,
            // then cancelled while it runs.
            var held = try #require(try await lease(store, types: ["noop"]).first)
            #expect(held.job.jobId == "job_a")
            _ = try await store.report(
                jobId: "job_a", leaseToken: held.leaseToken, events: [.progress(40, message: "half"), .log("line")], at: t0)
            _ = try await store.fail(
                jobId: "job_a", leaseToken: held.leaseToken, error: "boom", result: nil, retryAt: { _ in t0 }, at: t0)
            held = try #require(try await lease(store, types: ["noop"]).first { $0.job.jobId == "job_a" })
            _ = try await store.fail(
                jobId: "job_a", leaseToken: held.leaseToken, error: "again", result: nil, retryAt: { _ in nil }, at: t0)
            _ = try await store.retry(jobId: "job_a", tenant: nil, at: t0)
            held = try #require(try await lease(store, types: ["noop"]).first { $0.job.jobId == "job_a" })
            _ = try await store.release(jobId: "job_a", leaseToken: held.leaseToken, at: t0)
            held = try #require(try await lease(store, types: ["noop"]).first { $0.job.jobId == "job_a" })
            _ = try await store.cancel(jobId: "job_a", tenant: nil, at: t0)
            _ = try await store.acknowledgeCancel(jobId: "job_a", leaseToken: held.leaseToken, at: t0)
            // job_b: its lease expires twice, the second time on its last attempt; job_c: cancelled while PENDING.
            _ = try await store.cancel(jobId: "job_c", tenant: nil, at: t0)
            for round in 1...2 {
                let later = t0.addingTimeInterval(Double(round) * 100)
                _ = try #require(try await lease(store, limit: 5, types: ["noop"], at: later, seconds: 1).first { $0.job.jobId == "job_b" })
                _ = try await store.requeueExpiredLeases(now: later.addingTimeInterval(10))
            }

            let sent = published.withLock { $0 }
            #expect(sent["job_a"]?.last?.kind == .cancelled)
            #expect(sent["job_b"]?.last?.kind == .failed)
            #expect(sent["job_c"]?.map(\.kind) == [.status, .cancelled])
            #expect(sent["job_d"]?.map(\.kind) == [.status, .status, .completed])
            for (id, events) in sent {
                #expect(events.map(\.seq) == Array(1...Int64(events.count)), "\(id): seqs without gaps")
                let stored = try await store.events(jobId: id, after: 0, limit: 100)
                #expect(stored.map(\.seq) == events.map(\.seq), "\(id)")
                #expect(stored.map(\.kind) == events.map(\.kind), "\(id)")
                #expect(stored.map(\.data) == events.map(\.data), "\(id)")
                for (read, sent) in zip(stored, events) {
                    #expect(abs(read.at.timeIntervalSince(sent.at)) < 0.001, "\(id) seq \(read.seq)")
                }
                for after in 0..<Int64(events.count) {
                    let page = try await store.events(jobId: id, after: after, limit: 2)
                    #expect(page.map(\.seq) == Array(events.map(\.seq).drop(while: { $0 <= after }).prefix(2)), "\(id) after \(after)")
                }
                let snapshot = try #require(try await store.snapshot(jobId: id, tenant: nil, after: 0, limit: 100))
                #expect(snapshot.lastSeq == Int64(events.count))
                #expect(snapshot.events.map(\.seq) == events.map(\.seq))
            }
        }
    }

    @Test("one server of those sharing a store leads; when it resigns, another takes the lead at its next ask",
          arguments: StoreKind.allCases)
    func leadership(kind: StoreKind) async throws {
        try await withTwoStores(kind) { first, second in
            #expect(await first.lead())
            #expect(await first.lead(), "a leader keeps the lead")
            guard kind == .postgres else { return }
            #expect(await !second.lead(), "at most one leads")
            #expect(await first.lead())
            await first.resign()
            #expect(await second.lead())
            #expect(await !first.lead(), "the lead is taken")
            await second.resign()
        }
    }
}
