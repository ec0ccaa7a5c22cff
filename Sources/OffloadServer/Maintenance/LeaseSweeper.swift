import Foundation
import Logging
import OffloadStore

/// Puts jobs whose worker stopped heartbeating back to PENDING once their lease expires (leader only).
struct LeaseSweeper: Maintenance {
    let store: any JobStore
    let interval: Duration
    let logger: Logger
    var name: String { "lease-sweeper" }
    var leaderOnly: Bool { true }

    func round(now: Date) async throws -> Int {
        let count = try await store.requeueExpiredLeases(now: now)
        if count > 0 { logger.info("requeued jobs whose lease expired", metadata: ["count": "\(count)"]) }
        return count
    }
}
