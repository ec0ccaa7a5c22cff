import Foundation
import OffloadCore
import OffloadStore

/// Waits for a job to end, woken by its final event on the bus (the synchronous fallback, `?wait=N`).
struct JobWaiter {
    let store: any JobStore

    /// The job once it ended, or as it is when `timeout` passed first.
    func job(_ jobId: String, tenant: String?, endingWithin timeout: Duration) async throws -> Job {
        let (ends, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let token = store.eventBus.follow(jobId: jobId) { delivery in
            switch delivery {
            case .event(let event) where event.kind.isFinal: continuation.yield()
            case .closed: continuation.finish()
            case .event: break
            }
        }
        defer {
            store.eventBus.unfollow(token)
            continuation.finish()
        }
        // Following first, then reading: an end between the two is seen either way.
        guard let job = try await store.job(id: jobId, tenant: tenant) else { throw OffloadError.notFound("no job \(jobId)") }
        if job.status.isFinal { return job }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var iterator = ends.makeAsyncIterator()
                _ = await iterator.next()
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        guard let now = try await store.job(id: jobId, tenant: tenant) else { throw OffloadError.notFound("no job \(jobId)") }
        return now
    }
}
