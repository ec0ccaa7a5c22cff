import Foundation
import OffloadCore
import PostgresNIO

extension PostgresJobStore {
    /// Jobs without a result cache are stored by one statement, the jobs and their first events together, so
    /// a submit (or a batch of 1,000) costs one round trip; a job whose idempotency key exists is answered
    /// by a second read. Submissions that may be answered from the cache take the longer transaction.
    public func submit(_ jobs: [NewJob]) async throws -> [SubmitOutcome] {
        guard jobs.allSatisfy({ $0.cacheMaxAge == nil }) else { return try await submitConsultingCache(jobs) }
        let (inserted, existing) = try await autocommit { connection in
            let inserted = try await self.insertPending(jobs, connection)
            let skipped = jobs.filter { !inserted.ids.contains($0.jobId) }
            return (inserted, try await self.jobsByIdempotencyKey(skipped, connection))
        }
        var outcomes: [SubmitOutcome] = []
        var firstWithKey: [String: Job] = [:]
        var effects = WriteEffects()
        for new in jobs {
            if inserted.ids.contains(new.jobId) {
                let job = Self.pendingJob(new)
                if let key = Self.idempotencyIdentity(new) { firstWithKey[key] = job }
                outcomes.append(SubmitOutcome(job: job, created: true))
                effects.events.append(Self.firstEvent(new))
            } else if let key = Self.idempotencyIdentity(new), let job = existing[key] ?? firstWithKey[key] {
                outcomes.append(SubmitOutcome(job: job, created: false))
            } else {
                throw OffloadError.unavailable("a submitted job was not stored")
            }
        }
        effects.workAvailable = inserted.wakeLeases
        announce(effects)
        return outcomes
    }

    private static func firstEvent(_ new: NewJob) -> JobEvent {
        JobEvent(jobId: new.jobId, seq: 1, kind: .status, data: ["status": "PENDING"], at: new.createdAt)
    }

    /// The job as a submit answers it, with the dates as stored (milliseconds), so it equals a later read.
    private static func pendingJob(_ new: NewJob) -> Job {
        Job(
            jobId: new.jobId, processingType: new.processingType, queue: new.queue, data: new.data,
            options: new.options, status: .pending, maxAttempts: new.maxAttempts, priority: new.priority,
            runAt: Timestamps.date(millis: Timestamps.millis(new.runAt)), timeoutSeconds: new.timeoutSeconds,
            idempotencyKey: new.idempotencyKey, tenant: new.tenant,
            createdAt: Timestamps.date(millis: Timestamps.millis(new.createdAt)))
    }

    /// The transaction for submissions that may be answered from the result cache.
    private func submitConsultingCache(_ jobs: [NewJob]) async throws -> [SubmitOutcome] {
        try await write { connection in
            var outcomes = [SubmitOutcome?](repeating: nil, count: jobs.count)
            var effects = WriteEffects()
            let existing = try await self.jobsByIdempotencyKey(jobs, connection)
            var firstWithKey: [String: Int] = [:]
            var fresh: [Int] = []
            for (index, new) in jobs.enumerated() {
                if let key = Self.idempotencyIdentity(new) {
                    if let job = existing[key] {
                        outcomes[index] = SubmitOutcome(job: job, created: false)
                        continue
                    }
                    if firstWithKey[key] != nil { continue }
                    firstWithKey[key] = index
                }
                if new.cacheMaxAge != nil, let hit = try await self.cachedResult(for: new, connection) {
                    let (job, event) = try await self.insertCached(new, from: hit, connection)
                    effects.events.append(event)
                    outcomes[index] = SubmitOutcome(job: job, created: true)
                    continue
                }
                fresh.append(index)
            }
            let inserted = try await self.insertPending(fresh.map { jobs[$0] }, connection)
            var events: [JobEvent] = []
            var lost: [Int] = []
            for index in fresh {
                let new = jobs[index]
                guard inserted.ids.contains(new.jobId) else {
                    lost.append(index)
                    continue
                }
                events.append(Self.firstEvent(new))
                outcomes[index] = SubmitOutcome(job: Self.pendingJob(new), created: true)
            }
            effects.events += events
            effects.workAvailable = inserted.wakeLeases
            // A key that a concurrent transaction committed first, or that an earlier item of this batch took.
            let taken = lost.isEmpty ? [:] : try await self.jobsByIdempotencyKey(lost.map { jobs[$0] }, connection)
            for (index, new) in jobs.enumerated() where outcomes[index] == nil {
                guard let key = Self.idempotencyIdentity(new) else { continue }
                if let job = taken[key] {
                    outcomes[index] = SubmitOutcome(job: job, created: false)
                } else if let first = firstWithKey[key], let job = outcomes[first]?.job {
                    outcomes[index] = SubmitOutcome(job: job, created: false)
                }
            }
            guard outcomes.allSatisfy({ $0 != nil }) else {
                throw OffloadError.unavailable("a submitted job was not stored")
            }
            return (outcomes.compactMap { $0 }, effects)
        }
    }

