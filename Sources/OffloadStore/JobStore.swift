import Foundation
import OffloadCore
import ServiceLifecycle

/// The one seam between Offload and its database. Every implementation passes the same conformance suite.
///
/// Every method that changes a job is one transaction; events it writes reach `eventBus` after the commit.
public protocol JobStore: Sendable {
    /// Where committed events, work wake-ups and cancel requests are published.
    var eventBus: EventBus { get }

    /// Stores jobs (each with its first `status` event) in one transaction. A job whose idempotency key
    /// already exists in its tenant is not stored; the existing job comes back with `created == false`.
    func submit(_ jobs: [NewJob]) async throws -> [SubmitOutcome]

    /// The job, if it exists and belongs to `tenant` (nil: any tenant).
    func job(id: String, tenant: String?) async throws -> Job?

    /// A page of jobs, newest first.
    func jobs(_ query: JobQuery) async throws -> JobPage

    /// Up to `limit` events of a job with `seq > after`, in order.
    func events(jobId: String, after: Int64, limit: Int) async throws -> [JobEvent]

    /// The job and its events after `after`, read in one consistent snapshot.
    func snapshot(jobId: String, tenant: String?, after: Int64?, limit: Int) async throws -> JobSnapshot?

    /// The earliest `runAt` of a PENDING job that is not ready at `now` (delayed or waiting to retry).
    func nextRunAt(after now: Date) async throws -> Date?

    /// Leases up to `request.limit` ready jobs (priority, then FIFO) to a worker; each attempt counts from 1.
    func lease(_ request: LeaseRequest) async throws -> [LeasedJob]
    /// Parks `request` in the store until work arrives: the store runs the lease right after the transaction
    /// that makes a job ready commits (its `now` is then), so the job starts without a wake-up and a queue in
    /// between, and the writes that made it ready are answered first.
    /// nil when the store does not park leases (the caller waits for the bus's work signal instead).
    func parkLease(_ request: LeaseRequest) -> LeaseTicket?

    /// Appends a worker's events to a leased job. A stale lease token is refused with `conflict`.
    func report(jobId: String, leaseToken: String, events: [EventReport], at: Date) async throws -> ReportOutcome

    /// Ends an attempt successfully.
    func complete(jobId: String, leaseToken: String, result: JSONValue, at: Date) async throws -> Job

    /// Ends an attempt with an error: back to PENDING at `retryAt(attempt)` while attempts are left (and it
    /// answers a date), else FAILED. The store knows the attempt that ended, so the caller needs no read to
    /// compute the backoff. `result` keeps what the attempt produced before it failed (a shell job's finished
    /// commands).
    func fail(
        jobId: String, leaseToken: String, error: String, result: JSONValue?, retryAt: @escaping @Sendable (Int) -> Date?,
        at: Date
    ) async throws -> Job

    /// A worker stopped a job because its cancel was requested: the job becomes CANCELLED.
    func acknowledgeCancel(jobId: String, leaseToken: String, at: Date) async throws -> Job

    /// Hands a leased job back to PENDING without counting the attempt (a worker shutting down).
    func release(jobId: String, leaseToken: String, at: Date) async throws -> Job

    /// Cancels a job: a pending one at once; a running one is marked and its worker told.
    func cancel(jobId: String, tenant: String?, at: Date) async throws -> Job

    /// Runs a FAILED or CANCELLED job again: PENDING at `at`, with all its attempts; its past errors stay.
    func retry(jobId: String, tenant: String?, at: Date) async throws -> Job

    /// Extends the leases of `jobIds` that `workerId` still holds; answers the ids it should stop: those whose
    /// cancel was requested and those it no longer holds.
    func heartbeat(workerId: String, jobIds: [String], until: Date) async throws -> [String]

    /// Puts jobs whose lease expired back to PENDING (or FAILED when no attempts are left); answers how many.
    func requeueExpiredLeases(now: Date) async throws -> Int

    /// Deletes up to `limit` finished jobs (and their events) that finished before `finishedBefore`;
    /// answers how many. Small batches keep each transaction short, so the queue never waits long.
    func prune(finishedBefore: Date, limit: Int) async throws -> Int

    /// Pauses or resumes a queue: nothing is leased from a paused queue, nothing in it is lost.
    func setQueue(_ queue: String, paused: Bool, at: Date) async throws

