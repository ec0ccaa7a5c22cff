import Foundation
import OffloadCore
import PostgresNIO

extension PostgresJobStore {
    public func nextRunAt(after now: Date) async throws -> Date? {
        try await autocommit { connection in
            try await Self.first(connection.query(
                "SELECT MIN(run_at) FROM jobs WHERE status = 'PENDING' AND run_at > created_at AND run_at > \(Timestamps.millis(now))",
                logger: self.logger)) { try $0.decode(Int64?.self) }?.map(Timestamps.date(millis:))
        }
    }

    /// One prepared statement (`LeaseStatement`): `FOR UPDATE SKIP LOCKED` over the `jobs_ready` index picks
    /// up to `limit` ready jobs (servers leasing at once each take other rows), marks them PROCESSING and
    /// writes their status events.
    /// Leases are not parked here: a waiting lessee hears of work through LISTEN/NOTIFY (the bus's work
    /// signal) and leases then, as each server's transactions are its own.
    public func parkLease(_ request: LeaseRequest) -> LeaseTicket? { nil }

    public func lease(_ request: LeaseRequest) async throws -> [LeasedJob] {
        guard request.limit > 0 else { return [] }
        if let types = request.processingTypes, types.isEmpty { return [] }
        if let ids = request.jobIds, ids.isEmpty { return [] }
        let now = Timestamps.millis(request.now)
        let expires = now + Int64(request.leaseDuration * 1000)
        let rows = try await autocommit { connection in
            var rows: [JobRow] = []
            let terms = LeaseTerms(now: now, limit: Int64(request.limit), workerId: request.workerId, expiresAt: expires)
            if let types = request.processingTypes, let labels = request.labels, request.jobIds == nil {
                let statement = WorkerLeaseStatement(terms: terms, processingTypes: types, labels: labels)
                for try await row in try await connection.execute(statement, logger: self.logger) { rows.append(row) }
            } else {
                let statement = LeaseStatement(
                    terms: terms, processingTypes: request.processingTypes, jobIds: request.jobIds, labels: request.labels)
                for try await row in try await connection.execute(statement, logger: self.logger) { rows.append(row) }
            }
            return rows
        }
        var leased: [LeasedJob] = []
        var effects = WriteEffects()
        for row in rows {
            effects.events.append(JobEvent(
                jobId: row.job.jobId, seq: row.lastSeq, kind: .status,
                data: ["status": "PROCESSING", "attempt": .int(Int64(row.job.attempt)), "workerId": .string(request.workerId)],
                at: request.now))
            leased.append(LeasedJob(
                job: row.job, leaseToken: row.leaseToken ?? "", leaseExpiresAt: row.leaseExpiresAt ?? request.now))
        }
        announce(effects)
        return leased.sorted(by: LeasedJob.leaseOrder)
    }

    /// One statement: the UPDATE that checks the lease and advances `last_seq` locks the job's row, so
    /// concurrent reports get consecutive seqs; the events go in beside it.
    public func report(jobId: String, leaseToken: String, events: [EventReport], at: Date) async throws -> ReportOutcome {
        if let bad = events.first(where: { !$0.kind.isReportable }) {
            throw OffloadError.unprocessable("a worker may report progress, log and token events, not \(bad.kind.rawValue)")
        }
        // The last progress report of the batch sets the job's progress and message.
        let last = events.last { $0.kind == .progress && $0.data["progress"]?.intValue != nil }
        let progress = last?.data["progress"]?.intValue.map { max(0, min(100, $0)) }
        let message = last?.data["message"]?.stringValue
        let kinds = events.map(\.kind.rawValue)
        let data = events.map { $0.data.jsonString() }
        let count = Int64(events.count)
        let millis = Timestamps.millis(at)
        return try await write { connection in
            let row = try await Self.first(connection.query("""
                WITH held AS (
                    UPDATE jobs SET last_seq = last_seq + \(count), progress = COALESCE(\(progress)::bigint, progress),
                        message = CASE WHEN \(progress)::bigint IS NULL THEN message ELSE \(message)::text END
                    WHERE id = \(jobId) AND lease_token = \(leaseToken) AND status = 'PROCESSING'
                    RETURNING last_seq, cancel_requested
                ), appended AS (
                    INSERT INTO job_events (job_id, seq, kind, data, at)
                    SELECT \(jobId), held.last_seq - \(count) + u.n, u.kind, u.data, \(millis)
                    FROM held, unnest(\(kinds)::text[], \(data)::text[]) WITH ORDINALITY AS u(kind, data, n)
                )
                SELECT last_seq, cancel_requested FROM held
                """, logger: self.logger)) { try $0.decode((Int64, Bool).self) }
            guard let (lastSeq, cancelRequested) = row else {
                try await self.explainLostLease(jobId: jobId, connection)
            }
            let first = lastSeq - count
            let written = events.enumerated().map { index, report in
                JobEvent(jobId: jobId, seq: first + Int64(index) + 1, kind: report.kind, data: report.data, at: at)
            }
            return (ReportOutcome(events: written, cancelRequested: cancelRequested), WriteEffects(events: written))
        }
    }

