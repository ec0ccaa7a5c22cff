import Foundation
import Hummingbird
import OffloadCore
import OffloadStore
import Synchronization

/// One report of a worker on a job it leased: events, then, optionally, the attempt's end. The per-job routes
/// (`POST /api/jobs/{id}/events|complete|fail|release`) each carry one; a sync carries many.
struct LeaseReport: Sendable {
    enum End: Sendable {
        case complete(result: JSONValue)
        case fail(message: String, result: JSONValue?, retry: RetryHint)
        /// Hands the job back without counting the attempt; ends it CANCELLED when its cancel was requested
        /// (how a worker acknowledges a cancel).
        case release
    }

    var jobId: String
    var leaseToken: String
    var events: [EventReport]
    var end: End?

    /// Reads `{leaseToken, events?, result?, error?, retry?, retryAfterSeconds?}` for an end named `end`
    /// (`complete`, `fail`, `release`; nil: events only).
    init(jobId: String, body: JSONValue, end: String?) throws {
        guard let token = body["leaseToken"]?.stringValue, !token.isEmpty else {
            throw OffloadError.badRequest("missing field 'leaseToken'")
        }
        self.jobId = jobId
        leaseToken = token
        events = []
        if let given = body["events"], !given.isNull {
            guard let list = given.arrayValue, Limits.eventReports.allows(list.count) else {
                throw OffloadError.badRequest("events must be an array of {kind, data}")
            }
            events = try list.map { item in
                guard let kindName = item["kind"]?.stringValue, let kind = EventKind(rawValue: kindName) else {
                    throw OffloadError.badRequest("each event needs a kind: progress, log or token")
                }
                return EventReport(kind: kind, data: item["data"] ?? .null)
            }
        }
        switch end {
        case nil:
            self.end = nil
        case "complete":
            self.end = .complete(result: body["result"] ?? .null)
        case "fail":
            guard let message = body["error"]?.stringValue, !message.isEmpty else {
                throw OffloadError.badRequest("error must be a non-empty message")
            }
            // `"retry": false`: never again; `"retryAfterSeconds": n`: not before n seconds (an upstream's Retry-After).
            let retry: RetryHint =
                body["retry"]?.boolValue == false
                ? .never
                : body["retryAfterSeconds"]?.doubleValue.flatMap { $0 >= 0 ? .after(min($0, 86_400)) : nil } ?? .backoff
            self.end = .fail(message: String(message.prefix(10_000)), result: body["result"], retry: retry)
        case "release":
            self.end = .release
        case let other?:
            throw OffloadError.badRequest("end must be complete, fail or release, not \(other)")
        }
    }
}

/// The server side of both worker protocols: the per-job routes and the long-poll lease are a sync with one
/// report or none, so both keep the same guarantees from one implementation (fencing by lease token, capacity
/// from the server's own records, cancels answered at once).
struct WorkerSession {
    let store: any JobStore
    let configuration: ServerConfiguration
    let metrics: ServerMetrics

    /// Lease calls record that a worker was seen at most this often (heartbeats always do).
    static let presenceInterval: TimeInterval = 2

    /// What applying a report did.
    struct Applied: Sendable {
        /// Events stored.
        var events: Int
        var cancelRequested: Bool
        /// The job after the report's end.
        var job: Job?
    }

    /// What a sync answers: one outcome per report, in order; new leases; running jobs to stop.
    struct Exchange: Sendable {
        var reports: [(jobId: String, outcome: Result<Applied, OffloadError>)]
        var jobs: [LeasedJob]
        var cancel: [String]
    }

    /// Stores a report's events, then its end; a stale lease token changes nothing (`conflict`).
    func apply(_ report: LeaseReport) async throws -> Applied {
        var applied = Applied(events: 0, cancelRequested: false, job: nil)
        let now = Date()
        // A report without an end checks its lease even with no events: a stale one is answered as stale.
        if !report.events.isEmpty || report.end == nil {
            let outcome = try await store.report(jobId: report.jobId, leaseToken: report.leaseToken, events: report.events, at: now)
            applied.events = outcome.events.count
            applied.cancelRequested = outcome.cancelRequested
        }
        switch report.end {
        case nil:
            break
        case .complete(let result):
            applied.job = try await store.complete(jobId: report.jobId, leaseToken: report.leaseToken, result: result, at: now)
        case .fail(let message, let result, let retry):
            let policy = configuration.retryPolicy
            let job = try await store.fail(
                jobId: report.jobId, leaseToken: report.leaseToken, error: message, result: result,
                retryAt: { retry.retryAt(afterAttempt: $0, now: now, policy: policy) }, at: now)
            metrics.retried(job)
            applied.job = job
        case .release:
            applied.job = try await store.release(jobId: report.jobId, leaseToken: report.leaseToken, at: now)
        }
        return applied
    }

