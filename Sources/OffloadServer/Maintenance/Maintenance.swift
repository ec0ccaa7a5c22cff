import Foundation
import Logging
import OffloadStore
import ServiceLifecycle
import Synchronization

/// Background upkeep a server does on a timer: one round now, the next `interval` after it ends.
///
/// A new piece of upkeep is a type in this folder, listed in `OffloadServerApp.maintenance`. One that any
/// server may do but once is enough (requeueing expired leases, pruning, enqueuing a schedule's tick) is
/// `leaderOnly`: of the servers sharing a PostgreSQL database only the leader runs it (see
/// `JobStoreService.lead()`). Such work must still be safe when two servers do it at once, since a leader
/// that lost its database connection learns it only at its next check.
protocol Maintenance: Sendable {
    /// Its name in logs and in the metrics' `service` label.
    var name: String { get }
    /// The pause between the end of a round and the start of the next.
    var interval: Duration { get }
    /// Whether only the leader runs it.
    var leaderOnly: Bool { get }
    /// Does what is due at `now`; answers how many things it changed (jobs requeued, rows pruned, …).
    func round(now: Date) async throws -> Int
    /// Runs once at shutdown, after the last round.
    func finish() async
}

extension Maintenance {
    func finish() async {}
}

/// Runs every maintenance service of this server until graceful shutdown, and keeps asking the store whether
/// this server leads. Each round counts in `offload_maintenance_rounds_total` and its duration in
/// `offload_maintenance_round_seconds`; `offload_maintenance_leader` is 1 on the leader.
struct MaintenanceRunner: Service {
    let store: any JobStoreService
    let services: [any Maintenance]
    let metrics: ServerMetrics
    /// How often leadership is checked: a follower takes the lead within about this long once it is free.
    let electionInterval: Duration
    let logger: Logger

    func run() async {
        let leading = Leading()
        await cancelWhenGracefulShutdown {
            await elect(leading)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while (try? await Task.sleep(for: electionInterval)) != nil {
                        await elect(leading)
                    }
                }
                for service in services {
                    group.addTask { await repeatRounds(of: service, leading: leading) }
                }
            }
        }
        for service in services { await service.finish() }
        await store.resign()
        metrics.leader(false)
    }

    private func elect(_ leading: Leading) async {
        let now = await store.lead()
        if leading.flag.exchange(now, ordering: .relaxed) != now {
            if now {
                logger.notice("this server leads the maintenance now")
            } else {
                logger.notice("this server no longer leads the maintenance")
            }
        }
        metrics.leader(now)
    }

    /// A follower looks again each election interval, so a server that takes the lead runs its first round
    /// at once rather than an interval later.
    private func repeatRounds(of service: any Maintenance, leading: Leading) async {
        var logger = self.logger
        logger[metadataKey: "service"] = "\(service.name)"
        while !Task.isCancelled {
            guard !service.leaderOnly || leading.flag.load(ordering: .relaxed) else {
                try? await Task.sleep(for: min(service.interval, electionInterval))
                continue
            }
            let start = ContinuousClock.now
            do {
                let changed = try await service.round(now: Date())
                metrics.maintenanceRound(service: service.name, failed: false, changed: changed, duration: ContinuousClock.now - start)
            } catch {
                metrics.maintenanceRound(service: service.name, failed: true, changed: 0, duration: ContinuousClock.now - start)
                logger.warning("a maintenance round failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: service.interval)
        }
    }
}

/// Whether this server led at the last check, read by every service's loop.
private final class Leading: Sendable {
    let flag = Atomic<Bool>(false)
}

/// What ServiceGroup logs of the runner (at debug level): the services' names, nothing they hold.
extension MaintenanceRunner: CustomStringConvertible {
    var description: String { "MaintenanceRunner(\(services.map(\.name).joined(separator: ", ")))" }
}
