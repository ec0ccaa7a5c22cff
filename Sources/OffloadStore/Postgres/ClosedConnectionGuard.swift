import Logging
import NIOCore
import OffloadCore
import PostgresNIO
import Synchronization

/// Ends the queries of a connection that closed under them.
///
/// postgres-nio 1.33 hands a query to its channel without a promise: when the channel closes between the
/// hand-over and the write (PostgreSQL restarting under load), the query is dropped and its caller waits
/// forever, holding its pool connection. Each query here is watched: once its connection has closed and a
/// short grace has passed, a query still outstanding fails with `unavailable`.
final class ClosedConnectionGuard: Sendable {
    private typealias Waiter = CheckedContinuation<PostgresRowSequence, any Error>

    private struct State {
        var nextId: UInt64 = 0
        /// Outstanding queries by connection id; a connection is watched while it has an entry here.
        var outstanding: [PostgresConnection.ID: [UInt64: Waiter]] = [:]
        var watched: Set<PostgresConnection.ID> = []
    }

    private let state = Mutex(State())
    private let grace: TimeAmount

    init(grace: TimeAmount = .seconds(1)) {
        self.grace = grace
    }

    /// Runs `query` on `connection`; fails with `unavailable` if the connection closes and the query is lost.
    @discardableResult
    func run(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !connection.isClosed else { throw OffloadError.unavailable("the database connection closed") }
        return try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let (id, watch) = state.withLock { s -> (UInt64, Bool) in
                s.nextId += 1
                s.outstanding[connection.id, default: [:]][s.nextId] = waiter
                return (s.nextId, s.watched.insert(connection.id).inserted)
            }
            if watch { watchClose(of: connection) }
            // Unstructured: a query the driver dropped never returns, and must not hold its caller.
            Task {
                do {
                    let rows = try await connection.query(query, logger: logger)
                    self.take(connection.id, id)?.resume(returning: rows)
                } catch {
                    self.take(connection.id, id)?.resume(throwing: error)
                }
            }
        }
    }

    private func take(_ connection: PostgresConnection.ID, _ id: UInt64) -> Waiter? {
        state.withLock { $0.outstanding[connection]?.removeValue(forKey: id) }
    }

    private func watchClose(of connection: PostgresConnection) {
        let id = connection.id
        let eventLoop = connection.closeFuture.eventLoop
        let grace = self.grace
        connection.closeFuture.whenComplete { _ in
            eventLoop.scheduleTask(in: grace) {
                let dropped = self.state.withLock { s -> [Waiter] in
                    s.watched.remove(id)
                    return Array(s.outstanding.removeValue(forKey: id)?.values ?? [:].values)
                }
                for waiter in dropped { waiter.resume(throwing: OffloadError.unavailable("the database connection closed")) }
            }
        }
    }
}
