import Foundation
import OffloadClient
import OffloadCore
import OffloadProcessing
import Synchronization

/// The job source of a remote worker agent: the server's worker HTTP API, through its session protocol.
///
/// Reports (events, completions, failures, releases) queue up while a sync is on its way and go together in
/// the next one (`POST /api/workers/{id}/sync`), with the jobs running here and, when the pool is asking for
/// work meanwhile, its free slots: one round trip ends many jobs and leases the next ones. With nothing to
/// report, a lease long-polls on a sync of its own. A server that forgot the worker (its registry was pruned,
/// or its database replaced) gets the same registration again, under the same id.
public final class RemoteJobSource: JobSource {
    private let client: OffloadClient
    private let registration: WorkerRegistration
    private let registered = Mutex<String?>(nil)
    private let held = Mutex<Set<String>>([])
    private let cancelled: AsyncStream<String>
    private let cancelledContinuation: AsyncStream<String>.Continuation
    private let outbox = Mutex(Outbox())
    /// How long ends wait for the other running jobs' before their sync goes (see `drain`).
    private static let endsGather = Duration.milliseconds(1)

    /// Reports waiting for the next sync, and a lease that rides along with it.
    private struct Outbox {
        var reports: [(report: SyncReport, answer: CheckedContinuation<Bool, any Error>)] = []
        /// nil answered: the reports went without it, and the lease polls on its own.
        var rider: (limit: Int, answer: CheckedContinuation<[LeasedJob]?, any Error>)?
        /// A sync with reports is on its way (at most one: the next one takes everything queued meanwhile).
        var sending = false
    }

    public init(client: OffloadClient, registration: WorkerRegistration) {
        self.client = client
        self.registration = registration
        (cancelled, cancelledContinuation) = AsyncStream.makeStream(of: String.self)
    }

    /// The id the server knows this worker by (after `register()`).
    public var workerId: String? { registered.withLock { $0 } }

    /// Registers with the server (under the id it had, if any); answers the worker id.
    @discardableResult
    public func register() async throws -> String {
        var declared = registration
        declared.workerId = workerId ?? registration.workerId
        let id = try await client.registerWorker(declared)
        registered.withLock { $0 = id }
        return id
    }

    /// Tells the server this worker is shutting down: it gets no new jobs.
    public func markDraining() async throws {
        guard let id = workerId else { return }
        _ = try await client.workerHeartbeat(id, jobIds: runningIds(), draining: true)
    }

    /// Leaves the registry.
    public func deregister() async throws {
        guard let id = workerId else { return }
        try await client.deregisterWorker(id)
    }

    private func runningIds() -> [String] { held.withLock { Array($0) } }

    /// Runs `body` with the worker id; registers again once if the server no longer knows it.
    private func asRegistered<T: Sendable>(_ body: (String) async throws -> T) async throws -> T {
        let id: String
        if let known = workerId { id = known } else { id = try await register() }
        do {
            return try await body(id)
        } catch OffloadError.notFound {
            return try await body(try await register())
        }
    }

    public func lease(limit: Int, wait: Duration) async throws -> [LeasedJob] {
        let seconds = Int(min(60, max(0, wait.components.seconds)))
        // While reports are on their way, the lease goes with the next sync (it answers at once).
        let riding = try await withCheckedThrowingContinuation { (answer: CheckedContinuation<[LeasedJob]?, any Error>) in
            let rides = outbox.withLock { box -> Bool in
                guard box.sending else { return false }
                box.rider = (limit, answer)
                return true
            }
            if !rides { answer.resume(returning: nil) }
        }
        if let riding, !riding.isEmpty || seconds == 0 { return riding }
        // Nothing to report (or nothing came with the reports): a long poll of its own, cancelled with this task.
        return try await sync(reports: [], lease: limit, wait: seconds).jobs
    }