    private static func idempotencyIdentity(_ new: NewJob) -> String? {
        new.idempotencyKey.map { new.tenant + "\u{1}" + $0 }
    }

    private func jobsByIdempotencyKey(_ jobs: [NewJob], _ connection: PostgresConnection) async throws -> [String: Job] {
        let keyed = jobs.filter { $0.idempotencyKey != nil }
        guard !keyed.isEmpty else { return [:] }
        let tenants = keyed.map(\.tenant)
        let keys = keyed.map { $0.idempotencyKey ?? "" }
        let rows = try await Self.collect(connection.query("""
            SELECT \(unescaped: PostgresRows.jobColumns()) FROM jobs
            WHERE (tenant, idempotency_key) IN (SELECT * FROM unnest(\(tenants)::text[], \(keys)::text[]))
            """, logger: logger), PostgresRows.jobRow)
        var found: [String: Job] = [:]
        for row in rows {
            if let key = row.job.idempotencyKey { found[row.job.tenant + "\u{1}" + key] = row.job }
        }
        return found
    }

    /// The ids a submit inserted, and whether they wake leases: a job in a paused queue wakes none (each
    /// lessee would walk that queue's waiting jobs for nothing: with the queue paused and 10,000 waiting, every
    /// single submit cost 64 such walks). Resuming the queue wakes them.
    private struct Inserted {
        var ids: Set<String> = []
        var wakeLeases = false
    }

