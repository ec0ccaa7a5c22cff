import Foundation
import Logging
import NIOCore
import NIOSSL
import OffloadCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The store for several servers: PostgreSQL through postgres-nio.
///
/// Writes are short transactions on a connection pool; PostgreSQL's own group commit shares the WAL flush
/// between concurrent commits. Leasing is `FOR UPDATE SKIP LOCKED`, so servers never wait on each other's
/// rows. One dedicated connection per server LISTENs: it wakes idle workers when another server made work
/// available and relays the events another server committed to this server's SSE followers. When that
/// connection is lost the store reports itself unavailable (every call throws `unavailable` at once, so
/// the API answers 503 without waiting) until it has reconnected and listens again.
public final class PostgresJobStore: JobStoreService {
    public let eventBus: EventBus
    let client: PostgresClient
    let logger: Logger
    let notifier: PostgresNotifier
    private let commitOrder = CommitOrder()
    /// Concurrent `complete` calls, committed together.
    let completions = WriteBatcher<Completion, Job>(maxBatch: 500)
    /// Every database operation of the store runs through it (see `DatabaseOperations`).
    private let operations = DatabaseOperations()
    private let location: PostgresLocation
    /// Unique per process: a server ignores the notifications it sent itself.
    private let origin: String
    /// Whether the listening connection is up; the API fails fast while it is not.
    private let connected = Atomic<Bool>(true)
    private let closed = Latch<Void>()
    /// Set when `run()` starts the pool: queries wait for it rather than reach a pool that is not running.
    private let started = Latch<Void>()
    /// Who leads the servers sharing this database (see `lead()`).
    private let leadership: PostgresLeadership