    /// The queues that are paused now.
    func pausedQueues() async throws -> Set<String>

    /// Switches a processing type on or off (002's per-type flags); `fallback` says what a submit of the type
    /// gets while it is off.
    func setType(_ processingType: String, enabled: Bool, fallback: TypeFallback, at: Date) async throws

    /// The processing types switched off now, with their fallback.
    func disabledTypes() async throws -> [String: TypeFallback]

    /// Saves (or replaces) a named job template: a submission body whose fields fill in what a submit leaves out.
    func saveTemplate(name: String, body: JSONValue, at: Date) async throws
    func template(name: String) async throws -> JSONValue?
    /// Every template by name.
    func templates() async throws -> [String: JSONValue]
    /// Deletes a template; false when there was none.
    func deleteTemplate(name: String) async throws -> Bool

    /// Saves (or replaces) a recurring job definition.
    func saveSchedule(_ schedule: Schedule) async throws
    /// Every schedule by name.
    func schedules() async throws -> [Schedule]
    /// Deletes a schedule; false when there was none.
    func deleteSchedule(name: String) async throws -> Bool
    /// The schedules whose next run is at or before `now`.
    func dueSchedules(at now: Date) async throws -> [Schedule]
    /// Moves a schedule's next run from `from` to `to`, only if it is still `from` (compare and set): of
    /// several servers enqueuing the same tick, one advances it.
    func advanceSchedule(name: String, from: Date, to: Date) async throws -> Bool

    /// Claims up to `limit` webhook deliveries due at `now` for `claimFor` seconds (another server skips them
    /// meanwhile); each comes with its attempt number, counted from 1. A job whose `options.webhookUrl` is set
    /// gets its delivery in the same transaction that makes it COMPLETED, FAILED or CANCELLED.
    func claimWebhooks(now: Date, claimFor: TimeInterval, limit: Int) async throws -> [WebhookDelivery]
    /// Records a delivery attempt: delivered, or failed and tried again at `retryAt` (nil: given up).
    func finishWebhook(jobId: String, delivered: Bool, error: String?, retryAt: Date?, at: Date) async throws

    /// Registers a worker, or registers it again under the same id (a restarted agent): what it declares
    /// replaces what was stored, and it is active and seen now.
    func registerWorker(_ worker: WorkerRecord) async throws
    func worker(id: String) async throws -> WorkerRecord?
    /// Every registered worker, oldest registration first.
    func workers() async throws -> [WorkerRecord]
    /// Records that the worker was seen at `at`; false when it is not registered.
    func touchWorker(id: String, at: Date) async throws -> Bool
    /// Sets a worker's stored status (`active`, `paused` or `draining`); nil when it is not registered.
    func setWorkerStatus(id: String, status: WorkerStatus) async throws -> WorkerRecord?
    /// Removes a worker from the registry; false when there was none. Jobs it still held go back to PENDING
    /// when their leases expire.
    func deleteWorker(id: String) async throws -> Bool
    /// Removes workers not seen since `lastSeenBefore`; answers how many.
    func pruneWorkers(lastSeenBefore: Date) async throws -> Int
    /// The ids of the jobs each worker runs now (PROCESSING), by worker id.
    func runningJobs() async throws -> [String: [String]]
    /// The leases `workerId` holds now (its PROCESSING jobs), oldest first: the server's own record of what a
    /// worker runs, for its capacity and to reconcile the worker's own list.
    func heldLeases(workerId: String) async throws -> [HeldLease]

    /// Counts for the dashboard, `GET /api/stats` and metrics, from the partial indexes (never the whole
    /// table): jobs waiting and running now, jobs finished since `finishedSince`, and the wait and run times
    /// of the newest `sampleLimit` of those.
    func stats(finishedSince: Date, sampleLimit: Int) async throws -> StoreStats
    /// Jobs finished since `since`, in buckets of `bucketSeconds` (from the partial index of finished jobs):
    /// counts by final status and the wait and run times of up to `samplesPerBucket` of the newest in each.
    /// Buckets with nothing in them are left out.
    func timeline(since: Date, bucketSeconds: Int, samplesPerBucket: Int) async throws -> [TimelineBucket]

