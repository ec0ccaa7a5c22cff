import Foundation
import GRDB
import OffloadCore

/// The SQLite store's leases and everything a lease holder reports: progress, the final outcome, heartbeats;
/// and the transitions around them (cancel, retry, expiry, pruning).
extension SQLiteJobStore {
    public func nextRunAt(after now: Date) async throws -> Date? {
        try await read { db in
            try Int64.fetchOne(
                // Named: without statistics the planner would rather walk every PENDING row through `jobs_status`.
                db.cachedStatement(sql: """
                    SELECT MIN(run_at) FROM jobs INDEXED BY jobs_delayed_run_at
                    WHERE status = 'PENDING' AND run_at > created_at AND run_at > ?
                    """),
                arguments: [Timestamps.millis(now)]
            ).map(Timestamps.date(millis:))
        }
    }

    public func lease(_ request: LeaseRequest) async throws -> [LeasedJob] {
        guard request.limit > 0 else { return [] }
        return try await writer.write { db in try Self.lease(request, db) }
    }

    public func parkLease(_ request: LeaseRequest) -> LeaseTicket? {
        guard request.limit > 0 else { return nil }
        let ticket = LeaseTicket()
        let id = writer.park({ db in
            var dated = request
            dated.now = Date()
            return try Self.lease(dated, db)
        }, resume: { ticket.answer($0) })
        let writer = self.writer
        ticket.onWithdraw { writer.unpark(id) }
        return ticket
    }

    /// Leases in the open transaction: the jobs, sorted as leases go, and the status events to publish.
    private static func lease(_ request: LeaseRequest, _ db: Database) throws -> ([LeasedJob], WriteEffects) {
        // Without statistics the planner would rather read `jobs_status` and sort every pending row on
        // each lease (a temporary B-tree: ~1,000 jobs/s with 10,000 waiting); the ready index is already
        // in lease order, so the walk stops after `limit` matches. A lease of named jobs goes by id.
        let ready = request.jobIds == nil ? "jobs INDEXED BY jobs_ready" : "jobs"
        var sql = """
            UPDATE jobs SET status = 'PROCESSING', attempt = attempt + 1, worker_id = ?,
                lease_token = lower(hex(randomblob(16))), lease_expires_at = ?, started_at = ?,
                progress = 0, message = NULL, last_seq = last_seq + 1, processing_seq = last_seq + 1
            WHERE id IN (SELECT id FROM \(ready) WHERE status = 'PENDING' AND run_at <= ?
                AND queue NOT IN (SELECT queue FROM paused_queues)
            """
        let now = Timestamps.millis(request.now)
        var arguments: StatementArguments = [
            request.workerId, now + Int64(request.leaseDuration * 1000), now, now,
        ]
        if let types = request.processingTypes {
            guard !types.isEmpty else { return ([], .none) }
            sql += " AND processing_type IN (\(Array(repeating: "?", count: types.count).joined(separator: ",")))"
            arguments += StatementArguments(types)
        }
        if let ids = request.jobIds {
            guard !ids.isEmpty else { return ([], .none) }
            sql += " AND id IN (\(Array(repeating: "?", count: ids.count).joined(separator: ",")))"
            arguments += StatementArguments(ids)
        }
        if let labels = request.labels {
            // Every label the job asks for must be among the worker's.
            sql += labels.isEmpty
                ? " AND labels IS NULL"
                : " AND (labels IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(labels) WHERE value NOT IN (\(Array(repeating: "?", count: labels.count).joined(separator: ",")))))"
            arguments += StatementArguments(labels)
        }
        sql += " ORDER BY priority DESC, run_at, id LIMIT ?) RETURNING \(SQLiteRows.jobColumns)"
        arguments += [request.limit]
        // Decoded from the cursor's rows (views on the statement), without copying each row first.
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        var leased: [LeasedJob] = []
        var effects = WriteEffects()
        while let row = try rows.next() {
            let jobRow = try SQLiteRows.jobRow(row)
            // Published, not stored: the row stands for it (`processing_seq`).
            let event = JobEvent(
                jobId: jobRow.job.jobId, seq: jobRow.lastSeq, kind: .status,
                data: .processing(attempt: jobRow.job.attempt, workerId: request.workerId), at: request.now)
            effects.events.append(event)
            leased.append(LeasedJob(
                job: jobRow.job, leaseToken: jobRow.leaseToken ?? "",
                leaseExpiresAt: jobRow.leaseExpiresAt ?? request.now))
        }
        return (leased.sorted(by: LeasedJob.leaseOrder), effects)
    }

