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