    /// Stores an uploaded bundle.
    func saveFile(_ file: StoredFile) async throws
    /// A bundle with its content, if it exists and belongs to `tenant` (nil: any tenant).
    func file(id: String, tenant: String?) async throws -> StoredFile?
    /// Whether the bundle exists in `tenant` (nil: any tenant), without reading its content.
    func fileExists(id: String, tenant: String?) async throws -> Bool
    /// Deletes up to `limit` bundles uploaded before `createdBefore`; answers how many.
    func pruneFiles(createdBefore: Date, limit: Int) async throws -> Int

    func createKey(_ key: StoredKey) async throws
    func key(secretHash: String) async throws -> StoredKey?
    func keys() async throws -> [StoredKey]
    /// Deletes a key; false when there was none.
    func deleteKey(id: String) async throws -> Bool
    func hasKey(role: Role) async throws -> Bool

    /// Answers when the database is reachable, throws `unavailable` otherwise.
    func ping() async throws
}

/// A store with background work of its own (a writer thread, a connection pool, a listener): it serves
/// while `run()` runs, and `close()` ends `run()` once what is queued is done.
public protocol JobStoreService: JobStore, Service {
    func close()

    /// Whether this server leads the servers sharing the store, for the maintenance only one of them runs:
    /// asked about once a second, a leader checks that it still leads, a follower tries to take the lead. At
    /// most one server leads at a time; when it dies, another leads within seconds. With SQLite the one
    /// server that has the file open leads.
    func lead() async -> Bool

    /// Gives the lead up at once (at shutdown), for another server to take at its next ask.
    func resign() async
}

/// What a submit of a switched-off processing type gets.
public enum TypeFallback: String, Sendable, CaseIterable {
    /// A 422 that says the type is switched off.
    case refuse
    /// The job runs at once on the server that took the submit, which answers it finished (002's fallback).
    case sync
}

/// The answer to one submitted job.
public struct SubmitOutcome: Sendable, Equatable {
    public var job: Job
    /// False when an existing job with the same idempotency key came back instead.
    public var created: Bool

    public init(job: Job, created: Bool) {
        self.job = job
        self.created = created
    }
}

/// Filters and cursor of a job listing.
public struct JobQuery: Sendable, Equatable {
    public var tenant: String?
    public var status: JobStatus?
    public var processingType: String?
    public var queue: String?
    /// Only jobs older than this job id (the previous page's `nextCursor`).
    public var before: String?
    public var limit: Int

    public init(
        tenant: String? = nil, status: JobStatus? = nil, processingType: String? = nil, queue: String? = nil,
        before: String? = nil, limit: Int = 50
    ) {
        self.tenant = tenant
        self.status = status
        self.processingType = processingType
        self.queue = queue
        self.before = before
        self.limit = limit
    }
}

public struct JobPage: Sendable, Equatable {
    public var jobs: [Job]
    public var nextCursor: String?

    public init(jobs: [Job], nextCursor: String?) {
        self.jobs = jobs
        self.nextCursor = nextCursor
    }
}

public struct JobSnapshot: Sendable, Equatable {
    public var job: Job
    /// The highest event seq of the job when the snapshot was read.
    public var lastSeq: Int64
    public var events: [JobEvent]

    public init(job: Job, lastSeq: Int64, events: [JobEvent]) {
        self.job = job
        self.lastSeq = lastSeq
        self.events = events
    }
}

/// A lease a worker holds, as the store records it.
public struct HeldLease: Sendable, Equatable {
    public var jobId: String
    public var leaseToken: String
    public var startedAt: Date
    public var expiresAt: Date
    public var cancelRequested: Bool

    public init(jobId: String, leaseToken: String, startedAt: Date, expiresAt: Date, cancelRequested: Bool) {
        self.jobId = jobId
        self.leaseToken = leaseToken
        self.startedAt = Timestamps.date(millis: Timestamps.millis(startedAt))
        self.expiresAt = Timestamps.date(millis: Timestamps.millis(expiresAt))
        self.cancelRequested = cancelRequested
    }
}