    /// Concurrent completions share one transaction (see `WriteBatcher`): a worker pool finishing many
    /// short jobs costs a few commits, not one per job.
    public func complete(jobId: String, leaseToken: String, result: JSONValue, at: Date) async throws -> Job {
        try await completions.submit(Completion(jobId: jobId, leaseToken: leaseToken, result: result.jsonString(), at: at))
    }

    struct Completion: Sendable {
        var jobId: String
        var leaseToken: String
        var result: String
        var at: Date
    }

    /// Completes a batch in one transaction: one UPDATE over all of them, one INSERT of their final events.
    /// A completion whose lease is no longer held fails alone, as `complete` would.
    func complete(_ batch: [Completion]) async -> [Result<Job, any Error>] {
        let (firsts, repeats) = firstsAndRepeats(batch.map(\.jobId))
        guard !repeats.isEmpty else { return await completeDistinct(batch) }
        var results = [Result<Job, any Error>?](repeating: nil, count: batch.count)
        for (index, result) in zip(firsts, await completeDistinct(firsts.map { batch[$0] })) { results[index] = result }
        for (index, result) in zip(repeats, await complete(repeats.map { batch[$0] })) { results[index] = result }
        return results.map { $0! }
    }

    /// `complete` for completions of distinct jobs: each returned row belongs to the one completion of its job.
    private func completeDistinct(_ batch: [Completion]) async -> [Result<Job, any Error>] {
        let ids = batch.map(\.jobId)
        let tokens = batch.map(\.leaseToken)
        let results = batch.map(\.result)
        let ats = batch.map { Timestamps.millis($0.at) }
        do {
            let (done, statuses) = try await write { connection in
                // Rows are locked in id order first, as every statement that locks several jobs does: two such
                // statements over the same jobs wait for each other instead of deadlocking.
                let rows = try await Self.collect(connection.query("""
                    WITH locked AS (SELECT id FROM jobs WHERE id = ANY(\(ids)::text[]) ORDER BY id FOR UPDATE)
                    UPDATE jobs SET status = 'COMPLETED', completed_at = u.at, lease_token = NULL, lease_expires_at = NULL,
                        cancel_requested = false, last_seq = jobs.last_seq + 1, progress = 100, result = u.result, error = NULL,
                        inline_events = jobs.inline_events | \(InlineEvents.final.rawValue)
                    FROM locked, unnest(\(ids)::text[], \(tokens)::text[], \(results)::text[], \(ats)::bigint[])
                        AS u(id, token, result, at)
                    WHERE jobs.id = locked.id AND locked.id = u.id AND jobs.lease_token = u.token AND jobs.status = 'PROCESSING'
                    RETURNING \(unescaped: PostgresRows.jobColumns("jobs"))
                    """, logger: self.logger), PostgresRows.jobRow)
                var done: [String: Job] = [:]
                var effects = WriteEffects()
                for row in rows {
                    done[row.job.jobId] = row.job
                    let at = row.job.completedAt ?? Date()
                    // Published, not stored: the row stands for it.
                    effects.events.append(JobEvent(jobId: row.job.jobId, seq: row.lastSeq, kind: .completed, data: row.job.jsonValue, at: at))
                }
                try await self.queueWebhooks(for: Array(done.values), at: Date(), connection)
                var statuses: [String: String] = [:]
                if rows.count < batch.count {
                    for (id, status) in try await Self.collect(connection.query(
                        "SELECT id, status FROM jobs WHERE id = ANY(\(ids))", logger: self.logger), { try $0.decode((String, String).self) })
                    {
                        statuses[id] = status
                    }
                }
                return ((done, statuses), effects)
            }
            return batch.map { completion in
                if let job = done[completion.jobId] { return .success(job) }
                guard let status = statuses[completion.jobId] ?? done[completion.jobId]?.status.rawValue else {
                    return .failure(OffloadError.notFound("no job \(completion.jobId)"))
                }
                return .failure(OffloadError.conflict("the lease on job \(completion.jobId) is no longer held (the job is \(status))"))
            }
        } catch {
            return batch.map { _ in .failure(error) }
        }
    }

