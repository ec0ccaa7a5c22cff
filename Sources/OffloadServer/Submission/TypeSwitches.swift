import Foundation
import OffloadStore
import Synchronization

/// The processing types switched off, remembered for a second so a submit costs no extra read.
/// A switch made on this server applies at once; one made on another server within a second.
final class TypeSwitches: Sendable {
    private let store: any JobStore
    private let cached = Mutex<(types: [String: TypeFallback], expires: ContinuousClock.Instant)?>(nil)

    init(store: any JobStore) {
        self.store = store
    }

    /// nil while `processingType` is switched on; otherwise what its submits get.
    func fallback(for processingType: String) async throws -> TypeFallback? {
        let now = ContinuousClock.now
        if let fresh = cached.withLock({ $0.flatMap { $0.expires > now ? $0.types : nil } }) {
            return fresh[processingType]
        }
        let disabled = try await store.disabledTypes()
        cached.withLock { $0 = (disabled, now + .seconds(1)) }
        return disabled[processingType]
    }

    func forget() {
        cached.withLock { $0 = nil }
    }
}
