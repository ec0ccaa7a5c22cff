import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// `GET /api/stats`: per queue and per type, jobs waiting and running now and finished in the last hour;
/// wait and run time percentiles; workers by status. Read from the store's cheap aggregates, the numbers
/// the dashboard and `offload stats` show.
struct StatsRoutes {
    let store: any JobStore
    let configuration: ServerConfiguration
    /// The window of the "finished" counts and the percentiles.
    static let window: TimeInterval = 3_600
    /// Percentiles come from at most this many of the newest finished jobs.
    static let sampleLimit = 10_000
    /// The series' percentiles come from at most this many jobs of each minute.
    static let seriesSamples = 500

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.get("/stats", use: stats)
        group.get("/stats/series", use: series)
    }

    /// `GET /api/stats`.
    @Sendable func stats(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        return HTTPJSON.response(json: try await stats(now: Date()))
    }

    /// `GET /api/stats/series`.
    @Sendable func series(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        var minutes = 60
        if let text = request.uri.queryParameters["minutes"] {
            guard let value = Int(text), Limits.statsMinutes.allows(value) else {
                throw OffloadError.badRequest("minutes must be an integer in \(Limits.statsMinutes.range)")
            }
            minutes = value
        }
        return HTTPJSON.response(json: try await series(minutes: minutes, now: Date()))
    }

    /// Per minute over the last `minutes` (the current minute last, empty minutes included): jobs completed,
    /// failed and cancelled, and wait and run time percentiles from up to `seriesSamples` jobs of each minute.
    func series(minutes: Int, now: Date) async throws -> JSONValue {
        let nowMinute = Int64(now.timeIntervalSince1970) / 60
        let first = nowMinute - Int64(minutes) + 1
        let buckets = try await store.timeline(
            since: Date(timeIntervalSince1970: TimeInterval(first * 60)), bucketSeconds: 60, samplesPerBucket: Self.seriesSamples)
        let byMinute = Dictionary(buckets.map { (Int64($0.start.timeIntervalSince1970) / 60, $0) }) { first, _ in first }
        return [
            "bucketSeconds": 60,
            "buckets": .array((first...nowMinute).map { minute in
                let bucket = byMinute[minute]
                return [
                    "at": .string(Timestamps.format(Date(timeIntervalSince1970: TimeInterval(minute * 60)))),
                    "completed": .int(Int64(bucket?.finished[.completed] ?? 0)),
                    "failed": .int(Int64(bucket?.finished[.failed] ?? 0)),
                    "cancelled": .int(Int64(bucket?.finished[.cancelled] ?? 0)),
                    "waitMs": Self.percentiles(bucket?.waitMillis ?? []),
                    "runMs": Self.percentiles(bucket?.runMillis ?? []),
                ]
            }),
        ]
    }

    func stats(now: Date) async throws -> JSONValue {
        let stats = try await store.stats(finishedSince: now.addingTimeInterval(-Self.window), sampleLimit: Self.sampleLimit)
        let paused = try await store.pausedQueues()
        let disabled = try await store.disabledTypes()
        let workers = try await store.workers()

        func groups(_ name: String, by key: (StatsKey) -> String, extra: (String) -> [String: JSONValue]) -> JSONValue {
            var rows: [String: [String: Int]] = [:]
            for (statsKey, count) in stats.active.merging(stats.finished, uniquingKeysWith: +) {
                rows[key(statsKey), default: [:]][statsKey.status.rawValue.lowercased(), default: 0] += count
            }
            return .array(rows.keys.sorted().map { group in
                var fields: [String: JSONValue] = [name: .string(group)]
                for status in JobStatus.allCases {
                    fields[status.rawValue.lowercased()] = .int(Int64(rows[group]?[status.rawValue.lowercased()] ?? 0))
                }
                fields.merge(extra(group)) { _, new in new }
                return .object(fields)
            })
        }
        var queues = groups("queue", by: \.queue) { ["paused": .bool(paused.contains($0))] }
        // A paused queue with nothing in it still shows.
        if case .array(var rows) = queues {
            let shown = Set(rows.compactMap { $0["queue"]?.stringValue })
            for name in paused.subtracting(shown).sorted() {
                var fields: [String: JSONValue] = ["queue": .string(name), "paused": true]
                for status in JobStatus.allCases { fields[status.rawValue.lowercased()] = 0 }
                rows.append(.object(fields))
            }
            queues = .array(rows)
        }
        let types = groups("processingType", by: \.processingType) { type in
            var fields: [String: JSONValue] = ["enabled": .bool(disabled[type] == nil)]
            if let fallback = disabled[type] { fields["fallback"] = .string(fallback.rawValue) }
            return fields
        }
        var finishedTotals: [String: Int] = [:]
        for (key, count) in stats.finished { finishedTotals[key.status.rawValue.lowercased(), default: 0] += count }
        var byStatus: [String: Int] = [:]
        for worker in workers {
            byStatus[worker.status(at: now, offlineAfter: configuration.workerOfflineAfter).rawValue, default: 0] += 1
        }
        return [
            "windowSeconds": .int(Int64(Self.window)),
            "queues": queues,
            "types": types,
            "lastHour": [
                "completed": .int(Int64(finishedTotals["completed"] ?? 0)),
                "failed": .int(Int64(finishedTotals["failed"] ?? 0)),
                "cancelled": .int(Int64(finishedTotals["cancelled"] ?? 0)),
                "completedPerSecond": .double(Double(finishedTotals["completed"] ?? 0) / Self.window),
                "waitMs": Self.percentiles(stats.waitMillis),
                "runMs": Self.percentiles(stats.runMillis),
                "sampled": .int(Int64(stats.runMillis.count)),
            ],
            "workers": .object(Dictionary(uniqueKeysWithValues: WorkerStatus.allCases.map {
                ($0.rawValue, JSONValue.int(Int64(byStatus[$0.rawValue] ?? 0)))
            })),
        ]
    }

    /// p50, p95 and p99 of a sample (nearest rank); nulls when it is empty.
    static func percentiles(_ values: [Int64]) -> JSONValue {
        let sorted = values.sorted()
        func rank(_ p: Double) -> JSONValue {
            guard !sorted.isEmpty else { return .null }
            let index = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
            return .int(sorted[index])
        }
        return ["p50": rank(50), "p95": rank(95), "p99": rank(99)]
    }
}