    public func fail(
        jobId: String, leaseToken: String, error: String, result: JSONValue?, retryAt: @escaping @Sendable (Int) -> Date?,
        at: Date
    ) async throws -> Job {
        try await write { connection in
            let lease = try await self.checkLease(jobId: jobId, leaseToken: leaseToken, connection)
            if let result {
                _ = try await connection.query(
                    "UPDATE jobs SET result = \(result.jsonString()) WHERE id = \(jobId)", logger: self.logger
                ).get()
            }
            try await self.appendError(jobId: jobId, attempt: lease.attempt, error: error, at: at, connection)
            return try await self.end(jobId: jobId, Lifecycle.failed(lease, error: error, retryAt: retryAt), at: at, connection)
        }
    }

    public func acknowledgeCancel(jobId: String, leaseToken: String, at: Date) async throws -> Job {
        try await write { connection in
            _ = try await self.checkLease(jobId: jobId, leaseToken: leaseToken, connection)
            return try await self.finish(jobId: jobId, status: .cancelled, at: at, connection)
        }
    }

    public func release(jobId: String, leaseToken: String, at: Date) async throws -> Job {
        try await write { connection in
            let lease = try await self.checkLease(jobId: jobId, leaseToken: leaseToken, connection)
            return try await self.end(jobId: jobId, Lifecycle.released(lease, at: at), at: at, connection)
        }
    }

    public func cancel(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await write { connection in
            guard let row = try await self.fetchJob(id: jobId, tenant: tenant, forUpdate: true, connection) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            switch try Lifecycle.cancel(row.job) {
            case .now:
                return try await self.finish(jobId: jobId, status: .cancelled, at: at, connection)
            case .askWorker:
                _ = try await connection.query("UPDATE jobs SET cancel_requested = true WHERE id = \(jobId)", logger: self.logger).get()
                return row.job.askedToCancel()
            }
        }
    }

    public func retry(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await write { connection in
            guard let row = try await self.fetchJob(id: jobId, tenant: tenant, forUpdate: true, connection) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            try Lifecycle.checkRetry(row.job)
            guard let updated = try await Self.first(connection.query("""
                UPDATE jobs SET status = 'PENDING', attempt = 0, run_at = \(Timestamps.millis(at)), worker_id = NULL,
                    progress = 0, message = NULL, result = NULL, error = NULL, cancel_requested = false, started_at = NULL,
                    completed_at = NULL, last_seq = last_seq + 1, \(unescaped: InlineEvents.sqlStandingForFirstOnly)
                WHERE id = \(jobId) AND status IN (\(unescaped: JobStatus.sqlPredecessors(of: .pending)))
                RETURNING \(unescaped: PostgresRows.jobColumns())
                """, logger: self.logger), PostgresRows.jobRow)
            else { throw OffloadError.conflict("job \(jobId) cannot be retried now") }
            try await self.insert(row.materializedBeforeRequeue, connection)
            let event = JobEvent(
                jobId: jobId, seq: updated.lastSeq, kind: .status, data: ["status": "PENDING", "reason": "retried"], at: at)
            try await self.insert([event], connection)
            return (updated.job, WriteEffects(events: [event], workAvailable: true))
        }
    }

    /// One statement for all of a worker's leases.
    public func heartbeat(workerId: String, jobIds: [String], until: Date) async throws -> [String] {
        guard !jobIds.isEmpty else { return [] }
        let held = try await autocommit { connection in
            try await Self.collect(connection.query("""
                WITH locked AS (SELECT id FROM jobs WHERE id = ANY(\(jobIds)::text[]) ORDER BY id FOR UPDATE)
                UPDATE jobs SET lease_expires_at = \(Timestamps.millis(until))
                FROM locked WHERE jobs.id = locked.id AND worker_id = \(workerId) AND status = 'PROCESSING'
                RETURNING jobs.id, cancel_requested
                """, logger: self.logger)) { try $0.decode((String, Bool).self) }
        }
        let kept = Set(held.filter { !$0.1 }.map(\.0))
        return jobIds.filter { !kept.contains($0) }
    }

