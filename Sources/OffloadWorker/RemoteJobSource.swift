import Foundation
import OffloadClient
import OffloadCore
import Synchronization

/// The job source of a remote worker agent: the server's worker HTTP API.
///
/// It remembers the leases it holds, so each lease call tells the server which jobs run here (their leases
/// are extended and a cancel of one of them answers at once); a server that forgot the worker (its
/// registry was pruned, or its database replaced) gets the same registration again, under the same id.
public final class RemoteJobSource: JobSource {
    private let client: OffloadClient
    private let registration: WorkerRegistration
    private let registered = Mutex<String?>(nil)
    private let held = Mutex<Set<String>>([])
    private let cancelled: AsyncStream<String>
    private let cancelledContinuation: AsyncStream<String>.Continuation

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
        let answer = try await asRegistered { id in
            try await client.leaseJobs(id, limit: limit, waitSeconds: seconds, running: runningIds())
        }
        held.withLock { set in for leased in answer.jobs { set.insert(leased.job.jobId) } }
        for jobId in answer.cancel { cancelledContinuation.yield(jobId) }
        return answer.jobs
    }

    public func report(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool {
        try await client.reportEvents(lease, events: events)
    }

    public func complete(_ lease: LeaseRef, result: JSONValue) async throws {
        try await ending(lease) { try await client.completeJob(lease, result: result) }
    }

    public func fail(_ lease: LeaseRef, error: String, result: JSONValue?, retry: RetryHint) async throws {
        try await ending(lease) { try await client.failJob(lease, error: error, result: result, retry: retry) }
    }

    public func acknowledgeCancel(_ lease: LeaseRef) async throws {
        try await ending(lease) { try await client.releaseJob(lease) }
    }

    public func release(_ lease: LeaseRef) async throws {
        try await ending(lease) { try await client.releaseJob(lease) }
    }

    /// A final report: the job is no longer held once the server took it, or refused it for good.
    private func ending(_ lease: LeaseRef, _ send: () async throws -> Void) async throws {
        do {
            try await send()
        } catch {
            // Unreachable: the job is still ours and the report will be tried again.
            if case OffloadError.unavailable = error { throw error }
            _ = held.withLock { $0.remove(lease.jobId) }
            throw error
        }
        _ = held.withLock { $0.remove(lease.jobId) }
    }

    public func heartbeat(_ leases: [LeaseRef]) async throws -> [String] {
        try await asRegistered { id in try await client.workerHeartbeat(id, jobIds: leases.map(\.jobId)) }
    }

    public func cancellations() -> AsyncStream<String> { cancelled }

    public func file(_ fileId: String) async throws -> [UInt8] {
        try await client.downloadFile(fileId)
    }
}
