import OffloadCore
import Synchronization

/// What an event-bus subscriber receives.
public enum BusDelivery: Sendable {
    case event(JobEvent)
    /// The bus shut down; the subscriber should finish.
    case closed
}

/// In-process fan-out of what the store committed: job events to their followers, "work is ready" to idle
/// workers, cancel requests to the workers running the job.
///
/// A store publishes here only after its transaction commits, in commit order, so a follower that subscribes
/// before reading the backlog sees every event exactly once (it drops those whose seq it already has).
public final class EventBus: Sendable {
    public typealias Subscriber = @Sendable (BusDelivery) -> Void

    private struct State {
        var nextToken: UInt64 = 0
        var followers: [String: [UInt64: Subscriber]] = [:]
        var cancelListeners: [UInt64: @Sendable (String) -> Void] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private let committedObservers = Mutex<[@Sendable ([JobEvent]) -> Void]>([])
    /// Fired when a job may have become leasable.
    public let work = WakeSignal()
    /// Set when the bus closes (graceful shutdown): long waits end.
    public let closing = Latch<Void>()

    public init() {}

    /// A handle that stops a subscription.
    public struct Token: Sendable, Hashable {
        let id: UInt64
        let jobId: String?
    }

    /// Follows one job's events; `deliver` runs on the publisher's task, so it must be quick (yield to a stream).
    public func follow(jobId: String, _ deliver: @escaping Subscriber) -> Token {
        let (token, closed) = state.withLock { s -> (Token, Bool) in
            s.nextToken += 1
            let token = Token(id: s.nextToken, jobId: jobId)
            if s.closed { return (token, true) }
            s.followers[jobId, default: [:]][token.id] = deliver
            return (token, false)
        }
        if closed { deliver(.closed) }
        return token
    }

    public func unfollow(_ token: Token) {
        guard let jobId = token.jobId else { return }
        state.withLock { s in
            s.followers[jobId]?.removeValue(forKey: token.id)
            if s.followers[jobId]?.isEmpty == true { s.followers.removeValue(forKey: jobId) }
        }
    }

    /// The jobs that have followers in this process now.
    public func followedJobIds() -> Set<String> {
        state.withLock { Set($0.followers.keys) }
    }

    /// Watches every event this process's store commits (not those relayed from other servers): metrics.
    public func onCommitted(_ observer: @escaping @Sendable ([JobEvent]) -> Void) {
        committedObservers.withLock { $0.append(observer) }
    }

    /// Events this process's store committed: the observers see them, then the followers.
    public func publishCommitted(_ events: [JobEvent]) {
        guard !events.isEmpty else { return }
        for observer in committedObservers.withLock({ $0 }) { observer(events) }
        publish(events)
    }

    public func publish(_ events: [JobEvent]) {
        guard !events.isEmpty else { return }
        var deliveries: [(Subscriber, JobEvent)] = []
        state.withLock { s in
            for event in events {
                for subscriber in s.followers[event.jobId, default: [:]].values {
                    deliveries.append((subscriber, event))
                }
            }
        }
        for (subscriber, event) in deliveries { subscriber(.event(event)) }
    }

    /// Listens for cancel requests of running jobs.
    public func onCancelRequest(_ listener: @escaping @Sendable (String) -> Void) -> Token {
        state.withLock { s in
            s.nextToken += 1
            s.cancelListeners[s.nextToken] = listener
            return Token(id: s.nextToken, jobId: nil)
        }
    }

    public func removeCancelListener(_ token: Token) {
        _ = state.withLock { $0.cancelListeners.removeValue(forKey: token.id) }
    }

    public func publishCancelRequests(_ jobIds: [String]) {
        guard !jobIds.isEmpty else { return }
        let listeners = state.withLock { Array($0.cancelListeners.values) }
        for id in jobIds { for listener in listeners { listener(id) } }
    }

    /// Ends every follow subscription (graceful shutdown); later follows end at once.
    public func close() {
        closing.set(())
        let all = state.withLock { s -> [Subscriber] in
            s.closed = true
            let all = s.followers.values.flatMap { $0.values }
            s.followers.removeAll()
            return all
        }
        for subscriber in all { subscriber(.closed) }
    }
}