    /// Rows another server's sweeper holds are skipped (`SKIP LOCKED`), so sweepers never wait on each other.
    public func requeueExpiredLeases(now: Date) async throws -> Int {
        try await write { connection in
            let rows = try await Self.collect(connection.query("""
                SELECT id, attempt, max_attempts, cancel_requested FROM jobs
                WHERE status = 'PROCESSING' AND lease_expires_at < \(Timestamps.millis(now))
                ORDER BY lease_expires_at LIMIT \(Int64(Lifecycle.expiredPerSweep)) FOR UPDATE SKIP LOCKED
                """, logger: self.logger)) { try $0.decode((String, Int, Int, Bool).self) }
            var effects = WriteEffects()
            for (id, attempt, maxAttempts, cancelRequested) in rows {
                let (error, outcome) = Lifecycle.expired(
                    Lifecycle.Attempt(attempt: attempt, maxAttempts: maxAttempts, cancelRequested: cancelRequested), at: now)
                if let error { try await self.appendError(jobId: id, attempt: attempt, error: error, at: now, connection) }
                effects.merge(try await self.end(jobId: id, outcome, at: now, connection).1)
            }
            return (rows.count, effects)
        }
    }

    public func prune(finishedBefore: Date, limit: Int) async throws -> Int {
        try await autocommit { connection in
            try await Self.collect(connection.query("""
                WITH doomed AS (
                    SELECT id FROM jobs
                    WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at < \(Timestamps.millis(finishedBefore))
                    ORDER BY completed_at LIMIT \(Int64(max(1, limit))) FOR UPDATE SKIP LOCKED
                ), events AS (
                    DELETE FROM job_events WHERE job_id IN (SELECT id FROM doomed)
                )
                DELETE FROM jobs WHERE id IN (SELECT id FROM doomed) RETURNING id
                """, logger: self.logger)) { try $0.decode(String.self) }.count
        }
    }

    // MARK: Transitions

    /// Locks the job's row if `leaseToken` still holds it; `notFound` or `conflict` otherwise.
    private func checkLease(jobId: String, leaseToken: String, _ connection: PostgresConnection) async throws -> Lifecycle.Attempt {
        guard let row = try await Self.first(connection.query("""
            SELECT status, lease_token, attempt, max_attempts, cancel_requested FROM jobs WHERE id = \(jobId) FOR UPDATE
            """, logger: logger), { try $0.decode((String, String?, Int, Int, Bool).self) })
        else { throw OffloadError.notFound("no job \(jobId)") }
        guard row.0 == JobStatus.processing.rawValue, row.1 == leaseToken else {
            throw OffloadError.conflict("the lease on job \(jobId) is no longer held (the job is \(row.0))")
        }
        return Lifecycle.Attempt(attempt: row.2, maxAttempts: row.3, cancelRequested: row.4)
    }

    /// Why a report found no lease to write to: the job is gone, or someone else holds it now.
    private func explainLostLease(jobId: String, _ connection: PostgresConnection) async throws -> Never {
        guard let status = try await Self.first(
            connection.query("SELECT status FROM jobs WHERE id = \(jobId)", logger: logger), { try $0.decode(String.self) })
        else { throw OffloadError.notFound("no job \(jobId)") }
        throw OffloadError.conflict("the lease on job \(jobId) is no longer held (the job is \(status))")
    }

