import Foundation
import Hummingbird
import OffloadCore
import Synchronization

/// Per-key token buckets: each key may make `rate` requests per second on average, with bursts up to
/// `burst`. Kept in this server's memory: with several servers each allows the rate on its own.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var refilled: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = max(1, burst)
    }

    /// Takes one token for `key`; nil when allowed, else the seconds until the next token.
    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Int? {
        buckets.withLock { buckets in
            var bucket = buckets[key] ?? Bucket(tokens: burst, refilled: now)
            let elapsed = now - bucket.refilled
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + seconds * rate)
            bucket.refilled = now
            defer {
                // Forget full buckets: they hold nothing a fresh one would not.
                if bucket.tokens >= burst { buckets.removeValue(forKey: key) } else { buckets[key] = bucket }
            }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}

/// Applies the per-key rate limit to client keys (and their stream tokens): 429 with `Retry-After` past it.
/// Worker and admin keys are not limited: a worker's traffic is bounded by its own concurrency.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = OffloadRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let identity = context.identity, identity.role == .client, let wait = limiter.take(identity.keyId) {
            throw OffloadError.rateLimited(retryAfterSeconds: wait)
        }
        return try await next(request, context)
    }
}
