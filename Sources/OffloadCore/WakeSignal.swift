import Synchronization

/// Wakes every waiter when something happened, without losing a wake-up that comes between a check and a wait.
///
/// A waiter reads `generation`, looks for work, and, finding none, waits `since:` that generation:
/// if `fire()` ran in between, the wait returns at once.
public final class WakeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes all current waiters and every later wait that started from an older generation.
    public func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation &+= 1
            let all = Array(s.waiters.values)
            s.waiters.removeAll(keepingCapacity: true)
            return all
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the generation moves past `since`, after `timeout`, or when the task is cancelled.
    public func wait(since: UInt64, timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(since: since) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Returns when the generation moves past `since` or when the task is cancelled.
    public func wait(since: UInt64) async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter &+= 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.generation != since || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}

/// A value set once, that any number of tasks can wait for (cancellation-aware).
public final class Latch<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var value: Value? { state.withLock { $0.value } }

    /// Sets the value if none was set; returns whether this call set it.
    @discardableResult
    public func set(_ value: Value) -> Bool {
        let waiters = state.withLock { s -> [CheckedContinuation<Value?, Never>]? in
            guard s.value == nil else { return nil }
            s.value = value
            let all = Array(s.waiters.values)
            s.waiters.removeAll()
            return all
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: value) }
        return true
    }

    /// The value once set; nil if the task is cancelled first.
    public func wait() async -> Value? {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter &+= 1
            return s.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                let now = state.withLock { s -> (Bool, Value?) in
                    if let v = s.value { return (true, v) }
                    if Task.isCancelled { return (true, nil) }
                    s.waiters[id] = continuation
                    return (false, nil)
                }
                if now.0 { continuation.resume(returning: now.1) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}
