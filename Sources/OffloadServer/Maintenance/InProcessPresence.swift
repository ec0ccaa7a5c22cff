import Foundation
import Logging
import OffloadCore
import OffloadStore
import Synchronization

/// The server's own workers in the registry, beside remote ones, so the dashboard and `offload workers` show
/// them with their running jobs and can pause them: registered at start, seen every `interval`, removed at
/// shutdown. A pause set anywhere (another server of a PostgreSQL deployment too) reaches the in-process
/// source within one interval.
final class InProcessPresence: Sendable {
    let workerId: String
    private let record: @Sendable (Date) -> WorkerRecord
    private let paused = Mutex(false)

    init(workerId: String, processingTypes: [String], concurrency: Int) {
        self.workerId = workerId
        let name = "in-process (\(ProcessInfo.processInfo.hostName))"
        record = { now in
            WorkerRecord(
                workerId: workerId, name: name, processingTypes: processingTypes, labels: JobLabels.direct,
                maxConcurrentJobs: concurrency, registeredAt: now, lastHeartbeatAt: now)
        }
    }

    /// Whether the in-process workers lease nothing now.
    var isPaused: Bool { paused.withLock { $0 } }

    /// Pauses or resumes the workers at once (this server's pause and resume routes call it after storing the
    /// status). A change wakes the waiting lease calls: on a pause they withdraw the leases they parked in the
    /// store, on a resume they lease the jobs that waited meanwhile.
    func set(paused value: Bool, bus: EventBus) {
        let wasPaused = paused.withLock { state in
            defer { state = value }
            return state
        }
        if wasPaused != value { bus.work.fire() }
    }

    /// Marks the workers seen (registering them when the registry has lost them) and reads their status back,
    /// which brings a pause or resume set on another server.
    func refresh(_ store: any JobStore, now: Date) async throws {
        if try await !store.touchWorker(id: workerId, at: now) {
            try await store.registerWorker(record(now))
        }
        let status = try await store.worker(id: workerId)?.status
        set(paused: status == .paused, bus: store.eventBus)
    }
}

/// Keeps `InProcessPresence` in the registry while the server runs (every server, for its own workers).
struct InProcessPresenceService: Maintenance {
    let presence: InProcessPresence
    let store: any JobStore
    let interval: Duration
    let logger: Logger
    var name: String { "in-process-presence" }
    var leaderOnly: Bool { false }

    func round(now: Date) async throws -> Int {
        try await presence.refresh(store, now: now)
        return 0
    }

    func finish() async {
        do {
            _ = try await store.deleteWorker(id: presence.workerId)
        } catch {
            logger.warning("could not remove the in-process workers from the registry", metadata: ["error": "\(error)"])
        }
    }
}
