import Foundation
import GRDB
import OffloadClient
import OffloadCore
import Testing

/// A store written by the release before storage v2 (schema 015), made by `Fixtures/make_store_fixture.py` with
/// that release's binary and dumped with `sqlite3 .dump`: nine jobs in every status (one of each lifecycle path,
/// with reported events), three keys, a template and a schedule.
private let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/store-schema-015.sql")
/// The same release's PostgreSQL database, made by the same script and dumped with `pg_dump --no-owner --no-privileges`.
private let pgFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/pg-store-schema-007.sql").path
/// The admin key the fixture's server ran with (only its hash is in the dump).
private let fixtureKey = "fixture-admin-key-0123456789abcdef"

/// The fixture's store, written as `offload.sqlite` in `directory` (close it before a server opens it).
private func loadFixture(into directory: TemporaryDirectory) async throws -> DatabaseQueue {
    let database = try DatabaseQueue(path: directory.path + "/offload.sqlite")
    try await database.writeWithoutTransaction { db in try db.execute(sql: String(contentsOf: fixture, encoding: .utf8)) }
    return database
}

/// What the old store held: each job's status, each job's stored event seqs, and the delayed job's `run_at`.
private struct Before: Sendable {
    var jobs: [String: String]
    var events: [String: [Int64]]
    var delayedRunAt: Int64?
}