public struct LeaseRequest: Sendable, Equatable {
    public var workerId: String
    /// Processing types the worker runs; nil: any.
    public var processingTypes: [String]?
    public var limit: Int
    public var leaseDuration: TimeInterval
    public var now: Date
    /// Only these jobs (the server running a job synchronously leases that one); nil: any ready job.
    public var jobIds: [String]?
    /// The labels the worker carries (`key=value`): it gets only jobs whose labels are all among them.
    /// nil: labels are not checked (the synchronous run of one named job).
    public var labels: [String]?

    public init(
        workerId: String, processingTypes: [String]?, limit: Int, leaseDuration: TimeInterval, now: Date,
        jobIds: [String]? = nil, labels: [String]? = nil
    ) {
        self.workerId = workerId
        self.processingTypes = processingTypes
        self.limit = limit
        self.leaseDuration = leaseDuration
        self.now = now
        self.jobIds = jobIds
        self.labels = labels
    }
}

public struct ReportOutcome: Sendable, Equatable {
    public var events: [JobEvent]
    /// The job's cancel was requested: the worker should stop it and acknowledge.
    public var cancelRequested: Bool

    public init(events: [JobEvent], cancelRequested: Bool) {
        self.events = events
        self.cancelRequested = cancelRequested
    }
}

/// An API key as stored: only the SHA-256 of its secret.
public struct StoredKey: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: Role
    public var tenant: String
    public var secretHash: String
    public var createdAt: Date

    public init(id: String, name: String, role: Role, tenant: String, secretHash: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.role = role
        self.tenant = tenant
        self.secretHash = secretHash
        self.createdAt = createdAt
    }

    public var info: APIKeyInfo { APIKeyInfo(id: id, name: name, role: role, tenant: tenant, createdAt: createdAt) }
}

/// A recurring job: a cron expression and the job it enqueues at each tick.
public struct Schedule: Sendable, Equatable {
    public var name: String
    public var cron: String
    public var processingType: String
    public var queue: String
    public var data: JSONValue
    public var options: JSONValue
    /// The tenant its jobs belong to (the admin key's that saved it).
    public var tenant: String
    /// The tick the schedule enqueues next (milliseconds, as stored).
    public var nextRunAt: Date
    public var createdAt: Date

    public init(
        name: String, cron: String, processingType: String, queue: String, data: JSONValue, options: JSONValue,
        tenant: String, nextRunAt: Date, createdAt: Date
    ) {
        self.name = name
        self.cron = cron
        self.processingType = processingType
        self.queue = queue
        self.data = data
        self.options = options
        self.tenant = tenant
        self.nextRunAt = Timestamps.date(millis: Timestamps.millis(nextRunAt))
        self.createdAt = Timestamps.date(millis: Timestamps.millis(createdAt))
    }

    public var jsonValue: JSONValue {
        [
            "name": .string(name), "cron": .string(cron), "processingType": .string(processingType),
            "queue": .string(queue), "data": data, "options": options, "tenant": .string(tenant),
            "nextRunAt": .string(Timestamps.format(nextRunAt)), "createdAt": .string(Timestamps.format(createdAt)),
        ]
    }
}

/// A webhook to send: the final job `jobId` to `url`.
public struct WebhookDelivery: Sendable, Equatable {
    public var jobId: String
    public var url: String
    /// This attempt, counted from 1.
    public var attempt: Int

    public init(jobId: String, url: String, attempt: Int) {
        self.jobId = jobId
        self.url = url
        self.attempt = attempt
    }
}

/// An uploaded bundle (a ZIP for shell jobs), kept in the database so every server can serve it.
public struct StoredFile: Sendable, Equatable {
    public var fileId: String
    public var tenant: String
    public var size: Int
    /// Hex SHA-256 of the content.
    public var sha256: String
    public var content: [UInt8]
    public var createdAt: Date

    public init(fileId: String, tenant: String, size: Int, sha256: String, content: [UInt8], createdAt: Date) {
        self.fileId = fileId
        self.tenant = tenant
        self.size = size
        self.sha256 = sha256
        self.content = content
        self.createdAt = Timestamps.date(millis: Timestamps.millis(createdAt))
    }
}

/// One group of the job counts: a queue, a processing type and a status.
public struct StatsKey: Hashable, Sendable {
    public var queue: String
    public var processingType: String
    public var status: JobStatus

    public init(queue: String, processingType: String, status: JobStatus) {
        self.queue = queue
        self.processingType = processingType
        self.status = status
    }
}