    public func report(jobId: String, leaseToken: String, events: [EventReport], at: Date) async throws -> ReportOutcome {
        guard let bad = events.first(where: { !$0.kind.isReportable }) else {
            return try await writer.write { db in
                let lease = try Self.checkLease(jobId: jobId, leaseToken: leaseToken, db)
                var seq = lease.lastSeq
                var written: [JobEvent] = []
                var progress: Int?
                var message: String??
                for report in events {
                    seq += 1
                    written.append(JobEvent(jobId: jobId, seq: seq, kind: report.kind, data: report.data, at: at))
                    if report.kind == .progress, let p = report.data["progress"]?.intValue {
                        progress = Int(max(0, min(100, p)))
                        message = .some(report.data["message"]?.stringValue)
                    }
                }
                if !written.isEmpty {
                    try Self.insert(written, db)
                    if let progress {
                        try db.cachedStatement(sql: "UPDATE jobs SET last_seq = ?, progress = ?, message = ? WHERE id = ?")
                            .execute(arguments: [seq, progress, message ?? nil, jobId])
                    } else {
                        try db.cachedStatement(sql: "UPDATE jobs SET last_seq = ? WHERE id = ?")
                            .execute(arguments: [seq, jobId])
                    }
                }
                return (ReportOutcome(events: written, cancelRequested: lease.cancelRequested), WriteEffects(events: written))
            }
        }
        throw OffloadError.unprocessable("a worker may report progress, log and token events, not \(bad.kind.rawValue)")
    }

    public func complete(jobId: String, leaseToken: String, result: JSONValue, at: Date) async throws -> Job {
        // Encoded before the write: the writer thread is the one every write waits for.
        try await writer.write(
            Completion(jobId: jobId, leaseToken: leaseToken, result: result.jsonString(), at: at), in: completions)
    }

    /// A job's result waiting for the writer.
    struct Completion: Sendable {
        let jobId: String
        let leaseToken: String
        let result: String
        let at: Date
    }

    /// Completes the jobs of concurrent completions together: one `UPDATE … FROM` and one event insert for up
    /// to `rowsPerStatement` of them, instead of two statements each. A completion that updates nothing (lease
    /// lost, job gone or already final) fails alone, with the reason.
    static func complete(_ completions: [Completion], _ db: Database) throws -> [Result<(Job, WriteEffects), any Error>] {
        let (firsts, repeats) = firstsAndRepeats(completions.map(\.jobId))
        guard !repeats.isEmpty else { return try completeDistinct(completions, db) }
        var results = [Result<(Job, WriteEffects), any Error>?](repeating: nil, count: completions.count)
        for (index, result) in zip(firsts, try completeDistinct(firsts.map { completions[$0] }, db)) { results[index] = result }
        for (index, result) in zip(repeats, try complete(repeats.map { completions[$0] }, db)) { results[index] = result }
        return results.map { $0! }
    }

