import Foundation
import GRDB
import OffloadCore

/// Counts for stats and metrics.
extension SQLiteJobStore {
    public func stats(finishedSince: Date, sampleLimit: Int) async throws -> StoreStats {
        try await read { db in
            func counts(_ rows: [Row]) -> [StatsKey: Int] {
                StoreStats.counts(rows.map { (queue: $0[0], type: $0[1], status: $0[2], count: $0[3]) })
            }
            let since = Timestamps.millis(finishedSince)
            let active = try Row.fetchAll(db, sql: StoreStats.activeSQL)
            let finished = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT queue, processing_type, status, count(*) FROM \(Self.finishedJobs)
                    WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= ?
                    GROUP BY queue, processing_type, status
                    """), arguments: [since])
            let timings = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT started_at - created_at, completed_at - started_at FROM \(Self.finishedJobs)
                    WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= ? AND started_at IS NOT NULL
                    ORDER BY completed_at DESC LIMIT ?
                    """), arguments: [since, sampleLimit])
            return StoreStats(
                active: counts(active), finished: counts(finished), waitMillis: timings.map { $0[0] }, runMillis: timings.map { $0[1] })
        }
    }
}

extension SQLiteJobStore {
    public func timeline(since: Date, bucketSeconds: Int, samplesPerBucket: Int) async throws -> [TimelineBucket] {
        let bucketMillis = Int64(bucketSeconds) * 1_000
        return try await read { db in
            let counts = try Row.fetchAll(
                db.cachedStatement(sql: TimelineBucket.countsSQL(from: Self.finishedJobs)),
                arguments: [bucketMillis, Timestamps.millis(since)]
            ).map { (bucket: $0[0] as Int64, status: $0[1] as String, count: $0[2] as Int) }
            let sample = try db.cachedStatement(sql: TimelineBucket.sampleSQL(from: Self.finishedJobs))
            let samples = try Set(counts.map(\.bucket)).sorted().map { bucket in
                let rows = try Row.fetchAll(
                    sample, arguments: [bucket * bucketMillis, (bucket + 1) * bucketMillis, samplesPerBucket])
                return (bucket: bucket, timings: rows.map { (wait: $0[0] as Int64, run: $0[1] as Int64) })
            }
            return TimelineBucket.buckets(bucketMillis: bucketMillis, counts: counts, samples: samples)
        }
    }

    /// Finished jobs, through their covering index.
    static let finishedJobs = "jobs INDEXED BY jobs_finished"
}
