import Foundation
import OffloadCore
import OffloadStore

/// A lease that waits for work (the long poll of in-process workers and of the worker API): it leases at
/// once when it can, else sleeps until new work is announced, the next delayed job is due, `interrupt` is
/// set (then it answers without leasing), the server shuts down, or `wait` runs out.
struct LeaseWait {
    let store: any JobStore
    let metrics: ServerMetrics?

    /// - Parameter request: The lease to try at each wake-up; nil: do not lease now (the worker is paused),
    ///   but keep waiting for `interrupt`.
    func lease(
        wait: Duration, interrupt: Latch<Void>? = nil, request: @Sendable (Date) async throws -> LeaseRequest?
    ) async throws -> [LeasedJob] {
        let deadline = ContinuousClock.now + wait
        let bus = store.eventBus
        while true {
            // Interrupted (or shutting down): answer without leasing, so nothing is leased to a caller that
            // may be gone.
            if Task.isCancelled || interrupt?.value != nil || bus.closing.value != nil { return [] }
            let generation = bus.work.generation
            var jobs: [LeasedJob] = []
            let attempt = try await request(Date())
            if let attempt {
                let started = ContinuousClock.now
                jobs = try await store.lease(attempt)
                metrics?.leased(in: ContinuousClock.now - started)
            }
            let remaining = deadline - ContinuousClock.now
            if !jobs.isEmpty || remaining <= .zero { return jobs }
            var due = remaining
            if attempt != nil, let next = try await store.nextRunAt(after: Date()) {
                due = min(due, .milliseconds(Int64(max(1, next.timeIntervalSinceNow * 1000).rounded(.up))))
            }
            let nap = due
            // Parked in the store, the lease runs right after the transaction that makes work ready; the bus's
            // signals still end the wait as before (the ticket is then withdrawn and answers at once).
            let ticket = attempt.flatMap { store.parkLease($0) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await bus.work.wait(since: generation, timeout: nap) }
                group.addTask { _ = await bus.closing.wait() }
                if let interrupt { group.addTask { _ = await interrupt.wait() } }
                if let ticket { group.addTask { _ = await ticket.jobs() } }
                await group.next()
                ticket?.withdraw()
                group.cancelAll()
            }
            // Jobs leased for the ticket are this caller's now, even if it was interrupted meanwhile.
            if let leased = await ticket?.jobs(), !leased.isEmpty { return leased }
            if Task.isCancelled { return [] }
        }
    }
}
