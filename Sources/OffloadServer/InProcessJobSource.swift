import Foundation
import OffloadCore
import OffloadProcessing
import OffloadStore

/// The job source of the server's own workers: the store itself, woken by the event bus.
struct InProcessJobSource: JobSource {
    let store: any JobStore
    let workerId: String
    /// The workers' registry entry: while it is paused, they lease nothing.
    let presence: InProcessPresence?
    let processingTypes: [String]
    let leaseSeconds: TimeInterval
    let retryPolicy: RetryPolicy
    let metrics: ServerMetrics?

    func lease(limit: Int, wait: Duration) async throws -> [LeasedJob] {
        try await LeaseWait(store: store, metrics: metrics).lease(wait: wait) { now in
            // Paused: lease nothing, and keep waiting (a resume fires the work signal).
            guard presence?.isPaused != true else { return nil }
            return LeaseRequest(
                workerId: workerId, processingTypes: processingTypes, limit: limit, leaseDuration: leaseSeconds, now: now,
                labels: JobLabels.terms(JobLabels.direct))
        }
    }

    func report(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool {
        try await store.report(jobId: lease.jobId, leaseToken: lease.leaseToken, events: events, at: Date()).cancelRequested
    }

    func complete(_ lease: LeaseRef, result: JSONValue) async throws {
        _ = try await store.complete(jobId: lease.jobId, leaseToken: lease.leaseToken, result: result, at: Date())
    }

    func fail(_ lease: LeaseRef, error: String, result: JSONValue?, retry: RetryHint) async throws {
        let now = Date()
        let policy = retryPolicy
        let job = try await store.fail(
            jobId: lease.jobId, leaseToken: lease.leaseToken, error: error, result: result,
            retryAt: { retry.retryAt(afterAttempt: $0, now: now, policy: policy) }, at: now)
        metrics?.retried(job)
    }

    func acknowledgeCancel(_ lease: LeaseRef) async throws {
        _ = try await store.acknowledgeCancel(jobId: lease.jobId, leaseToken: lease.leaseToken, at: Date())
    }

    func release(_ lease: LeaseRef) async throws {
        _ = try await store.release(jobId: lease.jobId, leaseToken: lease.leaseToken, at: Date())
    }

    func heartbeat(_ leases: [LeaseRef]) async throws -> [String] {
        try await store.heartbeat(
            workerId: workerId, jobIds: leases.map(\.jobId), until: Date().addingTimeInterval(leaseSeconds))
    }

    func cancellations() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let token = store.eventBus.onCancelRequest { continuation.yield($0) }
        let bus = store.eventBus
        continuation.onTermination = { _ in bus.removeCancelListener(token) }
        return stream
    }

    func file(_ fileId: String) async throws -> [UInt8] {
        guard let file = try await store.file(id: fileId, tenant: nil) else { throw OffloadError.notFound("no file \(fileId)") }
        return file.content
    }
}
