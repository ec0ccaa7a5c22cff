import OffloadCore

/// What a committed write changes outside the database, applied only after its transaction commits.
struct WriteEffects: Sendable {
    var events: [JobEvent] = []
    /// Some job may have become leasable.
    var workAvailable = false
    var cancelRequests: [String] = []

    static let none = WriteEffects()

    /// Adds another write's effects after these (events stay in commit order).
    mutating func merge(_ other: WriteEffects) {
        events += other.events
        workAvailable = workAvailable || other.workAvailable
        cancelRequests += other.cancelRequests
    }
}

extension EventBus {
    /// Announces what a committed write changed to this process's followers and workers.
    func publish(_ effects: WriteEffects) {
        publishCommitted(effects.events)
        publishCancelRequests(effects.cancelRequests)
        if effects.workAvailable { work.fire() }
    }
}
