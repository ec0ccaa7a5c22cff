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
