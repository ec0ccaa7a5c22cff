import GRDB
import Logging
import OffloadCore
import Synchronization

/// What a committed write changes outside the database, applied only after its transaction commits.
struct WriteEffects: Sendable {
    var events: [JobEvent] = []
    /// Some job may have become leasable.
    var workAvailable = false
    var cancelRequests: [String] = []

    static let none = WriteEffects()
}

/// The single SQLite writer: concurrent writes queue up here and commit together in one transaction.
///
/// Each write runs inside its own savepoint, so one failing write rolls back alone while the others in its
/// batch commit. A caller's `write` returns only after the transaction holding its write committed: a burst
/// of 1,000 submits costs a few commits, and every one of them is durable when it returns.
final class GroupCommitWriter: Sendable {
    private struct Pending: Sendable {
        let apply: @Sendable (Database) throws -> (WriteEffects, @Sendable () -> Void)
        let fail: @Sendable (any Error) -> Void
    }

    private struct Queue {
        var pending: [Pending] = []
        var closed = false
    }

    private let pool: DatabasePool
    private let bus: EventBus
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Bounds one transaction, so a flood of writes still commits in steps and readers see progress.
    private let maxBatch = 2_000

    init(pool: DatabasePool, bus: EventBus, logger: Logger) {
        self.pool = pool
        self.bus = bus
        self.logger = logger
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Runs `body` in the next group commit; returns its value once that commit is durable.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> (T, WriteEffects)) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let pending = Pending(
                apply: { db in
                    let (value, effects) = try body(db)
                    return (effects, { continuation.resume(returning: value) })
                },
                fail: { continuation.resume(throwing: $0) }
            )
            let accepted = queue.withLock { q -> Bool in
                guard !q.closed else { return false }
                q.pending.append(pending)
                return true
            }
            if accepted {
                wake.yield()
            } else {
                continuation.resume(throwing: OffloadError.unavailable("the store is shutting down"))
            }
        }
    }

    /// Commits queued writes until `close()`; then commits what is left and returns.
    func run() async {
        for await _ in wakeStream {
            await drain()
        }
        await drain()
        // Cancelled or closed: refuse later writes, and fail those that came after the last drain.
        let leftovers = queue.withLock { q -> [Pending] in
            q.closed = true
            defer { q.pending.removeAll() }
            return q.pending
        }
        for pending in leftovers { pending.fail(OffloadError.unavailable("the store is shutting down")) }
    }

    /// Stops accepting writes; `run` returns after committing those already queued.
    func close() {
        queue.withLock { $0.closed = true }
        wake.finish()
    }

    private func drain() async {
        while true {
            let batch = queue.withLock { q -> [Pending] in
                if q.pending.count <= maxBatch {
                    defer { q.pending.removeAll(keepingCapacity: true) }
                    return q.pending
                }
                defer { q.pending.removeFirst(maxBatch) }
                return Array(q.pending.prefix(maxBatch))
            }
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) async {
        let outcomes: [Result<(WriteEffects, @Sendable () -> Void), any Error>]
        do {
            outcomes = try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                var outcomes: [Result<(WriteEffects, @Sendable () -> Void), any Error>] = []
                outcomes.reserveCapacity(batch.count)
                let savepoint = try db.cachedStatement(sql: "SAVEPOINT op")
                let release = try db.cachedStatement(sql: "RELEASE op")
                let rollback = try db.cachedStatement(sql: "ROLLBACK TO op")
                for pending in batch {
                    do {
                        try savepoint.execute()
                        let outcome = try pending.apply(db)
                        try release.execute()
                        outcomes.append(.success(outcome))
                    } catch {
                        try? rollback.execute()
                        try? release.execute()
                        outcomes.append(.failure(error))
                    }
                }
                do {
                    try db.execute(sql: "COMMIT")
                } catch {
                    try? db.execute(sql: "ROLLBACK")
                    throw error
                }
                return outcomes
            }
        } catch {
            logger.error("group commit failed", metadata: ["error": "\(error)", "writes": "\(batch.count)"])
            for pending in batch { pending.fail(OffloadError.unavailable("the database is unavailable")) }
            return
        }
        var events: [JobEvent] = []
        var workAvailable = false
        var cancels: [String] = []
        for outcome in outcomes {
            if case .success(let (effects, _)) = outcome {
                events.append(contentsOf: effects.events)
                workAvailable = workAvailable || effects.workAvailable
                cancels.append(contentsOf: effects.cancelRequests)
            }
        }
        bus.publish(events)
        bus.publishCancelRequests(cancels)
        if workAvailable { bus.work.fire() }
        for (pending, outcome) in zip(batch, outcomes) {
            switch outcome {
            case .success(let (_, resume)): resume()
            case .failure(let error as OffloadError): pending.fail(error)
            case .failure(let error):
                logger.error("write failed", metadata: ["error": "\(error)"])
                pending.fail(OffloadError.unavailable("the database refused the write"))
            }
        }
    }
}