    /// One round trip of a worker: applies `reports` (together: the stores commit concurrent ends in one
    /// transaction), extends the leases of `running` and, when `reconcile`, hands back the leases the worker
    /// no longer lists; then leases up to `wanted` jobs within the worker's free capacity as the server records
    /// it, waiting up to `wait` for one unless there is something to answer at once.
    func exchange(
        workerId: String, reports: [LeaseReport], running: [String], reconcile: Bool, wanted: Int, wait: Duration,
        clientGone: Latch<Void>
    ) async throws -> Exchange {
        guard let worker = try await store.worker(id: workerId) else { throw OffloadError.notFound("no worker \(workerId)") }
        let now = Date()
        if now.timeIntervalSince(worker.lastHeartbeatAt) >= Self.presenceInterval {
            _ = try await store.touchWorker(id: workerId, at: now)
        }
        let ended = Set(reports.filter { $0.end != nil }.map(\.jobId))
        let stillRunning = running.filter { !ended.contains($0) }
        // One read of what the server records the worker holds: it answers the cancels, the leases to extend
        // and to hand back, and the free capacity, where a heartbeat of every running job on every sync would
        // write each of them. Read before the reports are applied, so that the lease can go beside them (on
        // SQLite into the same transaction): the jobs they end are no longer counted.
        var held = try await store.heldLeases(workerId: workerId).filter { !ended.contains($0.jobId) }
        let leaseSeconds = configuration.leaseSeconds
        let holding = Dictionary(held.map { ($0.jobId, $0) }, uniquingKeysWith: { first, _ in first })
        var cancel = stillRunning.filter { holding[$0]?.cancelRequested ?? true }
        if reconcile {
            let listed = Set(stillRunning).union(reports.map(\.jobId))
            let cutoff = now.addingTimeInterval(-configuration.workerReconcileGrace)
            let unlisted = held.filter { !listed.contains($0.jobId) && $0.startedAt < cutoff }
            for lease in unlisted {
                // Fenced by its token: a report that ended it meanwhile wins, and this changes nothing.
                _ = try? await store.release(jobId: lease.jobId, leaseToken: lease.leaseToken, at: now)
            }
            held.removeAll { lease in unlisted.contains { $0.jobId == lease.jobId } }
        }
        // Extended once a third of the lease is gone (as often as heartbeats would), not on every sync.
        let renewBefore = now.addingTimeInterval(leaseSeconds * 2 / 3)
        let renew = stillRunning.filter { holding[$0].map { !$0.cancelRequested && $0.expiresAt < renewBefore } ?? false }
        let interrupt = Latch<Void>()
        let watched = Set(stillRunning)
        let token = store.eventBus.onCancelRequest { jobId in if watched.contains(jobId) { interrupt.set(()) } }
        defer { store.eventBus.removeCancelListener(token) }
        // A worker that died while waiting must not be handed jobs it will never see (they would sit
        // leased until their lease expired, and count an attempt).
        let goneWatch = Task {
            if await clientGone.wait() != nil { interrupt.set(()) }
        }
        defer { goneWatch.cancel() }
        let labels = worker.labelTerms
        let store = self.store
        // The first attempt goes on what was just read; a wake-up reads again (an admin may pause or resume the
        // worker meanwhile, and other calls of the same worker may have leased).
        let known = Mutex<(WorkerRecord, Int)?>((worker, held.count))
        // Reports and jobs to stop answer at once (with whatever free capacity can lease now); otherwise wait.
        let waitFor: Duration = cancel.isEmpty && reports.isEmpty ? wait : .zero
        async let leased = LeaseWait(store: store, metrics: metrics).lease(wait: waitFor, interrupt: interrupt) { now in
            guard wanted > 0, clientGone.value == nil else { return nil }
            let (current, holds): (WorkerRecord, Int)
            if let first = known.withLock({ value in defer { value = nil }; return value }) {
                (current, holds) = first
            } else {
                guard let record = try await store.worker(id: workerId) else { return nil }
                (current, holds) = (record, try await store.heldLeases(workerId: workerId).count)
            }
            // Capacity is what the server records the worker holds, whatever the worker says.
            let free = min(wanted, current.maxConcurrentJobs - holds)
            guard current.status == .active, free > 0 else { return nil }
            return LeaseRequest(
                workerId: workerId, processingTypes: worker.processingTypes, limit: free,
                leaseDuration: leaseSeconds, now: now, labels: labels)
        }
        async let renewed = renew.isEmpty
            ? [] : store.heartbeat(workerId: workerId, jobIds: renew, until: now.addingTimeInterval(leaseSeconds))
        let outcomes = await applyAll(reports)
        let jobs = try await leased
        cancel += try await renewed.filter { !cancel.contains($0) }
        for (report, outcome) in zip(reports, outcomes) where report.end == nil {
            if case .success(let applied) = outcome, applied.cancelRequested, !cancel.contains(report.jobId) { cancel.append(report.jobId) }
        }
        if cancel.isEmpty, interrupt.value != nil, clientGone.value == nil {
            let holding = Set(try await store.heldLeases(workerId: workerId).filter { !$0.cancelRequested }.map(\.jobId))
            cancel = stillRunning.filter { !holding.contains($0) }
        }
        return Exchange(reports: Array(zip(reports.map(\.jobId), outcomes)), jobs: jobs, cancel: cancel)
    }

    /// Applies `reports`: those of different jobs concurrently, those of one job one after the other in the
    /// order sent (its events before its end); answers their outcomes in order (a report refused fails alone).
    private func applyAll(_ reports: [LeaseReport]) async -> [Result<Applied, OffloadError>] {
        if reports.count <= 1 {
            return reports.isEmpty ? [] : [await outcome(of: reports[0])]
        }
        var byJob: [String: [Int]] = [:]
        for (index, report) in reports.enumerated() { byJob[report.jobId, default: []].append(index) }
        return await withTaskGroup(of: [(Int, Result<Applied, OffloadError>)].self) { group in
            for indices in byJob.values {
                group.addTask {
                    var outcomes: [(Int, Result<Applied, OffloadError>)] = []
                    for index in indices { outcomes.append((index, await outcome(of: reports[index]))) }
                    return outcomes
                }
            }
            var outcomes = [Result<Applied, OffloadError>?](repeating: nil, count: reports.count)
            for await done in group {
                for (index, outcome) in done { outcomes[index] = outcome }
            }
            return outcomes.map { $0! }
        }
    }

    private func outcome(of report: LeaseReport) async -> Result<Applied, OffloadError> {
        do {
            return .success(try await apply(report))
        } catch let error as OffloadError {
            return .failure(error)
        } catch {
            return .failure(.unavailable("the store could not take the report"))
        }
    }
}
