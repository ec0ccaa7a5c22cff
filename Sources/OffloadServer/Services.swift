import Foundation
import Logging
import OffloadCore
import OffloadStore
import ServiceLifecycle

/// Runs `round` every `interval` until graceful shutdown; a round that fails is logged and the next one
/// tries again (the maintenance services: lease sweeper, pruner, scheduler).
func everyInterval(
    _ interval: Duration, logger: Logger, failure: String, _ round: @escaping @Sendable () async throws -> Void
) async {
    await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            do {
                try await round()
            } catch {
                logger.warning("\(failure)", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}

/// Puts jobs whose worker stopped heartbeating back to PENDING once their lease expires.
struct LeaseSweeper: Service {
    let store: any JobStore
    let interval: Duration
    let logger: Logger

    func run() async {
        await everyInterval(interval, logger: logger, failure: "lease sweep failed") {
            let count = try await store.requeueExpiredLeases(now: Date())
            if count > 0 { logger.info("requeued jobs whose lease expired", metadata: ["count": "\(count)"]) }
        }
    }
}

/// Deletes finished jobs and uploaded bundles older than the retention period, a small batch at a time,
/// and workers not seen for a day.
struct Pruner: Service {
    let store: any JobStore
    let retention: TimeInterval
    let interval: Duration
    let batchSize = 500
    let logger: Logger

    func run() async {
        await everyInterval(interval, logger: logger, failure: "pruning failed") {
            var total = 0
            defer { if total > 0 { logger.info("pruned finished jobs", metadata: ["count": "\(total)"]) } }
            while !Task.isCancelled {
                let deleted = try await store.prune(finishedBefore: Date().addingTimeInterval(-retention), limit: batchSize)
                total += deleted
                if deleted < batchSize { break }
                // Let queued submits and reports in between batches.
                await Task.yield()
            }
            let cutoff = Date().addingTimeInterval(-retention)
            while try await store.pruneFiles(createdBefore: cutoff, limit: 50) == 50 {}
            let gone = try await store.pruneWorkers(lastSeenBefore: Date().addingTimeInterval(-86_400))
            if gone > 0 { logger.info("removed workers not seen for a day", metadata: ["count": "\(gone)"]) }
        }
    }
}

/// Ends every open SSE stream when shutdown reaches it (after the workers stopped, before the HTTP server).
struct StreamCloser: Service {
    let bus: EventBus

    func run() async {
        try? await gracefulShutdown()
        bus.close()
    }
}

/// Returns when shutdown is requested; ServiceGroup then shuts the whole server down gracefully.
struct ShutdownOnRequest: Service {
    let request: Latch<Void>

    func run() async {
        await cancelWhenGracefulShutdown {
            _ = await request.wait()
        }
    }
}
