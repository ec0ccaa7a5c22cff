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
    /// What a write did: its effects, and how to answer its caller once they are committed.
    private typealias Outcome = Result<(WriteEffects, @Sendable () -> Void), any Error>

    private struct Pending: Sendable {
        enum Work: Sendable {
            case single(@Sendable (Database) throws -> (WriteEffects, @Sendable () -> Void))
            /// One member of a `WriteGroup`: `runAll` runs all the members of that group in a transaction.
            case member(group: ObjectIdentifier, entry: any Sendable, runAll: @Sendable ([any Sendable], Database) throws -> [Outcome])
        }
        let work: Work
        let fail: @Sendable (any Error) -> Void

        var entry: any Sendable {
            guard case .member(_, let entry, _) = work else { preconditionFailure("not a group member") }
            return entry
        }
    }

    /// How many transactions committed and how many writes they held (group commit at work).
    struct Counters: Sendable, Equatable {
        var commits = 0
        var writes = 0
    }

    /// A lease waiting for work inside the writer: after a transaction that makes work available commits (and
    /// its writers are answered), the writer runs it first in its next transaction, beside whatever writes are
    /// queued by then (no wake-up and no queue between a submit and the lease that takes its job).
    private struct Parked {
        let id: UInt64
        let lease: @Sendable (Database) throws -> ([LeasedJob], WriteEffects)
        let resume: @Sendable ([LeasedJob]) -> Void
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
    private var parked: [Parked] = []
    private var nextParkedId: UInt64 = 0
    /// Parked leases a transaction is running now, and those of them given up meanwhile (answered empty
    /// instead of parked again when they took nothing).
    private var held: Set<UInt64> = []
    private var abandoned: Set<UInt64> = []
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
            enqueue(Pending(
                work: .single { db in
                    let (value, effects) = try body(db)
                    return (effects, { continuation.resume(returning: value) })
                },
                fail: { continuation.resume(throwing: $0) }))
        }
    }

    /// Runs `item` in the next group commit together with the other writes of `group` queued by then (one call
    /// of `group.run` for all of them, at the place of the first); returns its value once that commit is durable.
    func write<Item: Sendable, Value: Sendable>(_ item: Item, in group: WriteGroup<Item, Value>) async throws -> Value {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            enqueue(Pending(
                work: .member(
                    group: ObjectIdentifier(group),
                    entry: GroupEntry(item: item, continuation: continuation),
                    runAll: { entries, db in
                        let members = entries.map { $0 as! GroupEntry<Item, Value> }
                        let results = try group.run(members.map(\.item), db)
                        precondition(results.count == members.count, "a write group answers each of its writes")
                        return zip(members, results).map { member, result in
                            result.map { value, effects in (effects, { member.continuation.resume(returning: value) }) }
                        }
                    }),
                fail: { continuation.resume(throwing: $0) }))
        }
    }

    private func enqueue(_ write: Pending) {
        condition.lock()
        let accepted = !closed
        if accepted {
            pending.append(write)
            condition.signal()
        }
        condition.unlock()
        if !accepted { write.fail(OffloadError.unavailable("the store is shutting down")) }
    }

    /// Parks `lease` until a transaction makes work available and the lease takes something in it; answers
    /// the ticket that `unpark` takes. `resume` is called once: with the leased jobs (after their commit), or
    /// with none when the lease is unparked first or the writer closes.
    func park(
        _ lease: @escaping @Sendable (Database) throws -> ([LeasedJob], WriteEffects),
        resume: @escaping @Sendable ([LeasedJob]) -> Void
    ) -> UInt64 {
        condition.lock()
        defer { condition.unlock() }
        nextParkedId += 1
        if closed {
            resume([])
        } else {
            parked.append(Parked(id: nextParkedId, lease: lease, resume: resume))
        }
        return nextParkedId
    }

    /// Takes a parked lease back: it is answered with no jobs, unless a transaction already leased for it,
    /// in which case it gets those jobs once that transaction commits.
    func unpark(_ id: UInt64) {
        condition.lock()
        let index = parked.firstIndex { $0.id == id }
        let entry = index.map { parked.remove(at: $0) }
        if entry == nil, held.contains(id) { abandoned.insert(id) }
        condition.unlock()
        entry?.resume([])
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
    /// `afterCommit` runs on the writer thread after each commit, with the number of commits so far.
    func run(afterCommit: @escaping @Sendable (Int) -> Void = { _ in }) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    self.loop(afterCommit)
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
        let waiting = parked
        parked.removeAll()
        condition.broadcast()
        condition.unlock()
        for entry in waiting { entry.resume([]) }
    }

    private func loop(_ afterCommit: @Sendable (Int) -> Void) {
        // Parked leases taken after a commit that made work ready: they run first in the next transaction,
        // with whatever writes are queued by then (only this thread touches it).
        var due: [Parked] = []
        while true {
            condition.lock()
            while pending.isEmpty && due.isEmpty && !closed { condition.wait() }
            let batch: [Pending]
            if pending.count <= maxBatch {
                batch = pending
                pending.removeAll(keepingCapacity: true)
            } else {
                batch = Array(pending.prefix(maxBatch))
                pending.removeFirst(maxBatch)
            }
            let closing = closed
            condition.unlock()
            if closing && !due.isEmpty {
                // Shutting down: lease nothing more (the writes still queued commit).
                settle(due.map { ($0, []) })
                due = []
            }
            if batch.isEmpty && due.isEmpty { return }
            due = commit(batch, leasing: due, afterCommit)
        }
    }

    /// Commits `batch` in one transaction, running the `leasing` parked leases first in it; answers the parked
    /// leases to run next (those waiting when this commit made work ready).
    private func commit(_ batch: [Pending], leasing: [Parked], _ afterCommit: @Sendable (Int) -> Void) -> [Parked] {
        let outcomes: [Outcome]
        var ran: [(Parked, [LeasedJob], WriteEffects)] = []
        do {
            (ran, outcomes) = try pool.writeWithoutTransaction { db in
                // Cached, as the savepoint's: parsing BEGIN and COMMIT again for each transaction was 6 % of the
                // writer thread's samples under single submits.
                try db.cachedStatement(sql: "BEGIN IMMEDIATE").execute()
                let savepoint = try Savepoint(db)
                var ran: [(Parked, [LeasedJob], WriteEffects)] = []
                for entry in leasing {
                    let outcome = try savepoint.attempt(db) { try entry.lease(db) }
                    let (jobs, effects) = (try? outcome.get()) ?? ([], WriteEffects())
                    ran.append((entry, jobs, effects))
                }
                let outcomes = try Self.apply(batch, db, savepoint)
                do {
                    try db.cachedStatement(sql: "COMMIT").execute()
                } catch {
                    try? db.execute(sql: "ROLLBACK")
                    throw error
                }
                return (ran, outcomes)
            }
        } catch {
            logger.error("group commit failed", metadata: ["error": "\(error)", "writes": "\(batch.count)"])
            for pending in batch { pending.fail(OffloadError.unavailable("the database is unavailable")) }
            // Nothing the parked leases did committed: they wait on.
            settle(leasing.map { ($0, []) })
            return []
        }
        condition.lock()
        counters.commits += 1
        counters.writes += batch.count
        let commits = counters.commits
        condition.unlock()
        afterCommit(commits)
        var committed = WriteEffects()
        for (_, jobs, effects) in ran where !jobs.isEmpty { committed.merge(effects) }
        for outcome in outcomes {
            if case .success(let (effects, _)) = outcome { committed.merge(effects) }
        }
        // Leases that took nothing park again first, so they are among those this commit's work wakes. Parked
        // leases are taken before the commit's effects go out: a lease woken by them and withdrawn meanwhile
        // still gets what the next transaction leases for it.
        settle(ran.map { ($0.0, $0.1) })
        let next = committed.workAvailable ? takeParked() : []
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
        return next
    }

    /// Runs the writes of `batch` in order, each in its own savepoint; the members of a group run together at
    /// the place of the first of them. Answers one outcome per write, in `batch` order.
    private static func apply(_ batch: [Pending], _ db: Database, _ savepoint: Savepoint) throws -> [Outcome] {
        var members: [ObjectIdentifier: [Int]] = [:]
        for (index, pending) in batch.enumerated() {
            if case .member(let group, _, _) = pending.work { members[group, default: []].append(index) }
        }
        var outcomes = [Outcome?](repeating: nil, count: batch.count)
        for index in batch.indices where outcomes[index] == nil {
            switch batch[index].work {
            case .single(let apply):
                outcomes[index] = try savepoint.attempt(db) { try apply(db) }
            case .member(let group, _, let runAll):
                let indices = members[group] ?? [index]
                let entries = indices.map { batch[$0].entry }
                switch try savepoint.attempt(db, { try runAll(entries, db) }) {
                case .success(let results):
                    for (member, outcome) in zip(indices, results) { outcomes[member] = outcome }
                case .failure:
                    // The group failed as a whole (a statement refused): each write alone, so only the one
                    // at fault fails.
                    for (member, entry) in zip(indices, entries) {
                        outcomes[member] = try savepoint.attempt(db) { try runAll([entry], db) }.flatMap { $0[0] }
                    }
                }
            }
        }
        return outcomes.map { $0! }
    }

    /// The savepoint statements of one transaction, looked up once (not per write): each write runs in its own
    /// savepoint, so one that throws rolls back alone.
    private struct Savepoint {
        let open: Statement
        let release: Statement
        let rollback: Statement

        init(_ db: Database) throws {
            open = try db.cachedStatement(sql: "SAVEPOINT op")
            release = try db.cachedStatement(sql: "RELEASE op")
            rollback = try db.cachedStatement(sql: "ROLLBACK TO op")
        }

        /// Runs `body` in the savepoint and answers what it threw as a failure, unless the error rolled back
        /// the whole transaction (disk full, I/O): then the batch fails as one, rather than later writes
        /// committing one by one outside it.
        func attempt<T>(_ db: Database, _ body: () throws -> T) throws -> Result<T, any Error> {
            do {
                return .success(try run(db, body))
            } catch {
                guard db.isInsideTransaction else { throw error }
                return .failure(error)
            }
        }

        func run<T>(_ db: Database, _ body: () throws -> T) throws -> T {
            try open.execute()
            do {
                let value = try body()
                try release.execute()
                return value
            } catch {
                if db.isInsideTransaction {
                    try? rollback.execute()
                    try? release.execute()
                }
                throw error
            }
        }
    }

    private func takeParked() -> [Parked] {
        condition.lock()
        defer { condition.unlock() }
        let waiting = parked
        parked.removeAll(keepingCapacity: true)
        held.formUnion(waiting.map(\.id))
        return waiting
    }

    /// After a transaction that ran parked leases: those that leased get their jobs; those that took nothing
    /// park again, or are answered empty if they were given up meanwhile (or the writer closed).
    private func settle(_ entries: [(Parked, [LeasedJob])]) {
        guard !entries.isEmpty else { return }
        condition.lock()
        var answers: [(Parked, [LeasedJob])] = []
        for (entry, jobs) in entries {
            held.remove(entry.id)
            let givenUp = abandoned.remove(entry.id) != nil
            if !jobs.isEmpty || givenUp || closed {
                answers.append((entry, jobs))
            } else {
                parked.append(entry)
            }
        }
        condition.unlock()
        for (entry, jobs) in answers { entry.resume(jobs) }
    }
}

/// Writes of one kind that the writer runs together: one call of `run` for all of them in a transaction, so
/// they can share statements (one `UPDATE … FROM (VALUES …)` instead of one `UPDATE` per write).
final class WriteGroup<Item: Sendable, Value: Sendable>: Sendable {
    /// Answers one result per item, in order: a failure fails that write alone, a throw fails the call, and
    /// the writer then runs each item alone.
    let run: @Sendable ([Item], Database) throws -> [Result<(Value, WriteEffects), any Error>]

    init(_ run: @escaping @Sendable ([Item], Database) throws -> [Result<(Value, WriteEffects), any Error>]) {
        self.run = run
    }
}

private struct GroupEntry<Item: Sendable, Value: Sendable>: Sendable {
    let item: Item
    let continuation: CheckedContinuation<Value, any Error>
}
