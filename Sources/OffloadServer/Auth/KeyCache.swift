import OffloadStore
import Synchronization

/// Remembers API keys found by their hash for a few seconds, so a request with `X-API-Key` costs no
/// database read. A key deleted on this server stops working at once; on another server within `ttl`.
final class KeyCache: Sendable {
    private struct Entry {
        var key: StoredKey
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])
    private let ttl: Duration
    private let capacity = 10_000

    init(ttl: Duration = .seconds(10)) {
        self.ttl = ttl
    }

    func key(secretHash: String, loading load: () async throws -> StoredKey?) async throws -> StoredKey? {
        let now = ContinuousClock.now
        if let entry = entries.withLock({ $0[secretHash] }), entry.expires > now {
            return entry.key
        }
        guard let key = try await load() else { return nil }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll() }
            entries[secretHash] = Entry(key: key, expires: now + ttl)
        }
        return key
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
