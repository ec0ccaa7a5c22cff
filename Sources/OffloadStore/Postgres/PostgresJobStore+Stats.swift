import Foundation
import OffloadCore
import PostgresNIO

/// Counts for stats and metrics.
extension PostgresJobStore {
    public func stats(finishedSince: Date, sampleLimit: Int) async throws -> StoreStats {
        let since = Timestamps.millis(finishedSince)
        @Sendable func counts(_ rows: [(String, String, String, Int64)]) -> [StatsKey: Int] {
            StoreStats.counts(rows.map { (queue: $0.0, type: $0.1, status: $0.2, count: Int($0.3)) })
        }
        return try await autocommit { connection in
            let active = try await Self.collect(
                connection.query(PostgresQuery(unsafeSQL: StoreStats.activeSQL), logger: self.logger)
            ) { try $0.decode((String, String, String, Int64).self) }
            let finished = try await Self.collect(connection.query("""
                SELECT queue, processing_type, status, count(*) FROM jobs
                WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= \(since)
                GROUP BY queue, processing_type, status
                """, logger: self.logger)) { try $0.decode((String, String, String, Int64).self) }
            let timings = try await Self.collect(connection.query("""
                SELECT started_at - created_at, completed_at - started_at FROM jobs
                WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= \(since) AND started_at IS NOT NULL
                ORDER BY completed_at DESC LIMIT \(Int64(sampleLimit))
                """, logger: self.logger)) { try $0.decode((Int64, Int64).self) }
            return StoreStats(
                active: counts(active), finished: counts(finished), waitMillis: timings.map(\.0), runMillis: timings.map(\.1))
        }
    }
}

extension PostgresJobStore {
    public func timeline(since: Date, bucketSeconds: Int, samplesPerBucket: Int) async throws -> [TimelineBucket] {
        let bucketMillis = Int64(bucketSeconds) * 1_000
        let sinceMillis = Timestamps.millis(since)
        return try await autocommit { connection in
            var countBindings = PostgresBindings(capacity: 2)
            countBindings.append(bucketMillis)
            countBindings.append(sinceMillis)
            let counts = try await Self.collect(connection.query(
                PostgresQuery(unsafeSQL: Self.numberedPlaceholders(TimelineBucket.countsSQL(from: "jobs")), binds: countBindings),
                logger: self.logger)) { try $0.decode((Int64, String, Int64).self) }
                .map { (bucket: $0.0, status: $0.1, count: Int($0.2)) }
            let sampleSQL = Self.numberedPlaceholders(TimelineBucket.sampleSQL(from: "jobs"))
            var samples: [(bucket: Int64, timings: [(wait: Int64, run: Int64)])] = []
            for bucket in Set(counts.map(\.bucket)).sorted() {
                var bindings = PostgresBindings(capacity: 3)
                bindings.append(bucket * bucketMillis)
                bindings.append((bucket + 1) * bucketMillis)
                bindings.append(Int64(samplesPerBucket))
                let rows = try await Self.collect(
                    connection.query(PostgresQuery(unsafeSQL: sampleSQL, binds: bindings), logger: self.logger)
                ) { try $0.decode((Int64, Int64).self) }
                samples.append((bucket: bucket, timings: rows.map { (wait: $0.0, run: $0.1) }))
            }
            return TimelineBucket.buckets(bucketMillis: bucketMillis, counts: counts, samples: samples)
        }
    }

    /// SQLite's `?` placeholders as PostgreSQL's `$1`, `$2`, … (the statements have no `?` in a literal).
    static func numberedPlaceholders(_ sql: String) -> String {
        var number = 0
        var numbered = ""
        for character in sql {
            if character == "?" {
                number += 1
                numbered += "$\(number)"
            } else {
                numbered.append(character)
            }
        }
        return numbered
    }
}
