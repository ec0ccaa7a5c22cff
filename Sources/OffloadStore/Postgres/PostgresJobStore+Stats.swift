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
