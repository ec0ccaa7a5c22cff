import Foundation
import Logging
import OffloadCore
import OffloadStore
import Testing

@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    @Test("concurrent submits share commits (group commit), and each caller still gets its own job")
    func groupCommit() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteJobStore(path: directory.path + "/g.sqlite", logger: Logger(label: "test"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { store.close() }
            let before = store.commitStatistics
            let now = Date()
            let ids = try await withThrowingTaskGroup(of: String.self) { submits in
                for i in 0..<1_000 {
                    submits.addTask {
                        let job = NewJob(jobId: "job_\(100_000 + i)", processingType: "noop", data: .int(Int64(i)), runAt: now, tenant: "t", createdAt: now)
                        return try await store.submit([job])[0].job.jobId
                    }
                }
                return try await submits.reduce(into: Set<String>()) { $0.insert($1) }
            }
            let after = store.commitStatistics
            #expect(ids.count == 1_000)
            #expect(after.writes - before.writes == 1_000)
            #expect(after.commits - before.commits < 500, "\(after.commits - before.commits) commits for 1,000 submits")
        }
    }

    @Test("a parked lease takes a job in the transaction right after its submit's; withdrawn, it answers at once and takes nothing")
    func parkedLease() async throws {
        try await withStore(.sqlite) { store in
            let now = Date()
            func request(_ types: [String]) -> LeaseRequest {
                LeaseRequest(workerId: "w", processingTypes: types, limit: 2, leaseDuration: 30, now: now, labels: [])
            }
            func submit(_ id: String, _ type: String) async throws {
                _ = try await store.submit([NewJob(jobId: id, processingType: type, data: .null, runAt: now, tenant: "t", createdAt: now)])
            }
            let sqlite = try #require(store as? SQLiteJobStore)
            let ticket = try #require(store.parkLease(request(["noop"])))
            // A job of another type leaves it parked; the next noop job is leased in the very next transaction.
            try await submit("job_other", "type1")
            // The writer runs the lease that followed job_other's commit before any later write: once this
            // (failing) write is answered, that lease transaction is counted.
            _ = try? await store.cancel(jobId: "job_none", tenant: nil, at: now)
            let before = sqlite.commitStatistics
            try await submit("job_mine", "noop")
            let leased = await ticket.jobs()
            #expect(leased.map(\.job.jobId) == ["job_mine"])
            #expect(leased.first?.job.status == .processing)
            #expect(sqlite.commitStatistics.commits - before.commits == 2, "the submit's commit, then the lease's")
            let stored = try await store.job(id: "job_mine", tenant: nil)
            #expect(stored?.status == .processing)
            #expect(stored?.workerId == "w")
            // Withdrawn before any work came: answered empty, and a later job stays PENDING.
            let idle = try #require(store.parkLease(request(["noop"])))
            idle.withdraw()
            #expect(await idle.jobs().isEmpty)
            try await submit("job_later", "noop")
            #expect(try await store.job(id: "job_later", tenant: nil)?.status == .pending)
            #expect(try await store.job(id: "job_other", tenant: nil)?.status == .pending)
        }
    }

    @Test("a job submitted to a paused queue wakes no parked lease: one commit per submit, not a lease walk after each")
    func pausedQueueSubmitsWakeNothing() async throws {
        try await withStore(.sqlite) { store in
            let now = Date()
            let sqlite = try #require(store as? SQLiteJobStore)
            try await store.setQueue("default", paused: true, at: now)
            let ticket = try #require(store.parkLease(
                LeaseRequest(workerId: "w", processingTypes: ["noop"], limit: 4, leaseDuration: 30, now: now, labels: [])))
            let before = sqlite.commitStatistics
            let generation = store.eventBus.work.generation
            for i in 0..<20 {
                _ = try await store.submit([NewJob(jobId: "job_p\(i)", processingType: "noop", data: .null, runAt: now, tenant: "t", createdAt: now)])
            }
            #expect(sqlite.commitStatistics.commits - before.commits == 20)
            #expect(store.eventBus.work.generation == generation)
            try await store.setQueue("default", paused: false, at: now)
            #expect(await ticket.jobs().count == 4)
        }
    }

    @Test("the database is in WAL mode and survives reopening")
    func walAndReopen() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.path + "/w.sqlite"
        let now = Date()
        for round in 0..<2 {
            let store = try SQLiteJobStore(path: path, logger: Logger(label: "test"))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { store.close() }
                if round == 0 {
                    _ = try await store.submit([NewJob(jobId: "job_keep", processingType: "noop", data: 1, runAt: now, tenant: "t", createdAt: now)])
                } else {
                    #expect(try await store.job(id: "job_keep", tenant: "t")?.status == .pending)
                }
            }
        }
        // Bytes 18 and 19 of an SQLite header are the write and read versions: 2 means WAL.
        let header = try #require(FileManager.default.contents(atPath: path))
        #expect(header.count > 20 && header[18] == 2 && header[19] == 2)
    }

    @Test("the chosen synchronous level is the one the writer really uses", arguments: SQLiteJobStore.Durability.allCases)
    func durability(level: SQLiteJobStore.Durability) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try SQLiteJobStore(path: directory.path + "/d.sqlite", durability: level, logger: Logger(label: "test"))
        #expect(try store.effectiveDurability() == level)
    }
}