/// What `JobStore.stats` answers.
public struct StoreStats: Sendable, Equatable {
    /// PENDING and PROCESSING jobs now.
    public var active: [StatsKey: Int]
    /// COMPLETED, FAILED and CANCELLED jobs that finished since the cut-off.
    public var finished: [StatsKey: Int]
    /// Milliseconds from creation to the last start, of the newest finished jobs that ran.
    public var waitMillis: [Int64]
    /// Milliseconds from the last start to the end, of the same jobs.
    public var runMillis: [Int64]

    public init(active: [StatsKey: Int], finished: [StatsKey: Int], waitMillis: [Int64], runMillis: [Int64]) {
        self.active = active
        self.finished = finished
        self.waitMillis = waitMillis
        self.runMillis = runMillis
    }
}

/// One bucket of `JobStore.timeline`.
public struct TimelineBucket: Sendable, Equatable {
    /// The bucket's start, a multiple of its length since 1970.
    public var start: Date
    /// COMPLETED, FAILED and CANCELLED jobs that finished in the bucket.
    public var finished: [JobStatus: Int]
    /// Milliseconds from creation to the last start, of a sample of the bucket's jobs that ran.
    public var waitMillis: [Int64]
    /// Milliseconds from the last start to the end, of the same jobs.
    public var runMillis: [Int64]

    public init(start: Date, finished: [JobStatus: Int] = [:], waitMillis: [Int64] = [], runMillis: [Int64] = []) {
        self.start = start
        self.finished = finished
        self.waitMillis = waitMillis
        self.runMillis = runMillis
    }
}

extension TimelineBucket {
    /// The statements both stores run, reading `source` (SQLite names the covering index of finished jobs
    /// there, which its planner would pass over for `jobs_status`) with `?` placeholders (PostgreSQL numbers
    /// them). Counts take (bucket length, since); a bucket's sample takes (start, end, limit): the newest jobs of
    /// one bucket, read backwards along the index, so a busy hour costs the samples, not every job in it.
    static func countsSQL(from source: String) -> String {
        """
        SELECT completed_at / ?, status, count(*) FROM \(source)
        WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= ?
        GROUP BY 1, 2
        """
    }
    static func sampleSQL(from source: String) -> String {
        """
        SELECT started_at - created_at, completed_at - started_at FROM \(source)
        WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND completed_at >= ? AND completed_at < ? AND started_at IS NOT NULL
        ORDER BY completed_at DESC LIMIT ?
        """
    }

    /// Buckets from the rows both stores read, oldest first.
    static func buckets(
        bucketMillis: Int64, counts: [(bucket: Int64, status: String, count: Int)],
        samples: [(bucket: Int64, timings: [(wait: Int64, run: Int64)])]
    ) -> [TimelineBucket] {
        var buckets: [Int64: TimelineBucket] = [:]
        func modify(_ index: Int64, _ change: (inout TimelineBucket) -> Void) {
            var entry = buckets[index] ?? TimelineBucket(start: Timestamps.date(millis: index * bucketMillis))
            change(&entry)
            buckets[index] = entry
        }
        for row in counts {
            guard let status = JobStatus(rawValue: row.status) else { continue }
            modify(row.bucket) { $0.finished[status] = row.count }
        }
        for sample in samples {
            modify(sample.bucket) {
                $0.waitMillis += sample.timings.map(\.wait)
                $0.runMillis += sample.timings.map(\.run)
            }
        }
        return buckets.keys.sorted().compactMap { buckets[$0] }
    }
}

extension StoreStats {
    /// The statements both stores run (the same SQL; each store binds its parameters).
    static let activeSQL = """
        SELECT queue, processing_type, status, count(*) FROM jobs WHERE status IN ('PENDING', 'PROCESSING')
        GROUP BY queue, processing_type, status
        """

    /// The counts of `(queue, processing_type, status, count)` rows as both stores read them.
    static func counts(_ rows: [(queue: String, type: String, status: String, count: Int)]) -> [StatsKey: Int] {
        var counts: [StatsKey: Int] = [:]
        for row in rows {
            guard let status = JobStatus(rawValue: row.status) else { continue }
            counts[StatsKey(queue: row.queue, processingType: row.type, status: status)] = row.count
        }
        return counts
    }
}