@Suite("Upgrade: a store written by the previous release", .serialized)
struct UpgradeTests {
    @Test("the new binary migrates it at start-up: every job, event, key, template and schedule is there, the unfinished jobs run, replay stays exact")
    func upgradeFromSchema015() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await loadFixture(into: directory)
        let before = try await database.read { db in
            var events: [String: [Int64]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT job_id, seq FROM job_events ORDER BY job_id, seq") {
                events[row[0], default: []].append(row[1])
            }
            let jobs = try Row.fetchAll(db, sql: "SELECT id, status FROM jobs").map { row -> (String, String) in (row[0], row[1]) }
            let delayedRunAt = try Int64.fetchOne(db, sql: "SELECT run_at FROM jobs WHERE data = '{\"name\":\"delayed\"}'")
            return Before(jobs: Dictionary(uniqueKeysWithValues: jobs), events: events, delayedRunAt: delayedRunAt)
        }
        try database.close()
        try await checkUpgrade(of: before, dataDir: directory.path, arguments: [])
    }

    @Test("the same on PostgreSQL: a database written by the previous release is migrated, nothing is lost, the unfinished jobs run")
    func upgradePostgresFromMigration007() async throws {
        let cluster = try await PostgresCluster.shared()
        let location = try await cluster.makeDatabase()
        try await cluster.load(pgFixture, into: location)
        var events: [String: [Int64]] = [:]
        for line in try await cluster.query("SELECT job_id, seq FROM job_events ORDER BY job_id, seq", in: location) {
            events[line[0], default: []].append(Int64(line[1]) ?? -1)
        }
        let jobs = try await cluster.query("SELECT id, status FROM jobs", in: location).map { ($0[0], $0[1]) }
        let delayed = try await cluster.query("SELECT run_at FROM jobs WHERE data = '{\"name\":\"delayed\"}'", in: location)
        let before = Before(
            jobs: Dictionary(uniqueKeysWithValues: jobs), events: events, delayedRunAt: delayed.first.flatMap { Int64($0[0]) })
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        try await checkUpgrade(of: before, dataDir: directory.path, arguments: ["--database", cluster.url(location)])
    }

    /// Starts the new binary on the old store and checks that it kept everything and runs what was unfinished.
    private func checkUpgrade(of before: Before, dataDir: String, arguments: [String]) async throws {
        #expect(before.jobs.count == 9)
        #expect(Set(before.jobs.values) == ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"])

        // The processing job's lease (30 s) expired long ago: the sweeper hands it back, and it runs too.
        let server = try await OffloadProcess.serve(
            dataDir: dataDir, arguments: ["--workers", "4"] + arguments, environment: ["OFFLOAD_ADMIN_KEY": fixtureKey])
        defer { server.signal(SIGKILL) }
        let api = TestServer(baseURL: server.baseURL)
        let delayedStillDue = (before.delayedRunAt ?? 0) > Int64(Date().timeIntervalSince1970 * 1000) + 60_000
        var jobs: [String: JSONValue] = [:]
        for _ in 0..<200 {
            let page = try await api.call("GET", "/api/jobs?limit=50", key: fixtureKey).json["jobs"]?.arrayValue ?? []
            jobs = Dictionary(uniqueKeysWithValues: page.compactMap { job in job["jobId"]?.stringValue.map { ($0, job) } })
            let open = jobs.values.filter { ["PENDING", "PROCESSING"].contains($0["status"]?.stringValue) }
            if open.count == (delayedStillDue ? 1 : 0) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(Set(before.jobs.keys).isSubset(of: jobs.keys), "every job of the old store is there")
        // Besides them, only the jobs of the schedule's ticks since the fixture was made.
        let extra = jobs.filter { before.jobs[$0.key] == nil }.values
        #expect(extra.allSatisfy { $0["data"]?["from"] == "schedule" }, "\(extra)")
        for (id, old) in before.jobs {
            let now = jobs[id]?["status"]?.stringValue
            let name = jobs[id]?["data"]?["name"]?.stringValue ?? "?"
            switch old {
            case "COMPLETED", "FAILED", "CANCELLED": #expect(now == old, "\(name) stays \(old)")
            default: #expect(now == (name == "delayed" && delayedStillDue ? "PENDING" : "COMPLETED"), "\(name) ran")
            }
            // Its old events are all there, unchanged in order, and the new ones follow without a gap.
            let events = try await api.call("GET", "/api/jobs/\(id)/events?after=0&limit=100", key: fixtureKey)
                .json["events"]?.arrayValue ?? []
            let seqs = events.compactMap { $0["seq"]?.intValue }
            #expect(!seqs.isEmpty && seqs == (1...Int64(seqs.count)).map { $0 }, "\(name): \(seqs)")
            let stored = before.events[id] ?? []
            #expect(seqs.prefix(stored.count).map { $0 } == stored, "\(name)")
            if let now, now != "PENDING" {
                #expect(events.last?["kind"]?.stringValue == now.lowercased(), "\(name) ends with its final event")
            }
            // SSE resumed after the first event replays exactly the rest.
            if now != "PENDING", seqs.count > 1 {
                let resumed = try await api.sse("/api/sse/job-progress/\(id)", key: fixtureKey, lastEventId: "1")
                #expect(resumed.compactMap { $0.id.flatMap(Int64.init) } == Array(seqs.dropFirst()), "\(name) resumed")
            }
        }
        let keys = try await api.call("GET", "/api/keys", key: fixtureKey).json["keys"]?.arrayValue ?? []
        let names = Set(keys.compactMap { $0["name"]?.stringValue })
        #expect(names.isSuperset(of: ["fixture-worker", "fixture-client"]))
        let templates = try await api.call("GET", "/api/templates", key: fixtureKey).json
        #expect("\(templates)".contains("nightly"))
        let schedules = try await api.call("GET", "/api/schedules", key: fixtureKey).json
        #expect("\(schedules)".contains("hourly"))
        // A new job on the upgraded store runs and replays from its row: PENDING, PROCESSING, completed.
        let fresh = try await api.call("POST", "/api/jobs?wait=10", key: fixtureKey, json: ["processingType": "noop", "data": ["n": 1]])
        #expect(fresh.json["status"] == "COMPLETED")
        let id = try #require(fresh.json["jobId"]?.stringValue)
        let replay = try await api.sse("/api/sse/job-progress/\(id)", key: fixtureKey, lastEventId: "0")
        #expect(replay.map(\.event) == ["snapshot", "status", "status", "completed"])
        #expect(replay.map(\.id) == [nil, "1", "2", "3"])
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test("a log with a gap (a job written by a newer release, read by this one) ends its SSE backlog instead of spinning")
    func gapEndsTheBacklog() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let database = try await loadFixture(into: directory)
        let id = try await database.write { db -> String in
            let id = try String.fetchOne(db, sql: "SELECT id FROM jobs WHERE data = '{\"name\":\"completed\"}'") ?? ""
            try db.execute(sql: "DELETE FROM job_events WHERE job_id = ? AND seq = 3", arguments: [id])
            return id
        }
        try database.close()
        let server = try await OffloadProcess.serve(
            dataDir: directory.path, arguments: ["--workers", "0"], environment: ["OFFLOAD_ADMIN_KEY": fixtureKey])
        defer { server.signal(SIGKILL) }
        let api = TestServer(baseURL: server.baseURL)
        let replay = try await api.sse("/api/sse/job-progress/\(id)", key: fixtureKey, lastEventId: "0")
        #expect(replay.compactMap(\.id) == ["1", "2"])
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }
}