    /// Connects, runs pending migrations (under an advisory lock) and answers a store ready to `run()`.
    public static func open(
        _ location: PostgresLocation, eventBus: EventBus = EventBus(), maxConnections: Int = 16,
        notifyWindow: Duration = .milliseconds(2), logger: Logger
    ) async throws -> PostgresJobStore {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: try connectionConfiguration(location), id: 0, logger: logger)
            do {
                let ran = try await PostgresSchema.migrate(connection, logger: logger)
                if ran > 0 { logger.info("migrated the PostgreSQL schema", metadata: ["migrations": "\(ran)"]) }
            } catch {
                try? await connection.close()
                throw error
            }
            try await connection.close()
        } catch {
            throw OffloadError.unavailable("cannot open the PostgreSQL database at \(location.redacted): \(describe(error))")
        }
        return PostgresJobStore(
            location: location, eventBus: eventBus, maxConnections: maxConnections, notifyWindow: notifyWindow, logger: logger)
    }

    private init(
        location: PostgresLocation, eventBus: EventBus, maxConnections: Int, notifyWindow: Duration, logger: Logger
    ) {
        var configuration = PostgresClient.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: Self.tls(location.tls))
        configuration.options.maximumConnections = maxConnections
        configuration.options.minimumConnections = min(2, maxConnections)
        configuration.options.connectTimeout = .seconds(3)
        // The pool logs every failed connection attempt at info level; while the database is away that is
        // one line per retry. The listener reports the outage once instead.
        var poolLogger = logger
        poolLogger.logLevel = max(logger.logLevel, .warning)
        client = PostgresClient(configuration: configuration, backgroundLogger: poolLogger)
        self.location = location
        self.eventBus = eventBus
        self.logger = logger
        origin = IDGenerator().make(prefix: "srv_")
        notifier = PostgresNotifier(origin: origin, window: notifyWindow)
        leadership = PostgresLeadership(logger: logger) {
            try await PostgresConnection.connect(configuration: try Self.connectionConfiguration(location), id: 2, logger: logger)
        }
    }

    /// Runs the connection pool, the listener and the notifier until `close()` or cancellation.
    public func run() async throws {
        await withTaskGroup(of: Void.self) { pool in
            pool.addTask {
                self.started.set(())
                await self.client.run()
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listen() }
                group.addTask { await self.operations.expireWaits() }
                group.addTask { await self.completions.run { await self.complete($0) } }
                group.addTask {
                    await self.notifier.run(logger: self.logger) { payload in
                        try await self.autocommit { connection in
                            _ = try await connection.query(
                                "SELECT pg_notify(\(PostgresNotifier.channel), \(payload))", logger: self.logger).get()
                        }
                    }
                }
                await withGracefulShutdownHandler {
                    _ = await closed.wait()
                } onGracefulShutdown: {
                    self.close()
                }
                group.cancelAll()
            }
            // Last: a request for a connection made after the pool stopped would wait forever.
            pool.cancelAll()
        }
        await leadership.resign()
    }

    /// Stops the pool, the listener and the notifier.
    public func close() {
        closed.set(())
    }

    /// The lead is a session advisory lock on a connection of its own (see `PostgresLeadership`).
    public func lead() async -> Bool {
        await leadership.lead()
    }

    public func resign() async {
        await leadership.resign()
    }

    // MARK: Listening

    /// Keeps one connection LISTENing, reconnecting with backoff; while it is down the store is unavailable.
    private func listen() async {
        var delay = Duration.milliseconds(50)
        var reconnecting = false
        while !Task.isCancelled {
            var failure: (any Error)?
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: try Self.connectionConfiguration(location), id: 1, logger: logger)
                do {
                    try await connection.listen(on: PostgresNotifier.channel) { notifications in
                        if !connected.exchange(true, ordering: .relaxed) {
                            logger.notice("PostgreSQL is reachable again")
                        }
                        delay = .milliseconds(50)
                        if reconnecting { await catchUp() }
                        reconnecting = true
                        for try await notification in notifications {
                            guard let notice = Notice(payload: notification.payload), notice.origin != origin else {
                                continue
                            }
                            await deliver(notice)
                        }
                    }
                } catch {
                    failure = error
                }
                try? await connection.close()
            } catch {
                failure = error
            }
            if Task.isCancelled { return }
            if connected.exchange(false, ordering: .relaxed) {
                logger.error(
                    "lost the PostgreSQL connection; answering 503 until it is back",
                    metadata: ["error": "\(failure.map(Self.describe) ?? "the connection closed")"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// After (re)connecting: notifications sent while this server was not listening are gone, so wake the
    /// workers and hand every followed job's newest event to its followers (who fetch any gap themselves).
    private func catchUp() async {
        eventBus.work.fire()
        let followed = Array(eventBus.followedJobIds())
        guard !followed.isEmpty else { return }
        do {
            let newest = try await autocommit { connection in
                try await self.events(of: followed, connection) { row in row.lastSeq...row.lastSeq }
            }
            eventBus.publish(newest)
        } catch {
            logger.warning("catching up after reconnecting failed", metadata: ["error": "\(error)"])
        }
    }

    /// Applies another server's notice: wake-ups, cancel requests, and the events this server's followers wait for.
    private func deliver(_ notice: Notice) async {
        if notice.work { eventBus.work.fire() }
        eventBus.publishCancelRequests(notice.cancels)
        let followed = eventBus.followedJobIds()
        let wanted = notice.ranges.filter { followed.contains($0.key) }
        guard !wanted.isEmpty else { return }
        do {
            let events = try await autocommit { connection in
                try await self.events(of: Array(wanted.keys), connection) { row in
                    wanted[row.job.jobId] ?? (row.lastSeq + 1)...(row.lastSeq + 1)
                }
            }
            eventBus.publish(events)
        } catch {
            logger.warning("relaying events failed", metadata: ["error": "\(error)"])
        }
    }

    /// The events of `jobIds` whose seqs fall in `range(row)` (the event rows and those the rows stand for),
    /// each job's in seq order, read in one snapshot.
    private func events(
        of jobIds: [String], _ connection: PostgresConnection, in range: (JobRow) -> ClosedRange<Int64>
    ) async throws -> [JobEvent] {
        _ = try await connection.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger).get()
        do {
            let rows = try await Self.collect(connection.query(
                "SELECT \(unescaped: PostgresRows.jobColumns()) FROM jobs WHERE id = ANY(\(jobIds))", logger: logger),
                PostgresRows.jobRow)
            let ranges = rows.map(range)
            let ids = rows.map(\.job.jobId)
            let from = ranges.map(\.lowerBound)
            let to = ranges.map(\.upperBound)
            let stored = try await Self.collect(connection.query("""
                SELECT e.job_id, e.seq, e.kind, e.data, e.at
                FROM unnest(\(ids)::text[], \(from)::bigint[], \(to)::bigint[]) AS r(job_id, from_seq, to_seq)
                JOIN job_events e ON e.job_id = r.job_id AND e.seq BETWEEN r.from_seq AND r.to_seq
                ORDER BY e.job_id, e.seq
                """, logger: logger), PostgresRows.event)
            _ = try await connection.query("COMMIT", logger: logger).get()
            let byJob = Dictionary(grouping: stored, by: \.jobId)
            return zip(rows, ranges).flatMap { row, range in
                row.events(merging: byJob[row.job.jobId] ?? [], after: range.lowerBound - 1, limit: Int.max)
                    .filter { range.contains($0.seq) }
            }
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    // MARK: Running queries

    /// Runs `body` in one transaction and, after the commit, publishes its effects here (each job's events
    /// in seq order) and to the other servers.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> (T, WriteEffects)) async throws -> T {
        let (value, effects) = try await withConnection { connection in
            _ = try await connection.query("BEGIN", logger: self.logger).get()
            var ticket: CommitOrder.Ticket?
            do {
                let outcome = try await body(connection)
                let reserved = self.commitOrder.reserve(outcome.1.events)
                ticket = reserved
                _ = try await connection.query("COMMIT", logger: self.logger).get()
                self.commitOrder.finish(reserved, committed: true) { self.eventBus.publishCommitted($0) }
                return outcome
            } catch {
                if let ticket { self.commitOrder.finish(ticket, committed: false) { self.eventBus.publishCommitted($0) } }
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
        announce(effects, eventsPublished: true)
        return value
    }

    /// Tells this server's followers and workers, and the other servers, what a committed write changed.
    /// A single-statement write's events go straight to the bus: no other write can fall between the
    /// statement's commit and its publication for those jobs but one that the follower's gap check repairs.
    func announce(_ effects: WriteEffects, eventsPublished: Bool = false) {
        var local = effects
        if eventsPublished { local.events = [] }
        eventBus.publish(local)
        notifier.record(effects)
    }

    /// Runs `body` on a pooled connection without a transaction: for reads and single statements (atomic alone).
    @discardableResult
    func autocommit<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await withConnection(body)
    }

    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        guard connected.load(ordering: .relaxed) else {
            throw OffloadError.unavailable("the database is unavailable")
        }
        if started.value == nil { _ = await started.wait() }
        do {
            return try await operations.perform(on: client, body)
        } catch let error as OffloadError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw OffloadError.conflict("it exists already")
        } catch {
            logger.warning("PostgreSQL query failed", metadata: ["error": "\(Self.describe(error))"])
            throw OffloadError.unavailable("the database is unavailable")
        }
    }

    /// Decodes every row of a query. The rows are gathered on the connection's event loop and handed over
    /// once, which costs one thread hop per query instead of one per batch of rows.
    static func collect<T>(_ result: EventLoopFuture<PostgresQueryResult>, _ decode: (PostgresRow) throws -> T) async throws -> [T] {
        try await result.get().rows.map(decode)
    }

    static func first<T>(_ result: EventLoopFuture<PostgresQueryResult>, _ decode: (PostgresRow) throws -> T) async throws -> T? {
        try await result.get().rows.first.map(decode)
    }

    /// A short description for logs: the server's message and SQLSTATE, never the query or its values.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let message = error.serverInfo?[.message] {
            return "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
        }
        return "\(error.code)"
    }

    public func ping() async throws {
        try await autocommit { connection in _ = try await connection.query("SELECT 1", logger: self.logger).get() }
    }

    // MARK: Configuration

    private static func connectionConfiguration(_ location: PostgresLocation) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        switch location.tls {
        case .disable: tls = .disable
        case .prefer: tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.username, password: location.password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(3)
        return configuration
    }

    private static func tls(_ mode: PostgresLocation.TLSMode) -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: return .disable
        case .prefer: return .prefer(.makeClientConfiguration())
        case .require: return .require(.makeClientConfiguration())
        }
    }
}