    /// Keeps an attempt's error in the job's `errors` list.
    private func appendError(jobId: String, attempt: Int, error: String, at: Date, _ connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            UPDATE jobs SET errors = errors || jsonb_build_array(jsonb_build_object(
                'attempt', \(Int64(attempt))::bigint, 'error', \(error)::text, 'at', \(Timestamps.millis(at))::bigint))
            WHERE id = \(jobId)
            """, logger: logger).get()
    }

    /// Moves a job to a final status and appends the final event that carries the job. `result` and
    /// `error` are set when given (a nil inside `result` clears it).
    private func finish(
        jobId: String, status: JobStatus, at: Date, _ connection: PostgresConnection, result: String?? = nil,
        error: String? = nil
    ) async throws -> (Job, WriteEffects) {
        let completing = status == .completed
        guard let row = try await Self.first(connection.query("""
            UPDATE jobs SET status = \(status.rawValue), completed_at = \(Timestamps.millis(at)), lease_token = NULL,
                lease_expires_at = NULL, cancel_requested = false, last_seq = last_seq + 1,
                inline_events = inline_events | \(InlineEvents.final.rawValue),
                progress = CASE WHEN \(completing) THEN 100 ELSE progress END,
                result = CASE WHEN \(result != nil) THEN \(result ?? nil)::text ELSE result END,
                error = CASE WHEN \(completing) THEN NULL ELSE COALESCE(\(error)::text, error) END
            WHERE id = \(jobId) AND status IN (\(unescaped: JobStatus.sqlPredecessors(of: status)))
            RETURNING \(unescaped: PostgresRows.jobColumns())
            """, logger: logger), PostgresRows.jobRow)
        else { throw OffloadError.conflict("job \(jobId) cannot become \(status.rawValue) now") }
        let kind = status.finalEventKind ?? .completed
        // Published, not stored: the row stands for it.
        let event = JobEvent(jobId: jobId, seq: row.lastSeq, kind: kind, data: row.job.jsonValue, at: at)
        try await queueWebhooks(for: [row.job], at: at, connection)
        return (row.job, WriteEffects(events: [event]))
    }

    /// Queues the webhook of every finished job that asked for one, in the transaction that finished it.
    /// A job retried and finished again notifies again.
    func queueWebhooks(for jobs: [Job], at: Date, _ connection: PostgresConnection) async throws {
        let wanted = jobs.compactMap { job in job.options["webhookUrl"]?.stringValue.map { (job.jobId, $0) } }
        guard !wanted.isEmpty else { return }
        let ids = wanted.map(\.0)
        let urls = wanted.map(\.1)
        let millis = Timestamps.millis(at)
        _ = try await connection.query("""
            INSERT INTO webhook_deliveries (job_id, url, state, attempts, next_attempt_at, updated_at)
            SELECT id, url, 'pending', 0, \(millis), \(millis) FROM unnest(\(ids)::text[], \(urls)::text[]) AS u(id, url)
            ON CONFLICT (job_id) DO UPDATE SET url = excluded.url, state = 'pending', attempts = 0,
                next_attempt_at = excluded.next_attempt_at, last_error = NULL, updated_at = excluded.updated_at
            """, logger: logger).get()
    }

    /// Applies the lifecycle's outcome of an attempt that did not complete.
    private func end(jobId: String, _ outcome: Lifecycle.Outcome, at: Date, _ connection: PostgresConnection) async throws
        -> (Job, WriteEffects)
    {
        switch outcome {
        case .finish(let status, let error):
            return try await finish(jobId: jobId, status: status, at: at, connection, error: error)
        case .requeue(let runAt, let reason, let error, let uncountAttempt):
            return try await requeue(
                jobId: jobId, runAt: runAt, at: at, connection, reason: reason, error: error, uncountAttempt: uncountAttempt)
        }
    }

    /// Puts a running job back to PENDING at `runAt`, optionally not counting the attempt that ends.
    private func requeue(
        jobId: String, runAt: Date, at: Date, _ connection: PostgresConnection, reason: String, error: String?,
        uncountAttempt: Bool
    ) async throws -> (Job, WriteEffects) {
        // The attempt's PROCESSING event is the row's until now: stored before its columns change.
        if let before = try await fetchJob(id: jobId, tenant: nil, connection) {
            try await insert(before.materializedBeforeRequeue, connection)
        }
        guard let row = try await Self.first(connection.query("""
            UPDATE jobs SET status = 'PENDING', run_at = \(Timestamps.millis(runAt)), worker_id = NULL, lease_token = NULL,
                lease_expires_at = NULL, error = COALESCE(\(error)::text, error), attempt = attempt - \(Int64(uncountAttempt ? 1 : 0)),
                last_seq = last_seq + 1, \(unescaped: InlineEvents.sqlStandingForFirstOnly)
            WHERE id = \(jobId) AND status IN (\(unescaped: JobStatus.sqlPredecessors(of: .pending)))
            RETURNING \(unescaped: PostgresRows.jobColumns())
            """, logger: logger), PostgresRows.jobRow)
        else { throw OffloadError.conflict("job \(jobId) cannot go back to PENDING now") }
        let event = JobEvent(
            jobId: jobId, seq: row.lastSeq, kind: .status,
            data: Lifecycle.requeueEventData(reason: reason, attempt: row.job.attempt, runAt: runAt, error: error), at: at)
        try await insert([event], connection)
        return (row.job, WriteEffects(events: [event], workAvailable: true))
    }
}
