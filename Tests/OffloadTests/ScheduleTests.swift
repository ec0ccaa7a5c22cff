import Foundation
import Logging
import OffloadCore
import OffloadProcessing
@testable import OffloadServer
import OffloadStore
import Testing

private func utc(_ text: String) -> Date { Timestamps.parse(text)! }

/// A scheduler on `store`, storing through a submitter as the server's does.
private func makeScheduler(_ store: any JobStore) -> Scheduler {
    let metrics = ServerMetrics(store: store, streams: StreamQuota(limit: 1), offlineAfter: 30)
    let submitter = JobSubmitter(
        store: store, processors: ProcessorRegistry([]), switches: TypeSwitches(store: store), typeTimeouts: [:], metrics: metrics)
    return Scheduler(submitter: submitter, interval: .seconds(1), logger: Logger(label: "test"))
}

private func everyMinute(_ name: String, next: Date) -> Schedule {
    Schedule(
        name: name, cron: "* * * * *", processingType: "noop", queue: "default", data: ["from": .string(name)],
        options: [:], tenant: "acme", nextRunAt: next, createdAt: next.addingTimeInterval(-60))
}

@Suite("Cron schedules")
struct ScheduleTests {
    @Test("cron expressions find their next minute in UTC, with lists, ranges, steps, macros and either day field")
    func cron() throws {
        #expect(try CronExpression("*/15 * * * *").next(after: utc("2026-11-25T10:07:30Z")) == utc("2026-11-25T10:15:00Z"))
        #expect(try CronExpression("*/15 * * * *").next(after: utc("2026-11-25T10:15:00Z")) == utc("2026-11-25T10:30:00Z"))
        // 2026-11-27 is a Friday: the next weekday 09:00 is Monday the 30th.
        #expect(try CronExpression("0 9 * * 1-5").next(after: utc("2026-11-27T10:00:00Z")) == utc("2026-11-30T09:00:00Z"))
        #expect(try CronExpression("@daily").next(after: utc("2026-12-31T23:59:00Z")) == utc("2027-01-01T00:00:00Z"))
        #expect(try CronExpression("30 2 1,15 * *").next(after: utc("2026-11-25T00:00:00Z")) == utc("2026-12-01T02:30:00Z"))
        // Both day fields restricted: the 13th or a Friday, whichever comes first.
        #expect(try CronExpression("0 0 13 * 5").next(after: utc("2026-11-25T00:00:00Z")) == utc("2026-11-27T00:00:00Z"))
        #expect(try CronExpression("0 0 * * 7").next(after: utc("2026-11-25T00:00:00Z")) == utc("2026-11-29T00:00:00Z"))
        #expect(try CronExpression("0 0 30 2 *").next(after: utc("2026-11-25T00:00:00Z")) == nil)
        for bad in ["* * * *", "61 * * * *", "* 24 * * *", "*/0 * * * *", "5-1 * * * *", "a * * * *", "* * * * * *"] {
            #expect(throws: OffloadError.self, "\(bad)") { try CronExpression(bad) }
        }
    }

