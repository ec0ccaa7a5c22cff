import Foundation
import Logging
import NIOCore
import OffloadCore
import PostgresNIO
import Synchronization

/// Runs the store's database work so that a caller always gets an answer, even when the database or the
/// driver never gives one.
///
/// Two ways to wait forever exist with a pool: a request for a connection queued while the database was
/// away waits until it is back, and postgres-nio 1.33 hands a query to its channel without a promise, so a
/// query written just as its connection closes is dropped and never ends. Each operation therefore runs in
/// a task of its own while its caller waits on a continuation that this registry resumes with
/// `unavailable` when no connection came within `leaseLimit`, or when the operation's connection closed
/// and `closeGrace` passed. An operation given up before it got a connection never runs.
final class DatabaseOperations: Sendable {
    private typealias Waiter = CheckedContinuation<any Sendable, any Error>

    private struct Operation {
        let waiter: Waiter
        let queuedAt: ContinuousClock.Instant
        var connection: PostgresConnection.ID?
    }

    private struct State {
        var nextId: UInt64 = 0
        var operations: [UInt64: Operation] = [:]
        var watched: Set<PostgresConnection.ID> = []
    }

    private let state = Mutex(State())
    private let leaseLimit: Duration
    private let closeGrace: TimeAmount

    init(leaseLimit: Duration = .seconds(3), closeGrace: TimeAmount = .seconds(1)) {
        self.leaseLimit = leaseLimit
        self.closeGrace = closeGrace
    }

    func perform<T: Sendable>(
        on client: PostgresClient, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let id = state.withLock { s -> UInt64 in
                s.nextId += 1
                s.operations[s.nextId] = Operation(waiter: waiter, queuedAt: .now, connection: nil)
                return s.nextId
            }
            Task {
                do {
                    let value = try await client.withConnection { connection -> T? in
                        guard self.attach(id, to: connection) else { return nil }
                        return try await body(connection)
                    }
                    if let value { self.finish(id, .success(value)) }
                } catch {
                    self.finish(id, .failure(error))
                }
            }
        }
        guard let typed = value as? T else { throw OffloadError.unavailable("the database is unavailable") }
        return typed
    }

    /// Fails the operations that waited too long for a connection; runs until cancelled.
    func expireWaits() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: leaseLimit / 4)
            let now = ContinuousClock.now
            let expired = state.withLock { s -> [Waiter] in
                let ids = s.operations.filter { $0.value.connection == nil && now - $0.value.queuedAt > leaseLimit }.map(\.key)
                return ids.compactMap { s.operations.removeValue(forKey: $0)?.waiter }
            }
            for waiter in expired { waiter.resume(throwing: OffloadError.unavailable("the database is unavailable")) }
        }
    }

    /// Marks the operation as running on `connection`; false when it was given up already.
    private func attach(_ id: UInt64, to connection: PostgresConnection) -> Bool {
        let (attached, watch) = state.withLock { s -> (Bool, Bool) in
            guard s.operations[id] != nil else { return (false, false) }
            s.operations[id]?.connection = connection.id
            return (true, s.watched.insert(connection.id).inserted)
        }
        if watch { watchClose(of: connection) }
        return attached
    }

    private func finish(_ id: UInt64, _ result: Result<any Sendable, any Error>) {
        state.withLock { $0.operations.removeValue(forKey: id) }?.waiter.resume(with: result)
    }

    private func watchClose(of connection: PostgresConnection) {
        let id = connection.id
        let eventLoop = connection.closeFuture.eventLoop
        let grace = closeGrace
        connection.closeFuture.whenComplete { _ in
            eventLoop.scheduleTask(in: grace) {
                let dropped = self.state.withLock { s -> [Waiter] in
                    s.watched.remove(id)
                    let ids = s.operations.filter { $0.value.connection == id }.map(\.key)
                    return ids.compactMap { s.operations.removeValue(forKey: $0)?.waiter }
                }
                for waiter in dropped { waiter.resume(throwing: OffloadError.unavailable("the database connection closed")) }
            }
        }
    }
}
