import Foundation
import Logging
import OffloadStore

/// Deletes finished jobs and uploaded bundles older than the retention period, a small batch at a time,
/// and workers not seen for a day (leader only).
struct Pruner: Maintenance {
    let store: any JobStore
    let retention: TimeInterval
    let interval: Duration
    let batchSize = 500
    let logger: Logger
    var name: String { "pruner" }
    var leaderOnly: Bool { true }

    func round(now: Date) async throws -> Int {
        let cutoff = now.addingTimeInterval(-retention)
        var jobs = 0
        defer { if jobs > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(jobs)"]) } }
        while !Task.isCancelled {
            let deleted = try await store.prune(finishedBefore: cutoff, limit: batchSize)
            jobs += deleted
            if deleted < batchSize { break }
            // Let queued submits and reports in between batches.
            await Task.yield()
        }
        var files = 0
        while true {
            let deleted = try await store.pruneFiles(createdBefore: cutoff, limit: 50)
            files += deleted
            if deleted < 50 { break }
        }
        let workers = try await store.pruneWorkers(lastSeenBefore: now.addingTimeInterval(-86_400))
        if workers > 0 { logger.info("removed workers not seen for a day", metadata: ["count": "\(workers)"]) }
        return jobs + files + workers
    }
}
