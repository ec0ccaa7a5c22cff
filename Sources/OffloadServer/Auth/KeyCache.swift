import OffloadStore
import Synchronization

/// Remembers API keys found by their hash for a few seconds, so a request with `X-API-Key` costs no
/// database read. A key deleted on this server stops working at once; on another server within `ttl`.
final class KeyCache: Sendable {
    private struct Entry {
        var key: StoredKey
        var expires: ContinuousClock.Instant
    }

    private let entries = Mutex<(keys: [String: Entry], generation: UInt64)>(([:], 0))
    private let ttl: Duration
    private let capacity = 10_000

    init(ttl: Duration = .seconds(10)) {
        self.ttl = ttl
    }

    func key(secretHash: String, loading load: () async throws -> StoredKey?) async throws -> StoredKey? {
        let now = ContinuousClock.now
        let (cached, generation) = entries.withLock { ($0.keys[secretHash], $0.generation) }
        if let cached, cached.expires > now {
            return cached.key
        }
        guard let key = try await load() else { return nil }
        entries.withLock { entries in
            // A delete since the load began may have removed this key: then do not remember it.
            guard entries.generation == generation else { return }
            if entries.keys.count >= capacity { entries.keys.removeAll() }
            entries.keys[secretHash] = Entry(key: key, expires: now + ttl)
        }
        return key
    }

    func removeAll() {
        entries.withLock {
            $0.keys.removeAll()
            $0.generation &+= 1
        }
    }
}
