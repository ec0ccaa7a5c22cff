import OffloadCore
import Synchronization

/// A lease parked in the store until work arrives (`JobStore.parkLease`): right after the transaction that makes
/// a job ready commits, the store leases it for the ticket. Answered exactly once: with the jobs leased for it, or
/// with none once withdrawn (unless a transaction had already leased for it: then with those jobs).
public final class LeaseTicket: Sendable {
    private struct State {
        var jobs: [LeasedJob]?
        var waiters: [CheckedContinuation<[LeasedJob], Never>] = []
    }

    private let state = Mutex(State())
    private let withdrawAction = Mutex<(@Sendable () -> Void)?>(nil)

    init() {}

    /// The jobs leased for this ticket (empty: withdrawn), once it is answered.
    public func jobs() async -> [LeasedJob] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [LeasedJob]? in
                if let jobs = state.jobs { return jobs }
                state.waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Gives the lease up; `jobs()` answers soon after, empty unless a transaction already leased for it.
    public func withdraw() {
        withdrawAction.withLock { $0 }?()
    }

    func onWithdraw(_ action: @escaping @Sendable () -> Void) {
        withdrawAction.withLock { $0 = action }
    }

    func answer(_ jobs: [LeasedJob]) {
        let waiters = state.withLock { state -> [CheckedContinuation<[LeasedJob], Never>] in
            guard state.jobs == nil else { return [] }
            state.jobs = jobs
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: jobs) }
    }
}