    /// Inserts new PENDING jobs in one statement (their first events are the rows' own: `InlineEvents.first`);
    /// answers the ids stored (a job whose idempotency key exists is skipped) and whether any of their queues runs.
    private func insertPending(_ jobs: [NewJob], _ connection: PostgresConnection) async throws -> Inserted {
        guard !jobs.isEmpty else { return Inserted() }
        // Arrays cannot hold NULL here: '' and 0 stand for "none" (an empty key and a zero timeout are invalid).
        let ids = jobs.map(\.jobId)
        let types = jobs.map(\.processingType)
        let queues = jobs.map(\.queue)
        let data = jobs.map { $0.data.jsonString() }
        let options = jobs.map { $0.options.jsonString() }
        let maxAttempts = jobs.map { Int64($0.maxAttempts) }
        let priorities = jobs.map { Int64($0.priority) }
        let runAt = jobs.map { Timestamps.millis($0.runAt) }
        let timeouts = jobs.map { Int64($0.timeoutSeconds ?? 0) }
        let keys = jobs.map { $0.idempotencyKey ?? "" }
        let tenants = jobs.map(\.tenant)
        let created = jobs.map { Timestamps.millis($0.createdAt) }
        let cacheKeys = jobs.map { $0.cacheKey ?? "" }
        // A job's labels travel as one newline-joined text (arrays of arrays must be rectangular); label
        // terms cannot hold a newline.
        let labels = jobs.map { JobLabels.terms($0.labels).joined(separator: "\n") }
        let rows = try await Self.collect(connection.query("""
            WITH stored AS (
                INSERT INTO jobs (id, processing_type, queue, data, options, status, max_attempts, priority, run_at,
                    timeout_seconds, idempotency_key, tenant, created_at, last_seq, cache_key, labels, inline_events)
                SELECT id, t, q, d, o, 'PENDING', m, p, r, NULLIF(ts, 0), NULLIF(k, ''), tn, c, 1, NULLIF(ck, ''),
                    COALESCE(string_to_array(NULLIF(l, ''), E'\\n'), '{}'), \(InlineEvents.first.rawValue)
                FROM unnest(\(ids)::text[], \(types)::text[], \(queues)::text[], \(data)::text[], \(options)::text[],
                    \(maxAttempts)::bigint[], \(priorities)::bigint[], \(runAt)::bigint[], \(timeouts)::bigint[],
                    \(keys)::text[], \(tenants)::text[], \(created)::bigint[], \(cacheKeys)::text[], \(labels)::text[])
                    AS u(id, t, q, d, o, m, p, r, ts, k, tn, c, ck, l)
                ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id, queue
            )
            SELECT id, queue NOT IN (SELECT queue FROM paused_queues) FROM stored
            """, logger: logger)) { try $0.decode((String, Bool).self) }
        return Inserted(ids: Set(rows.map(\.0)), wakeLeases: rows.contains { $0.1 })
    }

    /// Appends events in one statement.
    func insert(_ events: [JobEvent], _ connection: PostgresConnection) async throws {
        guard !events.isEmpty else { return }
        let c = PostgresRows.EventColumns(events)
        _ = try await connection.query("""
            INSERT INTO job_events (job_id, seq, kind, data, at)
            SELECT * FROM unnest(\(c.jobIds)::text[], \(c.seqs)::bigint[], \(c.kinds)::text[], \(c.data)::text[], \(c.at)::bigint[])
            """, logger: logger).get()
    }

    /// The newest completed job of the same tenant, type and data within the submission's cache age.
    /// Only jobs that really ran count: a cached answer never renews the age of a result.
    private func cachedResult(for new: NewJob, _ connection: PostgresConnection) async throws -> (id: String, result: String?)? {
        guard let maxAge = new.cacheMaxAge, let key = new.cacheKey else { return nil }
        let since = Timestamps.millis(new.createdAt.addingTimeInterval(-maxAge))
        return try await Self.first(connection.query("""
            SELECT id, result FROM jobs WHERE tenant = \(new.tenant) AND cache_key = \(key) AND status = 'COMPLETED'
                AND completed_at >= \(since) AND cached_from IS NULL ORDER BY completed_at DESC LIMIT 1
            """, logger: logger)) { row in
            let (id, result) = try row.decode((String, String?).self)
            return (id, result)
        }
    }

    /// Stores a submission answered from the cache: COMPLETED at once, with the cached job's result.
    private func insertCached(_ new: NewJob, from hit: (id: String, result: String?), _ connection: PostgresConnection)
        async throws -> (Job, JobEvent)
    {
        let created = Timestamps.millis(new.createdAt)
        guard let row = try await Self.first(connection.query("""
            INSERT INTO jobs (id, processing_type, queue, data, options, status, progress, result, max_attempts,
                priority, run_at, timeout_seconds, idempotency_key, tenant, created_at, started_at, completed_at,
                last_seq, cache_key, cached_from, inline_events)
            VALUES (\(new.jobId), \(new.processingType), \(new.queue), \(new.data.jsonString()), \(new.options.jsonString()),
                'COMPLETED', 100, \(hit.result), \(Int64(new.maxAttempts)), \(Int64(new.priority)),
                \(Timestamps.millis(new.runAt)), \(new.timeoutSeconds.map(Int64.init)), \(new.idempotencyKey), \(new.tenant),
                \(created), \(created), \(created), 1, \(new.cacheKey), \(hit.id), \(InlineEvents.final.rawValue))
            RETURNING \(unescaped: PostgresRows.jobColumns())
            """, logger: logger), PostgresRows.jobRow)
        else { throw OffloadError.unavailable("the cached job was not stored") }
        // The final event is the row's own (`InlineEvents.final`).
        let event = JobEvent(jobId: new.jobId, seq: 1, kind: .completed, data: row.job.jsonValue, at: new.createdAt)
        return (row.job, event)
    }

