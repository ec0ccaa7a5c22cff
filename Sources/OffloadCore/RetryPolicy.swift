import Foundation

/// When a failed attempt runs again: exponential backoff with jitter, capped.
public struct RetryPolicy: Sendable, Equatable {
    public var base: TimeInterval
    public var cap: TimeInterval
    /// The share of the delay that is random, so failures that happened together do not retry together.
    public var jitter: Double

    public init(base: TimeInterval = 1, cap: TimeInterval = 600, jitter: Double = 0.25) {
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The delay before the attempt that follows `attempt` (attempts count from 1).
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: 0...1)) -> TimeInterval {
        let exponent = Double(max(0, min(attempt - 1, 30)))
        let raw = min(cap, base * pow(2, exponent))
        return raw * (1 - jitter + 2 * jitter * random)
    }
}

/// What a failed attempt says about running the job again (while it has attempts left).
public enum RetryHint: Sendable, Equatable {
    /// After the usual exponential backoff.
    case backoff
    /// Not before this many seconds (an upstream's `Retry-After`), nor before the backoff.
    case after(TimeInterval)
    /// Never: retrying cannot help (a refused key, a request the upstream rejects). The job fails now.
    case never

    /// When to run again after `attempt` failed at `now` under `policy`; nil: not again.
    public func retryAt(afterAttempt attempt: Int, now: Date, policy: RetryPolicy) -> Date? {
        let backoff = policy.delay(afterAttempt: attempt)
        switch self {
        case .backoff: return now.addingTimeInterval(backoff)
        case .after(let seconds): return now.addingTimeInterval(max(backoff, seconds))
        case .never: return nil
        }
    }
}
