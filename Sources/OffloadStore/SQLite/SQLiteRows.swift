import Foundation
import GRDB
import OffloadCore

/// Column lists and row decoding shared by the SQLite store's queries.
enum SQLiteRows {
    static let jobColumns = """
        id, processing_type, queue, data, options, status, progress, message, result, error, attempt, \
        max_attempts, priority, run_at, timeout_seconds, idempotency_key, tenant, worker_id, cancel_requested, \
        created_at, started_at, completed_at, last_seq, lease_token, lease_expires_at, errors, cached_from, \
        inline_events, processing_seq
        """

    static func jobRow(_ row: Row) throws -> JobRow {
        let statusText: String = row[5]
        guard let status = JobStatus(rawValue: statusText) else {
            throw OffloadError.unavailable("corrupt job row")
        }
        let resultText: String? = row[8]
        let job = Job(
            jobId: row[0],
            processingType: row[1],
            queue: row[2],
            data: try JSONValue.parse(row[3] as String),
            options: try JSONValue.parse(row[4] as String),
            status: status,
            progress: row[6],
            message: row[7],
            result: try resultText.map { try JSONValue.parse($0) },
            error: row[9],
            attempt: row[10],
            maxAttempts: row[11],
            priority: row[12],
            runAt: Timestamps.date(millis: row[13]),
            timeoutSeconds: row[14],
            idempotencyKey: row[15],
            tenant: row[16],
            workerId: row[17],
            cancelRequested: (row[18] as Int64) != 0,
            createdAt: Timestamps.date(millis: row[19]),
            startedAt: (row[20] as Int64?).map(Timestamps.date(millis:)),
            completedAt: (row[21] as Int64?).map(Timestamps.date(millis:)),
            errors: try JSONValue.parse(row[25] as String).arrayValue?.compactMap(AttemptError.init(json:)) ?? [],
            cachedFrom: row[26]
        )
        return JobRow(
            job: job,
            lastSeq: row[22],
            leaseToken: row[23],
            leaseExpiresAt: (row[24] as Int64?).map(Timestamps.date(millis:)),
            inline: InlineEvents(rawValue: row[27]),
            processingSeq: row[28]
        )
    }

    static func event(_ row: Row) throws -> JobEvent {
        let kindText: String = row[2]
        guard let kind = EventKind(rawValue: kindText) else { throw OffloadError.unavailable("corrupt event row") }
        return JobEvent(
            jobId: row[0],
            seq: row[1],
            kind: kind,
            data: try JSONValue.parse(row[3] as String),
            at: Timestamps.date(millis: row[4])
        )
    }

    static func key(_ row: Row) throws -> StoredKey {
        let roleText: String = row[2]
        guard let role = Role(rawValue: roleText) else { throw OffloadError.unavailable("corrupt key row") }
        return StoredKey(
            id: row[0], name: row[1], role: role, tenant: row[3], secretHash: row[4],
            createdAt: Timestamps.date(millis: row[5]))
    }

    static func schedule(_ row: Row) throws -> Schedule {
        Schedule(
            name: row[0], cron: row[1], processingType: row[2], queue: row[3], data: try JSONValue.parse(row[4] as String),
            options: try JSONValue.parse(row[5] as String), tenant: row[6], nextRunAt: Timestamps.date(millis: row[7]),
            createdAt: Timestamps.date(millis: row[8]))
    }
}
