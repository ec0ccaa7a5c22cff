import Foundation
import GRDB
import Logging
import OffloadCore

/// The single SQLite writer: concurrent writes queue up here and commit together in one transaction.
///
/// Each write runs inside its own savepoint, so one failing write rolls back alone while the others in its
/// batch commit. A caller's `write` returns only after the transaction holding its write committed: a burst
/// of 1,000 submits costs a few commits, and every one of them is durable when it returns.
final class GroupCommitWriter: @unchecked Sendable {
    private struct Pending: Sendable {
        let apply: @Sendable (Database) throws -> (WriteEffects, @Sendable () -> Void)
        let fail: @Sendable (any Error) -> Void
    }

    /// How many transactions committed and how many writes they held (group commit at work).
    struct Counters: Sendable, Equatable {
        var commits = 0
        var writes = 0
    }

    private let pool: DatabasePool
    private let bus: EventBus
    private let logger: Logger
    // The writer thread sleeps on this condition; it guards `pending`, `closed` and `counters`.
    // (This is why the class is @unchecked Sendable: every mutable field is only touched under the lock.)
    private let condition = NSCondition()
    private var pending: [Pending] = []
    private var closed = false
    private var counters = Counters()
    /// Bounds one transaction, so a flood of writes still commits in steps and readers see progress.
    private let maxBatch = 2_000

    init(pool: DatabasePool, bus: EventBus, logger: Logger) {
        self.pool = pool
        self.bus = bus
        self.logger = logger
    }

    /// Runs `body` in the next group commit; returns its value once that commit is durable.
    func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> (T, WriteEffects)) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let write = Pending(
                apply: { db in
                    let (value, effects) = try body(db)
                    return (effects, { continuation.resume(returning: value) })
                },
                fail: { continuation.resume(throwing: $0) }
            )
            condition.lock()
            let accepted = !closed
            if accepted {
                pending.append(write)
                condition.signal()
            }
            condition.unlock()
            if !accepted {
                continuation.resume(throwing: OffloadError.unavailable("the store is shutting down"))
            }
        }
    }

    var committed: Counters {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// Runs the writer thread until `close()` (or cancellation); it commits what is queued before it ends.
    ///
    /// The writer is a thread of its own, not a task: SQLite calls block, and a dedicated thread saves the
    /// hops between the cooperative pool and GRDB's queues that an async write would take.
    func run() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    self.loop()
                    done.resume()
                }
                thread.name = "offload-sqlite-writer"
                thread.start()
            }
        } onCancel: {
            self.close()
        }
    }

    /// Stops accepting writes; `run` returns after committing those already queued.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while pending.isEmpty && !closed { condition.wait() }
            let batch: [Pending]
            if pending.count <= maxBatch {
                batch = pending
                pending.removeAll(keepingCapacity: true)
            } else {
                batch = Array(pending.prefix(maxBatch))
                pending.removeFirst(maxBatch)
            }
            condition.unlock()
            if batch.isEmpty { return }
            commit(batch)
        }
    }

    private func commit(_ batch: [Pending]) {
        let outcomes: [Result<(WriteEffects, @Sendable () -> Void), any Error>]
        do {
            outcomes = try pool.writeWithoutTransaction { db in
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
                        // Some errors (disk full, I/O) make SQLite roll back the whole transaction: then the
                        // batch fails as one, rather than later writes committing one by one outside it.
                        guard db.isInsideTransaction else { throw error }
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
        condition.lock()
        counters.commits += 1
        counters.writes += batch.count
        condition.unlock()
        var committed = WriteEffects()
        for outcome in outcomes {
            if case .success(let (effects, _)) = outcome { committed.merge(effects) }
        }
        bus.publish(committed)
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
