import Foundation
import OffloadCore
import OffloadProcessing
import OffloadStore

/// 002's automatic fallback: a job of a processing type switched off with `fallback: sync` runs at once on
/// the server that took the submit, inside the request, and the request answers it finished.
///
/// The job is stored first (so it has an id, events and a history like any other); the server then leases
/// that one job and runs its processor with the same reports, timeout and retry rules as a worker. If a
/// worker took the job first, the request waits for it instead.
struct SynchronousRun {
    let source: InProcessJobSource
    let processors: ProcessorRegistry
    /// How long the request waits for a job a worker took first.
    let waitForOthers: Duration

    func run(jobId: String, tenant: String) async throws -> Job {
        let store = source.store
        let leased = try await store.lease(LeaseRequest(
            workerId: source.workerId, processingTypes: nil, limit: 1, leaseDuration: source.leaseSeconds, now: Date(),
            jobIds: [jobId]))
        guard let lease = leased.first, let processor = processors[lease.job.processingType] else {
            return try await JobWaiter(store: store).job(jobId, tenant: tenant, endingWithin: waitForOthers)
        }
        let ref = LeaseRef(jobId: jobId, leaseToken: lease.leaseToken)
        let context = JobContext(
            job: lease.job, sink: { events in _ = try await source.report(ref, events: events) },
            files: { try await source.file($0) })
        do {
            let result = try await withTimeout(lease.job.timeoutSeconds) { try await processor.run(context) }
            try await source.complete(ref, result: result)
        } catch let failure as JobFailure {
            try await source.fail(ref, error: failure.message, result: failure.result, retry: failure.retry)
        } catch {
            try await source.fail(
                ref, error: (error as? OffloadError)?.message ?? String(describing: error), result: nil, retry: .backoff)
        }
        guard let job = try await store.job(id: jobId, tenant: tenant) else { throw OffloadError.notFound("no job \(jobId)") }
        return job
    }

    private func withTimeout(_ seconds: Int?, _ body: @escaping @Sendable () async throws -> JSONValue) async throws -> JSONValue {
        guard let seconds else { return try await body() }
        return try await withThrowingTaskGroup(of: JSONValue.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw OffloadError.unavailable("timed out after \(seconds) s")
            }
            defer { group.cancelAll() }
            return try await group.next() ?? .null
        }
    }
}
