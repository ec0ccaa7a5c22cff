import Foundation
import Logging
import OffloadCore
import OffloadStore
import ServiceLifecycle

/// Puts jobs whose worker stopped heartbeating back to PENDING once their lease expires.
struct LeaseSweeper: Service {
    let store: any JobStore
    let interval: Duration
    let logger: Logger

    func run() async {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let count = try await store.requeueExpiredLeases(now: Date())
                    if count > 0 { logger.info("requeued jobs whose lease expired", metadata: ["count": "\(count)"]) }
                } catch {
                    logger.warning("lease sweep failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
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