    public func report(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool {
        try await send(SyncReport(lease: lease, events: events))
    }

    public func complete(_ lease: LeaseRef, result: JSONValue) async throws {
        _ = try await send(SyncReport(lease: lease, end: .complete(result: result)))
    }

    public func fail(_ lease: LeaseRef, error: String, result: JSONValue?, retry: RetryHint) async throws {
        _ = try await send(SyncReport(lease: lease, end: .fail(error: error, result: result, retry: retry)))
    }

    public func acknowledgeCancel(_ lease: LeaseRef) async throws {
        _ = try await send(SyncReport(lease: lease, end: .release))
    }

    public func release(_ lease: LeaseRef) async throws {
        _ = try await send(SyncReport(lease: lease, end: .release))
    }

    /// Queues `report` for the next sync; answers whether its job's cancel was requested once the server took
    /// it, or throws why the server refused it (`conflict`: a stale lease) or could not be reached.
    private func send(_ report: SyncReport) async throws -> Bool {
        try await withCheckedThrowingContinuation { (answer: CheckedContinuation<Bool, any Error>) in
            let start = outbox.withLock { box -> Bool in
                box.reports.append((report, answer))
                defer { box.sending = true }
                return !box.sending
            }
            if start { Task { await self.drain() } }
        }
    }

    /// Sends the queued reports (with a riding lease) until none is left: each sync takes all that queued
    /// while the one before was on its way.
    private func drain() async {
        while true {
            // Ends only, and jobs still running here: give them a moment to end too, so that a burst of short
            // jobs ends in one sync rather than one plus the rest (events go at once: they are what SSE streams).
            let waiting = outbox.withLock { box in
                box.reports.allSatisfy { $0.report.end != nil } ? box.reports.count : nil
            }
            if let waiting, waiting < held.withLock({ $0.count }) { try? await Task.sleep(for: Self.endsGather) }
            let (batch, rider) = outbox.withLock { box in
                let batch = box.reports
                let rider = box.rider
                box.reports.removeAll()
                box.rider = nil
                if batch.isEmpty { box.sending = false }
                return (batch, rider)
            }
            if batch.isEmpty {
                // A lease that came after the last reports went polls on its own.
                rider?.answer.resume(returning: nil)
                return
            }
            do {
                let answer = try await sync(reports: batch.map(\.report), lease: rider?.limit ?? 0, wait: 0)
                for ((report, waiting), outcome) in zip(batch, answer.reports) { settle(report, waiting, outcome) }
                rider?.answer.resume(returning: answer.jobs)
            } catch OffloadError.payloadTooLarge where batch.count > 1 {
                // Too large together (large results): each alone, as the per-job routes carried them, so only a
                // report too large by itself is refused.
                for (report, waiting) in batch {
                    do {
                        let answer = try await sync(reports: [report], lease: 0, wait: 0)
                        settle(report, waiting, answer.reports[0])
                    } catch let error as OffloadError {
                        settle(report, waiting, .failure(error))
                    } catch {
                        settle(report, waiting, .failure(.unavailable("\(error)")))
                    }
                }
                rider?.answer.resume(returning: nil)
            } catch let error as OffloadError {
                for (report, waiting) in batch { settle(report, waiting, .failure(error)) }
                rider?.answer.resume(throwing: error)
            } catch {
                for (_, waiting) in batch { waiting.resume(throwing: error) }
                rider?.answer.resume(throwing: error)
            }
        }
    }

    /// Answers a report's caller; an end the server took, or refused for good, leaves the job no longer held
    /// here (one it could not reach is tried again).
    private func settle(_ report: SyncReport, _ waiting: CheckedContinuation<Bool, any Error>, _ outcome: Result<Bool, OffloadError>) {
        if report.end != nil {
            if case .failure(.unavailable) = outcome {} else { _ = held.withLock { $0.remove(report.lease.jobId) } }
        }
        waiting.resume(with: outcome.mapError { $0 as any Error })
    }

    /// One sync under the registered id: the jobs it leases are held here, the cancels it answers go to the pool.
    private func sync(reports: [SyncReport], lease: Int, wait: Int) async throws -> SyncAnswer {
        let answer = try await asRegistered { id in
            try await client.syncWorker(id, reports: reports, running: runningIds(), lease: lease, waitSeconds: wait)
        }
        held.withLock { set in for leased in answer.jobs { set.insert(leased.job.jobId) } }
        for jobId in answer.cancel { cancelledContinuation.yield(jobId) }
        return answer
    }

    public func heartbeat(_ leases: [LeaseRef]) async throws -> [String] {
        try await asRegistered { id in try await client.workerHeartbeat(id, jobIds: leases.map(\.jobId)) }
    }

    public func cancellations() -> AsyncStream<String> { cancelled }

    public func file(_ fileId: String) async throws -> [UInt8] {
        try await client.downloadFile(fileId)
    }
}