    @Test("schedules are saved, listed, found when due and advanced only from the tick they were at", arguments: StoreKind.allCases)
    func store(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let tick = utc("2026-11-25T10:00:00Z")
            try await store.saveSchedule(everyMinute("b", next: tick))
            try await store.saveSchedule(everyMinute("a", next: tick.addingTimeInterval(60)))
            #expect(try await store.schedules().map(\.name) == ["a", "b"])
            #expect(try await store.schedules().first { $0.name == "b" } == everyMinute("b", next: tick))
            #expect(try await store.dueSchedules(at: tick).map(\.name) == ["b"])
            #expect(try await store.advanceSchedule(name: "b", from: tick, to: tick.addingTimeInterval(60)))
            #expect(try await !store.advanceSchedule(name: "b", from: tick, to: tick.addingTimeInterval(120)))
            #expect(try await store.dueSchedules(at: tick).isEmpty)
            #expect(try await store.deleteSchedule(name: "a"))
            #expect(try await !store.deleteSchedule(name: "a"))
            #expect(try await store.schedules().map(\.name) == ["b"])
        }
    }

    @Test("two servers enqueuing the same tick store one job, and the schedule moves to its next tick", arguments: StoreKind.allCases)
    func onePerTick(kind: StoreKind) async throws {
        try await withTwoStores(kind) { first, second in
            let tick = utc("2026-11-25T10:00:00Z")
            try await first.saveSchedule(everyMinute("sync", next: tick))
            let now = tick.addingTimeInterval(0.5)
            let schedulers = [first, second].map(makeScheduler)
            async let a = schedulers[0].enqueueDue(now: now)
            async let b = schedulers[1].enqueueDue(now: now)
            let outcomes = try await a + b
            #expect(outcomes.filter(\.created).count == 1)
            #expect(Set(outcomes.map(\.job.jobId)).count == 1)
            #expect(try await first.jobs(JobQuery(tenant: "acme")).jobs.count == 1)
            #expect(try await second.schedules().first?.nextRunAt == tick.addingTimeInterval(60))
            // Nothing is due again within the tick.
            #expect(try await schedulers[1].enqueueDue(now: tick.addingTimeInterval(30)).isEmpty)
        }
    }

    @Test("a tick missed while no server ran is enqueued once when one starts within the next tick", arguments: StoreKind.allCases)
    func missedTick(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let tick = utc("2026-11-25T10:00:00Z")
            try await store.saveSchedule(everyMinute("report", next: tick))
            let scheduler = makeScheduler(store)
            let outcomes = try await scheduler.enqueueDue(now: tick.addingTimeInterval(45))
            #expect(outcomes.map(\.created) == [true])
            #expect(outcomes.first?.job.idempotencyKey == "schedule:report:\(Timestamps.millis(tick))")
            #expect(try await store.schedules().first?.nextRunAt == tick.addingTimeInterval(60))
        }
    }

    @Test("POST /api/schedules takes a cron expression and a valid job (admin only); bad ones get 4xx")
    func routes() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let body: JSONValue = ["name": "nightly", "cron": "0 3 * * *", "processingType": "noop", "data": ["n": 1]]
            let created = try await server.call("POST", "/api/schedules", json: body)
            #expect(created.status == 201)
            #expect(created.json["queue"] == "default")
            let next = try #require(created.json["nextRunAt"]?.stringValue.flatMap(Timestamps.parse))
            #expect(next > Date() && next <= Date().addingTimeInterval(86_400))
            #expect(try await server.call("GET", "/api/schedules").json["schedules"]?.arrayValue?.count == 1)
            var bad = body
            bad = ["name": "x", "cron": "0 25 * * *", "processingType": "noop"]
            #expect(try await server.call("POST", "/api/schedules", json: bad).status == 422)
            bad = ["name": "x", "cron": "* * * * *", "processingType": "nope"]
            #expect(try await server.call("POST", "/api/schedules", json: bad).status == 422)
            bad = ["cron": "* * * * *", "processingType": "noop"]
            #expect(try await server.call("POST", "/api/schedules", json: bad).status == 400)
            // A type only a registered worker declares is accepted, as its submit is.
            let custom: JSONValue = ["name": "report", "cron": "0 * * * *", "processingType": "custom.report", "data": [:]]
            #expect(try await server.call("POST", "/api/schedules", json: custom).status == 422)
            let workerKey = try await server.makeKey(role: "worker", tenant: "default")
            let registered = try await server.call(
                "POST", "/api/workers/register", key: workerKey,
                json: ["name": "reports", "processingTypes": ["custom.report"], "maxConcurrentJobs": 1])
            #expect(registered.status == 201)
            #expect(try await server.call("POST", "/api/schedules", json: custom).status == 201)
            let client = try await server.makeKey(role: "client", tenant: "acme")
            #expect(try await server.call("POST", "/api/schedules", key: client, json: body).status == 403)
            #expect(try await server.call("DELETE", "/api/schedules/nightly").status == 204)
            #expect(try await server.call("DELETE", "/api/schedules/nightly").status == 404)
        }
    }
}
