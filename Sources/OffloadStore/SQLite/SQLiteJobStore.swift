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
    let completions = WriteGroup<Completion, Job> { try SQLiteJobStore.complete($0, $1) }
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

    /// One server has a SQLite file open, and it leads.
    public func lead() async -> Bool { true }

    public func resign() async {}

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
            // Stores the jobs at `indices` as PENDING, with their first events, many rows per statement.
            func insertNew(_ indices: [Int]) throws {
                guard !indices.isEmpty else { return }
                // Their first events are the rows' own (`InlineEvents.first`): published, not stored.
                try Self.insertPending(indices.map { (jobs[$0], encoded[$0]) }, db)
                effects.events += indices.map { Self.pendingEvent(jobs[$0]) }
                // A job in a paused queue wakes no lease: each would walk the queue's waiting jobs for nothing
                // (a paused queue of 10,000 made every submit cost a walk of them all). Resuming wakes them.
                effects.workAvailable = try effects.workAvailable || Self.anyUnpaused(indices.map { jobs[$0].queue }, db)
                for index in indices { outcomes[index] = SubmitOutcome(job: Self.pendingJob(jobs[index]), created: true) }
            }
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
                // At once: a later job of this batch with the same key must find it.
                try insertNew([index])
            }
            try insertNew(plain)
            return (outcomes.map { $0! }, effects)
        }
    }

    /// Whether any of `queues` is not paused.
    private static func anyUnpaused(_ queues: [String], _ db: Database) throws -> Bool {
        let statement = try db.cachedStatement(sql: "SELECT 1 FROM paused_queues WHERE queue = ?")
        for queue in Set(queues) {
            if try Int.fetchOne(statement, arguments: [queue]) == nil { return true }
        }
        return false
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
                    timeout_seconds, idempotency_key, tenant, created_at, cache_key, labels, status, last_seq, inline_events)
                VALUES \(placeholders(rows: chunk.count, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', 1, 1)"))
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
                    last_seq, cache_key, cached_from, inline_events)
                VALUES (?, ?, ?, ?, ?, 'COMPLETED', 100, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, 2)
                RETURNING \(SQLiteRows.jobColumns)
                """),
            arguments: [
                new.jobId, new.processingType, new.queue, data, options, hit.result,
                new.maxAttempts, new.priority, Timestamps.millis(new.runAt), new.timeoutSeconds, new.idempotencyKey,
                new.tenant, created, created, created, new.cacheKey, hit.id,
            ])
        else { throw OffloadError.unavailable("the cached job was not stored") }
        let job = try SQLiteRows.jobRow(row).job
        // The final event is the row's own (`InlineEvents.final`).
        let event = JobEvent(jobId: new.jobId, seq: 1, kind: .completed, data: job.jsonValue, at: new.createdAt)
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
            // Waiting, running and failed or cancelled jobs each come from their small index; completed jobs
            // and listings of every status walk the primary key, newest first (no index is kept per tenant).
            var source = "jobs"
            if let status = query.status {
                switch status {
                case .pending, .processing:
                    source = "jobs INDEXED BY jobs_active"
                    conditions.append(SQLiteSchema.activePredicate)
                case .failed, .cancelled:
                    source = "jobs INDEXED BY jobs_ended_badly"
                    conditions.append(SQLiteSchema.endedBadlyPredicate)
                case .completed:
                    break
                }
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
                    sql: "SELECT \(SQLiteRows.jobColumns) FROM \(source) \(whereClause) ORDER BY id DESC LIMIT ?"),
                arguments: arguments)
            return JobPage(fetched: try rows.map { try SQLiteRows.jobRow($0).job }, limit: limit)
        }
    }

    public func events(jobId: String, after: Int64, limit: Int) async throws -> [JobEvent] {
        try await read { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: nil, db) else { return [] }
            return try Self.fetchEvents(row, after: after, limit: limit, db)
        }
    }

    public func snapshot(jobId: String, tenant: String?, after: Int64?, limit: Int) async throws -> JobSnapshot? {
        try await read { db in
            guard let row = try Self.fetchJob(id: jobId, tenant: tenant, db) else { return nil }
            let events = try Self.fetchEvents(row, after: after ?? row.lastSeq, limit: limit, db)
            return JobSnapshot(job: row.job, lastSeq: row.lastSeq, events: events)
        }
    }

    public func ping() async throws {
        try await read { db in try db.execute(sql: "SELECT 1") }
    }

    // MARK: Helpers

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

    static func fetchJob(id: String, tenant: String?, _ db: Database) throws -> JobRow? {
        guard let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(SQLiteRows.jobColumns) FROM jobs WHERE id = ?"), arguments: [id])
        else { return nil }
        let jobRow = try SQLiteRows.jobRow(row)
        if let tenant, jobRow.job.tenant != tenant { return nil }
        return jobRow
    }

    /// The events of `row`'s job after `after`: its event rows and those the job row stands for, in seq order.
    private static func fetchEvents(_ row: JobRow, after: Int64, limit: Int, _ db: Database) throws -> [JobEvent] {
        let stored = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT job_id, seq, kind, data, at FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?
                """),
            arguments: [row.job.jobId, after, max(1, limit)]
        ).map(SQLiteRows.event)
        return row.events(merging: stored, after: after, limit: limit)
    }

    /// Appends events, many rows per statement.
    static func insert(_ events: [JobEvent], _ db: Database) throws {
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
    static let rowsPerStatement = 64

    /// `row` repeated `rows` times, comma-separated: the VALUES list of a multi-row statement.
    static func placeholders(rows: Int, _ row: String) -> String {
        Array(repeating: row, count: rows).joined(separator: ", ")
    }
}
