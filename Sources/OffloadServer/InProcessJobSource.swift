import Foundation
import OffloadCore
import OffloadStore
import OffloadWorker

/// The job source of the server's own workers: the store itself, woken by the event bus.
struct InProcessJobSource: JobSource {
    let store: any JobStore
    let workerId: String
    let processingTypes: [String]
    let leaseSeconds: TimeInterval
    let retryPolicy: RetryPolicy

    func lease(limit: Int, wait: Duration) async throws -> [LeasedJob] {
        let deadline = ContinuousClock.now + wait
        while true {
            let generation = store.eventBus.work.generation
            let jobs = try await store.lease(LeaseRequest(
                workerId: workerId, processingTypes: processingTypes, limit: limit, leaseDuration: leaseSeconds,
                now: Date()))
            let remaining = deadline - ContinuousClock.now
            if !jobs.isEmpty || remaining <= .zero || Task.isCancelled { return jobs }
            // Sleep until new work is announced, or until the next delayed (or retrying) job is due.
            var nap = remaining
            if let next = try await store.nextRunAt(after: Date()) {
                let due = Duration.milliseconds(Int64(max(1, next.timeIntervalSinceNow * 1000).rounded(.up)))
                nap = min(nap, due)
            }
            await store.eventBus.work.wait(since: generation, timeout: nap)
            if Task.isCancelled { return [] }
        }
    }

    func report(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool {
        try await store.report(jobId: lease.jobId, leaseToken: lease.leaseToken, events: events, at: Date()).cancelRequested
    }

    func complete(_ lease: LeaseRef, result: JSONValue) async throws {
        _ = try await store.complete(jobId: lease.jobId, leaseToken: lease.leaseToken, result: result, at: Date())
    }

    func fail(_ lease: LeaseRef, error: String) async throws {
        let now = Date()
        let policy = retryPolicy
        _ = try await store.fail(
            jobId: lease.jobId, leaseToken: lease.leaseToken, error: error,
            retryAt: { attempt in now.addingTimeInterval(policy.delay(afterAttempt: attempt)) }, at: now)
    }

    func acknowledgeCancel(_ lease: LeaseRef) async throws {
        _ = try await store.acknowledgeCancel(jobId: lease.jobId, leaseToken: lease.leaseToken, at: Date())
    }

    func release(_ lease: LeaseRef) async throws {
        _ = try await store.release(jobId: lease.jobId, leaseToken: lease.leaseToken, at: Date())
    }

    func heartbeat(_ leases: [LeaseRef]) async throws -> [String] {
        try await store.heartbeat(workerId: workerId, leases: leases, until: Date().addingTimeInterval(leaseSeconds))
    }

    func cancellations() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let token = store.eventBus.onCancelRequest { continuation.yield($0) }
        let bus = store.eventBus
        continuation.onTermination = { _ in bus.removeCancelListener(token) }
        return stream
    }
}