    /// `complete` for completions of distinct jobs: each returned row belongs to the one completion of its job.
    private static func completeDistinct(_ completions: [Completion], _ db: Database) throws -> [Result<(Job, WriteEffects), any Error>] {
        var done: [String: JobRow] = [:]
        for chunk in completions.chunks(of: rowsPerStatement) {
            var arguments = StatementArguments()
            for completion in chunk {
                arguments += [completion.jobId, completion.leaseToken, completion.result, Timestamps.millis(completion.at)]
            }
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: """
                    WITH done (job_id, token, value, at_ms) AS (VALUES \(placeholders(rows: chunk.count, "(?, ?, ?, ?)")))
                    UPDATE jobs SET status = 'COMPLETED', completed_at = done.at_ms, lease_token = NULL,
                        lease_expires_at = NULL, cancel_requested = 0, last_seq = last_seq + 1, progress = 100,
                        result = done.value, error = NULL, inline_events = inline_events | \(InlineEvents.final.rawValue)
                    FROM done
                    WHERE jobs.id = done.job_id AND jobs.status IN (\(JobStatus.sqlPredecessors(of: .completed)))
                        AND jobs.lease_token = done.token
                    RETURNING \(SQLiteRows.jobColumns)
                    """),
                arguments: arguments)
            while let row = try rows.next() {
                let jobRow = try SQLiteRows.jobRow(row)
                done[jobRow.job.jobId] = jobRow
            }
        }
        var results: [Result<(Job, WriteEffects), any Error>] = []
        for completion in completions {
            guard let jobRow = done.removeValue(forKey: completion.jobId) else {
                results.append(.failure(refusal(jobId: completion.jobId, becoming: .completed, leaseToken: completion.leaseToken, db)))
                continue
            }
            results.append(.success(try finished(jobRow, status: .completed, at: completion.at, db)))
        }
        return results
    }

    public func fail(
        jobId: String, leaseToken: String, error: String, result: JSONValue?, retryAt: @escaping @Sendable (Int) -> Date?,
        at: Date
    ) async throws -> Job {
        try await writer.write { db in
            let lease = try Self.checkLease(jobId: jobId, leaseToken: leaseToken, db)
            if let result {
                try db.cachedStatement(sql: "UPDATE jobs SET result = ? WHERE id = ?")
                    .execute(arguments: [result.jsonString(), jobId])
            }
            try Self.appendError(jobId: jobId, attempt: lease.attempt.attempt, error: error, at: at, db)
            return try Self.end(jobId: jobId, Lifecycle.failed(lease.attempt, error: error, retryAt: retryAt), at: at, db)
        }
    }

    public func acknowledgeCancel(jobId: String, leaseToken: String, at: Date) async throws -> Job {
        try await writer.write { db in
            _ = try Self.checkLease(jobId: jobId, leaseToken: leaseToken, db)
            return try Self.finish(jobId: jobId, status: .cancelled, at: at, db, set: "", arguments: [])
        }
    }

    public func release(jobId: String, leaseToken: String, at: Date) async throws -> Job {
        try await writer.write { db in
            let lease = try Self.checkLease(jobId: jobId, leaseToken: leaseToken, db)
            return try Self.end(jobId: jobId, Lifecycle.released(lease.attempt, at: at), at: at, db)
        }
    }

    public func cancel(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await writer.write { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            switch try Lifecycle.cancel(row.job) {
            case .now:
                return try Self.finish(jobId: jobId, status: .cancelled, at: at, db, set: "", arguments: [])
            case .askWorker:
                try db.cachedStatement(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                    .execute(arguments: [jobId])
                return row.job.askedToCancel()
            }
        }
    }

    public func retry(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await writer.write { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            try Lifecycle.checkRetry(row.job)
            guard let updated = try Row.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE jobs SET status = 'PENDING', attempt = 0, run_at = ?, worker_id = NULL, progress = 0,
                        message = NULL, result = NULL, error = NULL, cancel_requested = 0, started_at = NULL,
                        completed_at = NULL, last_seq = last_seq + 1, \(InlineEvents.sqlStandingForFirstOnly)
                    WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: .pending))) RETURNING \(SQLiteRows.jobColumns)
                    """),
                arguments: [Timestamps.millis(at), jobId])
            else { throw OffloadError.conflict("job \(jobId) cannot be retried now") }
            try Self.insert(row.materializedBeforeRequeue, db)
            let jobRow = try SQLiteRows.jobRow(updated)
            let event = JobEvent(
                jobId: jobId, seq: jobRow.lastSeq, kind: .status, data: ["status": "PENDING", "reason": "retried"], at: at)
            try Self.insert([event], db)
            return (jobRow.job, WriteEffects(events: [event], workAvailable: true))
        }
    }

    public func heartbeat(workerId: String, jobIds: [String], until: Date) async throws -> [String] {
        guard !jobIds.isEmpty else { return [] }
        return try await writer.write { db in
            var stop: [String] = []
            let statement = try db.cachedStatement(sql: """
                UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND worker_id = ? AND status = 'PROCESSING'
                RETURNING cancel_requested
                """)
            for jobId in jobIds {
                let flag = try Int64.fetchOne(statement, arguments: [Timestamps.millis(until), jobId, workerId])
                if flag == nil || flag != 0 { stop.append(jobId) }
            }
            return (stop, .none)
        }
    }

    public func requeueExpiredLeases(now: Date) async throws -> Int {
        try await writer.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    SELECT id, attempt, max_attempts, cancel_requested FROM jobs INDEXED BY jobs_active
                    WHERE \(SQLiteSchema.activePredicate) AND status = 'PROCESSING' AND lease_expires_at < ?
                    ORDER BY lease_expires_at LIMIT ?
                    """),
                arguments: [Timestamps.millis(now), Lifecycle.expiredPerSweep])
            var effects = WriteEffects()
            for row in rows {
                let id: String = row[0]
                let attempt = Lifecycle.Attempt(attempt: row[1], maxAttempts: row[2], cancelRequested: (row[3] as Int64) != 0)
                let (error, outcome) = Lifecycle.expired(attempt, at: now)
                if let error { try Self.appendError(jobId: id, attempt: attempt.attempt, error: error, at: now, db) }
                effects.merge(try Self.end(jobId: id, outcome, at: now, db).1)
            }
            return (rows.count, effects)
        }
    }

    public func prune(finishedBefore: Date, limit: Int) async throws -> Int {
        try await writer.write { db in
            let ids = try String.fetchAll(
                db.cachedStatement(sql: """
                    SELECT id FROM jobs WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at < ?
                    ORDER BY completed_at LIMIT ?
                    """),
                arguments: [Timestamps.millis(finishedBefore), max(1, limit)])
            let deleteEvents = try db.cachedStatement(sql: "DELETE FROM job_events WHERE job_id = ?")
            let deleteJob = try db.cachedStatement(sql: "DELETE FROM jobs WHERE id = ?")
            for id in ids {
                try deleteEvents.execute(arguments: [id])
                try deleteJob.execute(arguments: [id])
            }
            return (ids.count, .none)
        }
    }

    private struct LeaseState {
        var lastSeq: Int64
        var attempt: Lifecycle.Attempt
        var cancelRequested: Bool { attempt.cancelRequested }
    }

    /// The job's lease state if `leaseToken` still holds it; `notFound` or `conflict` otherwise.
    private static func checkLease(jobId: String, leaseToken: String, _ db: Database) throws -> LeaseState {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT status, lease_token, last_seq, attempt, max_attempts, cancel_requested FROM jobs WHERE id = ?
                """),
            arguments: [jobId])
        else { throw OffloadError.notFound("no job \(jobId)") }
        let status: String = row[0]
        let token: String? = row[1]
        guard status == JobStatus.processing.rawValue, token == leaseToken else {
            throw OffloadError.conflict("the lease on job \(jobId) is no longer held (the job is \(status))")
        }
        return LeaseState(
            lastSeq: row[2], attempt: Lifecycle.Attempt(attempt: row[3], maxAttempts: row[4], cancelRequested: (row[5] as Int64) != 0))
    }

    /// Keeps an attempt's error in the job's `errors` list.
    private static func appendError(jobId: String, attempt: Int, error: String, at: Date, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE jobs SET errors = json_insert(errors, '$[#]', json_object('attempt', ?, 'error', ?, 'at', ?))
            WHERE id = ?
            """).execute(arguments: [attempt, error, Timestamps.millis(at), jobId])
    }

    /// Moves a job to a final status and appends the final event that carries the job. With `leaseToken`, the
    /// update itself checks the lease (one statement instead of a read and an update); when it changes nothing,
    /// `checkLease` says why.
    private static func finish(
        jobId: String, status: JobStatus, at: Date, _ db: Database, leaseToken: String? = nil, set: String,
        arguments: StatementArguments
    ) throws -> (Job, WriteEffects) {
        let extra = set.isEmpty ? "" : ", " + set
        var all: StatementArguments = [status.rawValue, Timestamps.millis(at)]
        all += arguments
        all += [jobId]
        var leaseCheck = ""
        if let leaseToken {
            leaseCheck = " AND lease_token = ?"
            all += [leaseToken]
        }
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE jobs SET status = ?, completed_at = ?, lease_token = NULL, lease_expires_at = NULL,
                    cancel_requested = 0, last_seq = last_seq + 1,
                    inline_events = inline_events | \(InlineEvents.final.rawValue)\(extra)
                WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: status)))\(leaseCheck)
                RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: all)
        else { throw refusal(jobId: jobId, becoming: status, leaseToken: leaseToken, db) }
        return try finished(try SQLiteRows.jobRow(row), status: status, at: at, db)
    }

    /// Why a job did not become `status`: its lease is no longer held by `leaseToken`, it is gone, or its
    /// status does not allow it.
    private static func refusal(jobId: String, becoming status: JobStatus, leaseToken: String?, _ db: Database) -> any Error {
        do {
            if let leaseToken { _ = try checkLease(jobId: jobId, leaseToken: leaseToken, db) }
            return OffloadError.conflict("job \(jobId) cannot become \(status.rawValue) now")
        } catch {
            return error
        }
    }

    /// What follows a job's final update: its final event carrying the job (to publish: the row stands for it),
    /// and its webhook queued.
    private static func finished(_ jobRow: JobRow, status: JobStatus, at: Date, _ db: Database) throws -> (Job, WriteEffects) {
        let kind = status.finalEventKind ?? .completed
        let event = JobEvent(jobId: jobRow.job.jobId, seq: jobRow.lastSeq, kind: kind, data: jobRow.job.jsonValue, at: at)
        if let url = jobRow.job.options["webhookUrl"]?.stringValue {
            // A job retried and finished again notifies again.
            try db.cachedStatement(sql: """
                INSERT INTO webhook_deliveries (job_id, url, state, attempts, next_attempt_at, updated_at)
                VALUES (?, ?, 'pending', 0, ?, ?)
                ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, state = 'pending', attempts = 0,
                    next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at
                """).execute(arguments: [jobRow.job.jobId, url, Timestamps.millis(at), Timestamps.millis(at)])
        }
        return (jobRow.job, WriteEffects(events: [event]))
    }

    /// Applies the lifecycle's outcome of an attempt that did not complete.
    private static func end(jobId: String, _ outcome: Lifecycle.Outcome, at: Date, _ db: Database) throws -> (Job, WriteEffects) {
        switch outcome {
        case .finish(let status, let error):
            return try finish(
                jobId: jobId, status: status, at: at, db, set: error == nil ? "" : "error = ?",
                arguments: error.map { [$0] } ?? [])
        case .requeue(let runAt, let reason, let error, let uncountAttempt):
            return try requeue(jobId: jobId, runAt: runAt, at: at, db, reason: reason, error: error, uncountAttempt: uncountAttempt)
        }
    }

    /// Puts a running job back to PENDING at `runAt`, optionally not counting the attempt that ends.
    private static func requeue(
        jobId: String, runAt: Date, at: Date, _ db: Database, reason: String, error: String?, uncountAttempt: Bool
    ) throws -> (Job, WriteEffects) {
        // The attempt's PROCESSING event is the row's until now: stored before its columns change.
        if let before = try fetchJob(id: jobId, tenant: nil, db) { try insert(before.materializedBeforeRequeue, db) }
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE jobs SET status = 'PENDING', run_at = ?, worker_id = NULL, lease_token = NULL,
                    lease_expires_at = NULL, error = COALESCE(?, error), attempt = attempt - ?,
                    last_seq = last_seq + 1, \(InlineEvents.sqlStandingForFirstOnly)
                WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: .pending))) RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: [Timestamps.millis(runAt), error, uncountAttempt ? 1 : 0, jobId])
        else { throw OffloadError.conflict("job \(jobId) cannot go back to PENDING now") }
        let jobRow = try SQLiteRows.jobRow(row)
        let event = JobEvent(
            jobId: jobId, seq: jobRow.lastSeq, kind: .status,
            data: Lifecycle.requeueEventData(reason: reason, attempt: jobRow.job.attempt, runAt: runAt, error: error), at: at)
        try insert([event], db)
        return (jobRow.job, WriteEffects(events: [event], workAvailable: true))
    }
}
