import Dispatch
import Foundation
import GRDB
import Logging
import OffloadCore
import ServiceLifecycle
import Synchronization

/// The embedded store: one SQLite file in WAL mode, one group-committing writer, a pool of readers.
///
/// `synchronous` is NORMAL by default: a commit survives a crash or `kill -9` of the process (the WAL is
/// written before the commit returns); a power loss may drop the last commits. FULL also survives power
/// loss, at the price of one fsync per group commit.
public final class SQLiteJobStore: JobStoreService {
    /// How hard SQLite pushes a commit to disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// Survives a process crash; a power loss may lose the last commits.
        case normal = "NORMAL"
        /// Survives a power loss too (fsync at each commit).
        case full = "FULL"
    }

    public let eventBus: EventBus
    let pool: DatabasePool
    let writer: GroupCommitWriter
    /// Concurrent completions, committed together (see `complete(_:_:)`).
    private let completions = WriteGroup<Completion, Job> { try SQLiteJobStore.complete($0, $1) }
    /// A connection that only checkpoints the WAL into the database file, off the writer's path.
    private let checkpointer: DatabaseQueue
    private let checkpointQueue = DispatchQueue(label: "offload-sqlite-checkpoint")
    /// Whether a checkpoint runs now, and whether another was asked for meanwhile (it then runs right after).
    private let checkpointState = Mutex((running: false, again: false))
    private let logger: Logger

    /// Opens (creating when needed) the database at `path` and runs pending migrations.
    public init(path: String, durability: Durability = .normal, eventBus: EventBus = EventBus(), logger: Logger) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = 4
        configuration.prepareDatabase { db in
            // SQLite's own checkpoint (every 4,000 WAL pages) stays on so the WAL file restarts; `startCheckpoint()`
            // does most of the copying beside the writer, so the writer's checkpoint finds little left to do.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 4000")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            // Set on the writer after the pool is open: GRDB sets NORMAL when it switches the file to WAL.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(durability.rawValue)")
                // A group commit of 2,000 writes dirties more than the default 2 MB page cache: SQLite then
                // spills pages to the WAL in the middle of the transaction (pwrite inside the writes, seen in
                // the profile). 16 MB keeps a whole batch in memory until its commit without letting the cache
                // of a long-running server grow far.
                try db.execute(sql: "PRAGMA cache_size = -16384")
            }
            try SQLiteSchema.migrator.migrate(pool)
            var checkpointConfiguration = Configuration()
            checkpointConfiguration.busyMode = .timeout(5)
            checkpointer = try DatabaseQueue(path: path, configuration: checkpointConfiguration)
        } catch {
            throw OffloadError.unavailable("cannot open the SQLite database at \(path): \(error)")
        }
        self.eventBus = eventBus
        self.logger = logger
        writer = GroupCommitWriter(pool: pool, bus: eventBus, logger: logger)
    }

    /// Runs the group-commit writer until graceful shutdown, then commits what is queued and returns.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await writer.run { commits in
                if commits % Self.checkpointEvery == 0 { self.startCheckpoint() }
            }
        } onGracefulShutdown: {
            self.writer.close()
        }
        checkpoint()
    }

    /// Copies committed WAL pages into the database file beside the writer, every `checkpointEvery` commits.
    /// A checkpoint syncs the file, which takes milliseconds: inside a commit it stalls every write queued
    /// behind it; here it runs beside them (PASSIVE waits for no reader or writer). SQLite's own checkpoint in
    /// the writer (at 4,000 WAL pages) is left with the few pages committed since, so that the WAL restarts.
    /// Measured: with a timer every 200 ms instead, the writer thread still did 80 % of the checkpointing (its
    /// 1,000 pages came sooner under load).
    private func startCheckpoint() {
        let start = checkpointState.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard start else { return }
        // A Dispatch queue, not the cooperative pool: the checkpoint blocks on fsync.
        checkpointQueue.async {
            while true {
                self.checkpoint()
                let again = self.checkpointState.withLock { state -> Bool in
                    state.running = state.again
                    state.again = false
                    return state.running
                }
                if !again { return }
            }
        }
    }

    /// Commits between two checkpoints beside the writer: a commit of one small write adds ~10-20 WAL pages.
    private static let checkpointEvery = 16

    private func checkpoint() {
        do {
            try checkpointer.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            // The writer's own checkpoint is running; the next round copies what is left.
            logger.debug("WAL checkpoint skipped: another checkpoint is running")
        } catch {
            logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
        }
    }

    /// The `synchronous` level the writer connection really uses (read back from SQLite).
    public func effectiveDurability() throws -> Durability {
        let level = try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        return level == 2 ? .full : .normal
    }

    /// Transactions committed so far and the writes they held: with many writers, far fewer commits than writes.
    public var commitStatistics: (commits: Int, writes: Int) {
        let counters = writer.committed
        return (counters.commits, counters.writes)
    }

    /// Stops accepting writes (for callers that run the store outside a ServiceGroup).
    public func close() { writer.close() }

    // MARK: Jobs

    public func submit(_ jobs: [NewJob]) async throws -> [SubmitOutcome] {
        // Encoded before the write, off the writer thread that every write waits for.
        let encoded: [EncodedJob] = jobs.map { new in
            (data: new.data.jsonString(), options: new.options.jsonString(),
             labels: new.labels.isEmpty ? nil : JSONValue.array(JobLabels.terms(new.labels).map(JSONValue.string)).jsonString())
        }
        return try await writer.write { db in
            var outcomes = [SubmitOutcome?](repeating: nil, count: jobs.count)
            var effects = WriteEffects()
            // Jobs without an idempotency or cache key need no lookup: they are inserted together below.
            var plain: [Int] = []
            for (index, (new, encoded)) in zip(jobs, encoded).enumerated() {
                guard new.idempotencyKey != nil || new.cacheKey != nil else {
                    plain.append(index)
                    continue
                }
                if let key = new.idempotencyKey,
                    let row = try Row.fetchOne(
                        db.cachedStatement(
                            sql: "SELECT \(SQLiteRows.jobColumns) FROM jobs WHERE tenant = ? AND idempotency_key = ?"),
                        arguments: [new.tenant, key])
                {
                    outcomes[index] = SubmitOutcome(job: try SQLiteRows.jobRow(row).job, created: false)
                    continue
                }
                if let hit = try Self.cachedResult(for: new, db) {
                    let (job, event) = try Self.insertCached(new, data: encoded.data, options: encoded.options, from: hit, db)
                    effects.events.append(event)
                    outcomes[index] = SubmitOutcome(job: job, created: true)
                    continue
                }
                try Self.insertPending([(new, encoded)], db)
                let event = Self.pendingEvent(new)
                try Self.insert([event], db)
                effects.events.append(event)
                effects.workAvailable = true
                outcomes[index] = SubmitOutcome(job: Self.pendingJob(new), created: true)
            }
            try Self.insertPending(plain.map { (jobs[$0], encoded[$0]) }, db)
            let events = plain.map { Self.pendingEvent(jobs[$0]) }
            try Self.insert(events, db)
            effects.events += events
            for index in plain { outcomes[index] = SubmitOutcome(job: Self.pendingJob(jobs[index]), created: true) }
            if !plain.isEmpty { effects.workAvailable = true }
            return (outcomes.map { $0! }, effects)
        }
    }

    private typealias EncodedJob = (data: String, options: String, labels: String?)

    /// Inserts new PENDING jobs, many rows per statement.
    private static func insertPending(_ jobs: [(NewJob, EncodedJob)], _ db: Database) throws {
        for chunk in jobs.chunks(of: rowsPerStatement) {
            var arguments = StatementArguments()
            for (new, encoded) in chunk {
                arguments += [
                    new.jobId, new.processingType, new.queue, encoded.data, encoded.options,
                    new.maxAttempts, new.priority, Timestamps.millis(new.runAt), new.timeoutSeconds,
                    new.idempotencyKey, new.tenant, Timestamps.millis(new.createdAt), new.cacheKey, encoded.labels,
                ]
            }
            try db.cachedStatement(sql: """
                INSERT INTO jobs (id, processing_type, queue, data, options, max_attempts, priority, run_at,
                    timeout_seconds, idempotency_key, tenant, created_at, cache_key, labels, status, last_seq)
                VALUES \(placeholders(rows: chunk.count, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 1)"))
                """).execute(arguments: arguments)
        }
    }

    /// The first event of a job that waits to run.
    private static func pendingEvent(_ new: NewJob) -> JobEvent {
        JobEvent(jobId: new.jobId, seq: 1, kind: .status, data: ["status": "PENDING"], at: new.createdAt)
    }

    /// A new PENDING job as stored: dates in milliseconds, so the answer equals what a later read shows.
    private static func pendingJob(_ new: NewJob) -> Job {
        Job(
            jobId: new.jobId, processingType: new.processingType, queue: new.queue, data: new.data,
            options: new.options, status: .pending, maxAttempts: new.maxAttempts,
            priority: new.priority, runAt: Timestamps.date(millis: Timestamps.millis(new.runAt)),
            timeoutSeconds: new.timeoutSeconds, idempotencyKey: new.idempotencyKey, tenant: new.tenant,
            createdAt: Timestamps.date(millis: Timestamps.millis(new.createdAt)))
    }

    /// The newest completed job of the same tenant, type and data within the submission's cache age.
    /// Only jobs that really ran count: a cached answer never renews the age of a result.
    private static func cachedResult(for new: NewJob, _ db: Database) throws -> (id: String, result: String?)? {
        guard let maxAge = new.cacheMaxAge, let key = new.cacheKey else { return nil }
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                SELECT id, result FROM jobs WHERE tenant = ? AND cache_key = ? AND status = 'COMPLETED'
                    AND completed_at >= ? AND cached_from IS NULL ORDER BY completed_at DESC LIMIT 1
                """),
            arguments: [new.tenant, key, Timestamps.millis(new.createdAt.addingTimeInterval(-maxAge))])
        else { return nil }
        return (row[0], row[1])
    }

    /// Stores a submission answered from the cache: COMPLETED at once, with the cached job's result.
    private static func insertCached(
        _ new: NewJob, data: String, options: String, from hit: (id: String, result: String?), _ db: Database
    ) throws -> (Job, JobEvent) {
        let created = Timestamps.millis(new.createdAt)
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                INSERT INTO jobs (id, processing_type, queue, data, options, status, progress, result, max_attempts,
                    priority, run_at, timeout_seconds, idempotency_key, tenant, created_at, started_at, completed_at,
                    last_seq, cache_key, cached_from)
                VALUES (?, ?, ?, ?, ?, 'COMPLETED', 100, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)
                RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: [
                new.jobId, new.processingType, new.queue, data, options, hit.result,
                new.maxAttempts, new.priority, Timestamps.millis(new.runAt), new.timeoutSeconds, new.idempotencyKey,
                new.tenant, created, created, created, new.cacheKey, hit.id,
            ])
        else { throw OffloadError.unavailable("the cached job was not stored") }
        let job = try SQLiteRows.jobRow(row).job
        let event = JobEvent(jobId: new.jobId, seq: 1, kind: .completed, data: job.jsonValue, at: new.createdAt)
        try insert([event], db)
        return (job, event)
    }

    public func job(id: String, tenant: String?) async throws -> Job? {
        try await read { db in try Self.fetchJob(id: id, tenant: tenant, db)?.job }
    }

    public func jobs(_ query: JobQuery) async throws -> JobPage {
        try await read { db in
            var conditions: [String] = []
            var arguments = StatementArguments()
            if let tenant = query.tenant {
                conditions.append("tenant = ?")
                arguments += [tenant]
            }
            if let status = query.status {
                conditions.append("status = ?")
                arguments += [status.rawValue]
            }
            if let type = query.processingType {
                conditions.append("processing_type = ?")
                arguments += [type]
            }
            if let queue = query.queue {
                conditions.append("queue = ?")
                arguments += [queue]
            }
            if let before = query.before {
                conditions.append("id < ?")
                arguments += [before]
            }
            let limit = max(1, min(query.limit, 500))
            arguments += [limit + 1]
            let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT \(SQLiteRows.jobColumns) FROM jobs \(whereClause) ORDER BY id DESC LIMIT ?"),
                arguments: arguments)
            return JobPage(fetched: try rows.map { try SQLiteRows.jobRow($0).job }, limit: limit)
        }
    }

    public func events(jobId: String, after: Int64, limit: Int) async throws -> [JobEvent] {
        try await read { db in try Self.fetchEvents(jobId: jobId, after: after, limit: limit, db) }
    }

    public func snapshot(jobId: String, tenant: String?, after: Int64?, limit: Int) async throws -> JobSnapshot? {
        try await read { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else { return nil }
            let events = try Self.fetchEvents(jobId: jobId, after: after ?? row.lastSeq, limit: limit, db)
            return JobSnapshot(job: row.job, lastSeq: row.lastSeq, events: events)
        }
    }

    // MARK: Leases and reports

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
                progress = 0, message = NULL, last_seq = last_seq + 1
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
            let event = JobEvent(
                jobId: jobRow.job.jobId, seq: jobRow.lastSeq, kind: .status,
                data: [
                    "status": "PROCESSING", "attempt": .int(Int64(jobRow.job.attempt)),
                    "workerId": .string(request.workerId),
                ],
                at: request.now)
            effects.events.append(event)
            leased.append(LeasedJob(
                job: jobRow.job, leaseToken: jobRow.leaseToken ?? "",
                leaseExpiresAt: jobRow.leaseExpiresAt ?? request.now))
        }
        try Self.insert(effects.events, db)
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
                var effects = WriteEffects()
                effects.events = written
                return (ReportOutcome(events: written, cancelRequested: lease.cancelRequested), effects)
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
    private static func complete(_ completions: [Completion], _ db: Database) throws -> [Result<(Job, WriteEffects), any Error>] {
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
                        result = done.value, error = NULL
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
        var events: [JobEvent] = []
        var results: [Result<(Job, WriteEffects), any Error>] = []
        for completion in completions {
            guard let jobRow = done.removeValue(forKey: completion.jobId) else {
                results.append(.failure(refusal(jobId: completion.jobId, becoming: .completed, leaseToken: completion.leaseToken, db)))
                continue
            }
            let outcome = try finished(jobRow, status: .completed, at: completion.at, db)
            events += outcome.1.events
            results.append(.success(outcome))
        }
        try insert(events, db)
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
            try Self.appendError(jobId: jobId, attempt: lease.attempt, error: error, at: at, db)
            if lease.cancelRequested {
                return try Self.finish(jobId: jobId, status: .cancelled, at: at, db, set: "error = ?", arguments: [error])
            }
            if lease.attempt < lease.maxAttempts, let runAt = retryAt(lease.attempt) {
                return try Self.requeue(
                    jobId: jobId, runAt: runAt, at: at, db, reason: "failed", error: error, uncountAttempt: false)
            }
            return try Self.finish(jobId: jobId, status: .failed, at: at, db, set: "error = ?", arguments: [error])
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
            if lease.cancelRequested {
                return try Self.finish(jobId: jobId, status: .cancelled, at: at, db, set: "", arguments: [])
            }
            return try Self.requeue(
                jobId: jobId, runAt: at, at: at, db, reason: "handed back", error: nil, uncountAttempt: true)
        }
    }

    public func cancel(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await writer.write { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            switch row.job.status {
            case .pending:
                return try Self.finish(jobId: jobId, status: .cancelled, at: at, db, set: "", arguments: [])
            case .processing:
                try db.cachedStatement(sql: "UPDATE jobs SET cancel_requested = 1 WHERE id = ?")
                    .execute(arguments: [jobId])
                var job = row.job
                job.cancelRequested = true
                var effects = WriteEffects()
                effects.cancelRequests = [jobId]
                return (job, effects)
            case .completed, .failed, .cancelled:
                throw OffloadError.conflict("job \(jobId) is already \(row.job.status.rawValue)")
            }
        }
    }

    public func retry(jobId: String, tenant: String?, at: Date) async throws -> Job {
        try await writer.write { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else {
                throw OffloadError.notFound("no job \(jobId)")
            }
            guard row.job.status == .failed || row.job.status == .cancelled else {
                throw OffloadError.conflict("only a FAILED or CANCELLED job can be retried; job \(jobId) is \(row.job.status.rawValue)")
            }
            guard let updated = try Row.fetchOne(
                db.cachedStatement(sql: """
                    UPDATE jobs SET status = 'PENDING', attempt = 0, run_at = ?, worker_id = NULL, progress = 0,
                        message = NULL, result = NULL, error = NULL, cancel_requested = 0, started_at = NULL,
                        completed_at = NULL, last_seq = last_seq + 1
                    WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: .pending))) RETURNING \(SQLiteRows.jobColumns)
                    """),
                arguments: [Timestamps.millis(at), jobId])
            else { throw OffloadError.conflict("job \(jobId) cannot be retried now") }
            let jobRow = try SQLiteRows.jobRow(updated)
            let event = JobEvent(
                jobId: jobId, seq: jobRow.lastSeq, kind: .status, data: ["status": "PENDING", "reason": "retried"], at: at)
            try Self.insert([event], db)
            var effects = WriteEffects()
            effects.events = [event]
            effects.workAvailable = true
            return (jobRow.job, effects)
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
                    SELECT id, attempt, max_attempts, cancel_requested FROM jobs INDEXED BY jobs_running_worker
                    WHERE status = 'PROCESSING' AND lease_expires_at < ?
                    """),
                arguments: [Timestamps.millis(now)])
            var effects = WriteEffects()
            for row in rows {
                let id: String = row[0]
                let attempt: Int = row[1]
                let maxAttempts: Int = row[2]
                let cancelRequested: Int64 = row[3]
                let step: (Job, WriteEffects)
                if cancelRequested == 0 {
                    try Self.appendError(jobId: id, attempt: attempt, error: "lease expired during attempt \(attempt)", at: now, db)
                }
                if cancelRequested != 0 {
                    step = try Self.finish(jobId: id, status: .cancelled, at: now, db, set: "", arguments: [])
                } else if attempt < maxAttempts {
                    step = try Self.requeue(
                        jobId: id, runAt: now, at: now, db, reason: "lease expired",
                        error: "lease expired during attempt \(attempt)", uncountAttempt: false)
                } else {
                    step = try Self.finish(
                        jobId: id, status: .failed, at: now, db, set: "error = ?",
                        arguments: ["lease expired during attempt \(attempt), the last one"])
                }
                effects.merge(step.1)
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

    // MARK: Queues and types

    public func setQueue(_ queue: String, paused: Bool, at: Date) async throws {
        try await writer.write { db in
            if paused {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO paused_queues (queue, paused_at) VALUES (?, ?)")
                    .execute(arguments: [queue, Timestamps.millis(at)])
                return ((), .none)
            }
            try db.cachedStatement(sql: "DELETE FROM paused_queues WHERE queue = ?").execute(arguments: [queue])
            var effects = WriteEffects()
            effects.workAvailable = true
            return ((), effects)
        }
    }

    public func pausedQueues() async throws -> Set<String> {
        try await read { db in Set(try String.fetchAll(db, sql: "SELECT queue FROM paused_queues")) }
    }

    public func setType(_ processingType: String, enabled: Bool, fallback: TypeFallback, at: Date) async throws {
        try await writer.write { db in
            if enabled {
                try db.cachedStatement(sql: "DELETE FROM disabled_types WHERE processing_type = ?")
                    .execute(arguments: [processingType])
            } else {
                try db.cachedStatement(sql: """
                    INSERT INTO disabled_types (processing_type, disabled_at, fallback) VALUES (?, ?, ?)
                    ON CONFLICT (processing_type) DO UPDATE SET fallback = excluded.fallback
                    """).execute(arguments: [processingType, Timestamps.millis(at), fallback.rawValue])
            }
            return ((), .none)
        }
    }

    public func disabledTypes() async throws -> [String: TypeFallback] {
        try await read { db in
            var all: [String: TypeFallback] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT processing_type, fallback FROM disabled_types") {
                all[row[0]] = TypeFallback(rawValue: row[1]) ?? .refuse
            }
            return all
        }
    }

    // MARK: Templates

    public func saveTemplate(name: String, body: JSONValue, at: Date) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO job_templates (name, body, updated_at) VALUES (?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
                """).execute(arguments: [name, body.jsonString(), Timestamps.millis(at)])
            return ((), .none)
        }
    }

    public func template(name: String) async throws -> JSONValue? {
        try await read { db in
            try String.fetchOne(db.cachedStatement(sql: "SELECT body FROM job_templates WHERE name = ?"), arguments: [name])
                .map { try JSONValue.parse($0) }
        }
    }

    public func templates() async throws -> [String: JSONValue] {
        try await read { db in
            var all: [String: JSONValue] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, body FROM job_templates") {
                all[row[0]] = try JSONValue.parse(row[1] as String)
            }
            return all
        }
    }

    public func deleteTemplate(name: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM job_templates WHERE name = ?").execute(arguments: [name])
            return (db.changesCount > 0, .none)
        }
    }

    // MARK: Schedules

    public func saveSchedule(_ schedule: Schedule) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO schedules (name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, processing_type = excluded.processing_type,
                    queue = excluded.queue, data = excluded.data, options = excluded.options, tenant = excluded.tenant,
                    next_run_at = excluded.next_run_at
                """).execute(arguments: [
                    schedule.name, schedule.cron, schedule.processingType, schedule.queue, schedule.data.jsonString(),
                    schedule.options.jsonString(), schedule.tenant, Timestamps.millis(schedule.nextRunAt),
                    Timestamps.millis(schedule.createdAt),
                ])
            return ((), .none)
        }
    }

    public func schedules() async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.scheduleColumns) FROM schedules ORDER BY name").map(SQLiteRows.schedule)
        }
    }

    public func deleteSchedule(name: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM schedules WHERE name = ?").execute(arguments: [name])
            return (db.changesCount > 0, .none)
        }
    }

    public func dueSchedules(at now: Date) async throws -> [Schedule] {
        try await read { db in
            try Row.fetchAll(
                db.cachedStatement(sql: "SELECT \(Self.scheduleColumns) FROM schedules WHERE next_run_at <= ? ORDER BY next_run_at"),
                arguments: [Timestamps.millis(now)]
            ).map(SQLiteRows.schedule)
        }
    }

    public func advanceSchedule(name: String, from: Date, to: Date) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "UPDATE schedules SET next_run_at = ? WHERE name = ? AND next_run_at = ?")
                .execute(arguments: [Timestamps.millis(to), name, Timestamps.millis(from)])
            return (db.changesCount > 0, .none)
        }
    }

    // MARK: Webhooks

    public func claimWebhooks(now: Date, claimFor: TimeInterval, limit: Int) async throws -> [WebhookDelivery] {
        try await writer.write { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: """
                    UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt_at = ?, updated_at = ?
                    WHERE job_id IN (SELECT job_id FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ?
                        ORDER BY next_attempt_at LIMIT ?)
                    RETURNING job_id, url, attempts
                    """),
                arguments: [
                    Timestamps.millis(now.addingTimeInterval(claimFor)), Timestamps.millis(now), Timestamps.millis(now),
                    max(1, limit),
                ])
            return (rows.map { WebhookDelivery(jobId: $0[0], url: $0[1], attempt: $0[2]) }, .none)
        }
    }

    public func finishWebhook(jobId: String, delivered: Bool, error: String?, retryAt: Date?, at: Date) async throws {
        try await writer.write { db in
            let state = delivered ? "delivered" : retryAt == nil ? "failed" : "pending"
            try db.cachedStatement(sql: """
                UPDATE webhook_deliveries SET state = ?, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at),
                    updated_at = ? WHERE job_id = ?
                """).execute(arguments: [state, error, retryAt.map(Timestamps.millis), Timestamps.millis(at), jobId])
            return ((), .none)
        }
    }

    // MARK: Keys

    public func createKey(_ key: StoredKey) async throws {
        try await writer.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO api_keys (id, name, role, tenant, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """).execute(arguments: [
                    key.id, key.name, key.role.rawValue, key.tenant, key.secretHash, Timestamps.millis(key.createdAt),
                ])
            return ((), .none)
        }
    }

    public func key(secretHash: String) async throws -> StoredKey? {
        try await read { db in
            try Row.fetchOne(
                db.cachedStatement(sql: "SELECT \(Self.keyColumns) FROM api_keys WHERE secret_hash = ?"),
                arguments: [secretHash]
            ).map(SQLiteRows.key)
        }
    }

    public func keys() async throws -> [StoredKey] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.keyColumns) FROM api_keys ORDER BY created_at, id")
                .map(SQLiteRows.key)
        }
    }

    public func deleteKey(id: String) async throws -> Bool {
        try await writer.write { db in
            try db.cachedStatement(sql: "DELETE FROM api_keys WHERE id = ?").execute(arguments: [id])
            return (db.changesCount > 0, .none)
        }
    }

    public func hasKey(role: Role) async throws -> Bool {
        try await read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_keys WHERE role = ?)", arguments: [role.rawValue])
                ?? false
        }
    }

    public func ping() async throws {
        try await read { db in try db.execute(sql: "SELECT 1") }
    }

    // MARK: Helpers

    private static let keyColumns = "id, name, role, tenant, secret_hash, created_at"
    static let scheduleColumns = "name, cron, processing_type, queue, data, options, tenant, next_run_at, created_at"

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch let error as OffloadError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw OffloadError.unavailable("the database is unavailable")
        }
    }

    private static func fetchJob(id: String, tenant: String?, _ db: Database) throws -> JobRow? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM jobs WHERE id = ?"), arguments: [id])
        else { return nil }
        let jobRow = try SQLiteRows.jobRow(row)
        if let tenant, jobRow.job.tenant != tenant { return nil }
        return jobRow
    }

    private static func fetchEvents(jobId: String, after: Int64, limit: Int, _ db: Database) throws -> [JobEvent] {
        try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT job_id, seq, kind, data, at FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """),
            arguments: [jobId, after, max(1, limit)]
        ).map(SQLiteRows.event)
    }

    /// Appends events, many rows per statement.
    private static func insert(_ events: [JobEvent], _ db: Database) throws {
        for chunk in events.chunks(of: rowsPerStatement) {
            var arguments = StatementArguments()
            for event in chunk {
                arguments += [
                    event.jobId, event.seq, event.kind.rawValue, event.data.jsonString(), Timestamps.millis(event.at),
                ]
            }
            try db.cachedStatement(sql: """
                INSERT INTO job_events (job_id, seq, kind, data, at) VALUES \(placeholders(rows: chunk.count, "(?, ?, ?, ?, ?)"))
                """).execute(arguments: arguments)
        }
    }

    /// Rows per multi-row statement: few enough statement texts to cache (one per count up to this), and far
    /// below SQLite's limit of bound values.
    private static let rowsPerStatement = 64

    /// `row` repeated `rows` times, comma-separated: the VALUES list of a multi-row statement.
    private static func placeholders(rows: Int, _ row: String) -> String {
        Array(repeating: row, count: rows).joined(separator: ", ")
    }

    private struct LeaseState {
        var lastSeq: Int64
        var attempt: Int
        var maxAttempts: Int
        var cancelRequested: Bool
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
        return LeaseState(lastSeq: row[2], attempt: row[3], maxAttempts: row[4], cancelRequested: (row[5] as Int64) != 0)
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
                    cancel_requested = 0, last_seq = last_seq + 1\(extra)
                WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: status)))\(leaseCheck)
                RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: all)
        else { throw refusal(jobId: jobId, becoming: status, leaseToken: leaseToken, db) }
        let (job, effects) = try finished(try SQLiteRows.jobRow(row), status: status, at: at, db)
        try insert(effects.events, db)
        return (job, effects)
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

    /// What follows a job's final update: its final event carrying the job (to insert), and its webhook queued.
    private static func finished(_ jobRow: JobRow, status: JobStatus, at: Date, _ db: Database) throws -> (Job, WriteEffects) {
        let kind: EventKind = status == .completed ? .completed : status == .failed ? .failed : .cancelled
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
        var effects = WriteEffects()
        effects.events = [event]
        return (jobRow.job, effects)
    }

    /// Puts a running job back to PENDING at `runAt`, optionally not counting the attempt that ends.
    private static func requeue(
        jobId: String, runAt: Date, at: Date, _ db: Database, reason: String, error: String?, uncountAttempt: Bool
    ) throws -> (Job, WriteEffects) {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: """
                UPDATE jobs SET status = 'PENDING', run_at = ?, worker_id = NULL, lease_token = NULL,
                    lease_expires_at = NULL, error = COALESCE(?, error), attempt = attempt - ?,
                    last_seq = last_seq + 1
                WHERE id = ? AND status IN (\(JobStatus.sqlPredecessors(of: .pending))) RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: [Timestamps.millis(runAt), error, uncountAttempt ? 1 : 0, jobId])
        else { throw OffloadError.conflict("job \(jobId) cannot go back to PENDING now") }
        let jobRow = try SQLiteRows.jobRow(row)
        var data: [String: JSONValue] = [
            "status": "PENDING", "reason": .string(reason), "attempt": .int(Int64(jobRow.job.attempt)),
            "runAt": .string(Timestamps.format(runAt)),
        ]
        if let error { data["error"] = .string(error) }
        let event = JobEvent(jobId: jobId, seq: jobRow.lastSeq, kind: .status, data: .object(data), at: at)
        try insert([event], db)
        var effects = WriteEffects()
        effects.events = [event]
        effects.workAvailable = true
        return (jobRow.job, effects)
    }
}
