import Foundation
import Logging
import OffloadStore

/// Keeps the planner's statistics of the jobs table fresh through bursts of submits (leader only): see
/// `JobStore.refreshStatistics`. On SQLite a round does nothing.
struct StatisticsRefresher: Maintenance {
    let store: any JobStore
    let interval: Duration
    let logger: Logger
    /// Rows changed since the last gathering, beyond a tenth of the table, that make it due.
    let changedRows = 1_000
    var name: String { "statistics" }
    var leaderOnly: Bool { true }

    func round(now: Date) async throws -> Int {
        guard try await store.refreshStatistics(changedRows: changedRows) else { return 0 }
        logger.debug("gathered the planner's statistics of the jobs table")
        return 1
    }
}
