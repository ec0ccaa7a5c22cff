import Foundation
import OffloadCore
import PostgresNIO

/// Column lists and row decoding shared by the PostgreSQL store's queries (the same shapes as SQLite's).
enum PostgresRows {
    /// The job columns in the order `jobRow` reads them; `table` qualifies them where a join needs it.
    static func jobColumns(_ table: String = "") -> String {
        let p = table.isEmpty ? "" : table + "."
        return """
            \(p)id, \(p)processing_type, \(p)queue, \(p)data, \(p)options, \(p)status, \(p)progress, \(p)message, \
            \(p)result, \(p)error, \(p)attempt, \(p)max_attempts, \(p)priority, \(p)run_at, \(p)timeout_seconds, \
            \(p)idempotency_key, \(p)tenant, \(p)worker_id, \(p)cancel_requested, \(p)created_at, \(p)started_at, \
            \(p)completed_at, \(p)last_seq, \(p)lease_token, \(p)lease_expires_at, \(p)errors::text, \(p)cached_from, \
            \(p)inline_events, \(p)processing_seq
            """
    }

    static let eventColumns = "job_id, seq, kind, data, at"
    static let keyColumns = "id, name, role, tenant, secret_hash, created_at"
    static let scheduleColumns = "name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at"

    static func jobRow(_ row: PostgresRow) throws -> JobRow {
        let r = row.makeRandomAccess()
        guard let status = JobStatus(rawValue: try r[5].decode(String.self)) else {
            throw OffloadError.unavailable("corrupt job row")
        }
        let job = Job(
            jobId: try r[0].decode(String.self),
            processingType: try r[1].decode(String.self),
            queue: try r[2].decode(String.self),
            data: try JSONValue.parse(try r[3].decode(String.self)),
            options: try JSONValue.parse(try r[4].decode(String.self)),
            status: status,
            progress: try r[6].decode(Int.self),
            message: try r[7].decode(String?.self),
            result: try r[8].decode(String?.self).map { try JSONValue.parse($0) },
            error: try r[9].decode(String?.self),
            attempt: try r[10].decode(Int.self),
            maxAttempts: try r[11].decode(Int.self),
            priority: try r[12].decode(Int.self),
            runAt: Timestamps.date(millis: try r[13].decode(Int64.self)),
            timeoutSeconds: try r[14].decode(Int?.self),
            idempotencyKey: try r[15].decode(String?.self),
            tenant: try r[16].decode(String.self),
            workerId: try r[17].decode(String?.self),
            cancelRequested: try r[18].decode(Bool.self),
            createdAt: Timestamps.date(millis: try r[19].decode(Int64.self)),
            startedAt: try r[20].decode(Int64?.self).map(Timestamps.date(millis:)),
            completedAt: try r[21].decode(Int64?.self).map(Timestamps.date(millis:)),
            errors: try JSONValue.parse(try r[25].decode(String.self)).arrayValue?.compactMap(AttemptError.init(json:)) ?? [],
            cachedFrom: try r[26].decode(String?.self)
        )
        return JobRow(
            job: job,
            lastSeq: try r[22].decode(Int64.self),
            leaseToken: try r[23].decode(String?.self),
            leaseExpiresAt: try r[24].decode(Int64?.self).map(Timestamps.date(millis:)),
            inline: InlineEvents(rawValue: try r[27].decode(Int64.self)),
            processingSeq: try r[28].decode(Int64?.self)
        )
    }

    static func event(_ row: PostgresRow) throws -> JobEvent {
        let (jobId, seq, kindText, data, at) = try row.decode((String, Int64, String, String, Int64).self)
        guard let kind = EventKind(rawValue: kindText) else { throw OffloadError.unavailable("corrupt event row") }
        return JobEvent(jobId: jobId, seq: seq, kind: kind, data: try JSONValue.parse(data), at: Timestamps.date(millis: at))
    }

    static func key(_ row: PostgresRow) throws -> StoredKey {
        let (id, name, roleText, tenant, hash, created) = try row.decode((String, String, String, String, String, Int64).self)
        guard let role = Role(rawValue: roleText) else { throw OffloadError.unavailable("corrupt key row") }
        return StoredKey(id: id, name: name, role: role, tenant: tenant, secretHash: hash, createdAt: Timestamps.date(millis: created))
    }

    static func schedule(_ row: PostgresRow) throws -> Schedule {
        let (name, cron, type, queue, data, options, tenant, next, created) =
            try row.decode((String, String, String, String, String, String, String, Int64, Int64).self)
        return Schedule(
            name: name, cron: cron, processingType: type, queue: queue, data: try JSONValue.parse(data),
            options: try JSONValue.parse(options), tenant: tenant, nextRunAt: Timestamps.date(millis: next),
            createdAt: Timestamps.date(millis: created))
    }

    /// Events as the column arrays that `INSERT … SELECT * FROM unnest(…)` takes: one round trip for any number.
    struct EventColumns {
        var jobIds: [String] = []
        var seqs: [Int64] = []
        var kinds: [String] = []
        var data: [String] = []
        var at: [Int64] = []

        init(_ events: [JobEvent]) {
            for event in events {
                jobIds.append(event.jobId)
                seqs.append(event.seq)
                kinds.append(event.kind.rawValue)
                data.append(event.data.jsonString())
                at.append(Timestamps.millis(event.at))
            }
        }
    }
}