    public func job(id: String, tenant: String?) async throws -> Job? {
        try await autocommit { connection in try await self.fetchJob(id: id, tenant: tenant, connection)?.job }
    }

    public func jobs(_ query: JobQuery) async throws -> JobPage {
        let limit = max(1, min(query.limit, 500))
        let fetched = try await autocommit { connection in
            try await Self.collect(connection.query("""
                SELECT \(unescaped: PostgresRows.jobColumns()) FROM jobs
                WHERE (\(query.tenant)::text IS NULL OR tenant = \(query.tenant))
                    AND (\(query.status?.rawValue)::text IS NULL OR status = \(query.status?.rawValue))
                    AND (\(query.processingType)::text IS NULL OR processing_type = \(query.processingType))
                    AND (\(query.queue)::text IS NULL OR queue = \(query.queue))
                    AND (\(query.before)::text IS NULL OR id < \(query.before))
                ORDER BY id DESC LIMIT \(Int64(limit + 1))
                """, logger: self.logger)) { try PostgresRows.jobRow($0).job }
        }
        return JobPage(fetched: fetched, limit: limit)
    }

    public func events(jobId: String, after: Int64, limit: Int) async throws -> [JobEvent] {
        try await autocommit { connection in
            // One REPEATABLE READ transaction: the row and the event rows from the same instant.
            _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger).get()
            do {
                var events: [JobEvent] = []
                if let row = try await self.fetchJob(id: jobId, tenant: nil, connection) {
                    events = try await self.fetchEvents(row, after: after, limit: limit, connection)
                }
                _ = try await connection.query("COMMIT", logger: self.logger).get()
                return events
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    /// Read in one REPEATABLE READ transaction, so the job and its events come from the same instant.
    public func snapshot(jobId: String, tenant: String?, after: Int64?, limit: Int) async throws -> JobSnapshot? {
        try await autocommit { connection in
            _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: self.logger).get()
            do {
                var snapshot: JobSnapshot?
                if let row = try await self.fetchJob(id: jobId, tenant: tenant, connection) {
                    let events = try await self.fetchEvents(row, after: after ?? row.lastSeq, limit: limit, connection)
                    snapshot = JobSnapshot(job: row.job, lastSeq: row.lastSeq, events: events)
                }
                _ = try await connection.query("COMMIT", logger: self.logger).get()
                return snapshot
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    func fetchJob(id: String, tenant: String?, forUpdate: Bool = false, _ connection: PostgresConnection) async throws -> JobRow? {
        guard let row = try await Self.first(connection.query("""
            SELECT \(unescaped: PostgresRows.jobColumns()) FROM jobs WHERE id = \(id) \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """, logger: logger), PostgresRows.jobRow)
        else { return nil }
        if let tenant, row.job.tenant != tenant { return nil }
        return row
    }

    /// The events of `row`'s job after `after`: its event rows and those the job row stands for, in seq order.
    private func fetchEvents(_ row: JobRow, after: Int64, limit: Int, _ connection: PostgresConnection) async throws -> [JobEvent] {
        let stored = try await Self.collect(connection.query("""
            SELECT \(unescaped: PostgresRows.eventColumns) FROM job_events
            WHERE job_id = \(row.job.jobId) AND seq > \(after) ORDER BY seq LIMIT \(Int64(max(1, limit)))
            """, logger: logger), PostgresRows.event)
        return row.events(merging: stored, after: after, limit: limit)
    }
}
