import Logging
import OffloadCore
import PostgresNIO

/// Which of the servers sharing a PostgreSQL database leads: the one whose session holds an advisory lock,
/// on a connection of its own.
///
/// PostgreSQL frees the lock the moment that session ends: when the leader resigns at shutdown, when its
/// process dies (the kernel closes the socket, PostgreSQL sees it at once), and when it falls silent, as
/// when the network between them fails (`idle_session_timeout` ends a session that sent nothing for
/// `silentFor`; a leader checks in every election interval, far more often). Every other server tries the
/// lock at each check and the first to ask after it is free takes it.
actor PostgresLeadership {
    /// The lock's key ("leader" in ASCII); the migrations take another.
    static let lockKey: Int64 = 0x6c6561646572
    /// How long one check may take before the server counts itself as not leading.
    static let timeout: Duration = .seconds(3)
    /// How long PostgreSQL keeps a silent leader's session (and its lock).
    static let silentFor = "10s"

    private let connect: @Sendable () async throws -> PostgresConnection
    private let logger: Logger
    private var connection: PostgresConnection?
    private var leading = false

    init(logger: Logger, connect: @escaping @Sendable () async throws -> PostgresConnection) {
        self.connect = connect
        self.logger = logger
    }

    /// Whether this server holds the lock now: a leader checks that its session is still there, a follower
    /// tries to take the lock. Any failure (no connection, a check slower than `timeout`) counts as not leading.
    func lead() async -> Bool {
        do {
            let connection: PostgresConnection
            if let open = self.connection {
                connection = open
            } else {
                connection = try await connect()
                self.connection = connection
                _ = try? await connection.query(
                    PostgresQuery(unsafeSQL: "SET idle_session_timeout = '\(Self.silentFor)'"), logger: logger)
            }
            let query: PostgresQuery = leading ? "SELECT true" : "SELECT pg_try_advisory_lock(\(Self.lockKey))"
            leading = try await Self.ask(connection, query, logger: logger)
        } catch {
            if leading {
                let reason = (error as? OffloadError)?.message ?? String(reflecting: error)
                logger.warning("lost the connection that holds the maintenance lead", metadata: ["error": "\(reason)"])
            }
            leading = false
            try? await connection?.close()
            connection = nil
        }
        return leading
    }

    /// Ends the session, which frees the lock for another server at once.
    func resign() async {
        leading = false
        try? await connection?.close()
        connection = nil
    }

    /// Answers `query`'s one boolean, or throws when that takes longer than `timeout`. The wait ends at the
    /// timeout whatever the query does: one sent on a connection that closed under it is never answered, and
    /// awaiting it would hold the election (and the server's shutdown) forever. The connection is closed then,
    /// which fails a query that hangs on a cut network.
    private static func ask(_ connection: PostgresConnection, _ query: PostgresQuery, logger: Logger) async throws -> Bool {
        // Known closed (PostgreSQL restarted): no need to wait for the timeout.
        guard !connection.isClosed else { throw OffloadError.unavailable("the connection closed") }
        let answer = Latch<Result<Bool, any Error>>()
        Task {
            do {
                var value = false
                for try await row in try await connection.query(query, logger: logger).decode(Bool.self) { value = row }
                answer.set(.success(value))
            } catch {
                answer.set(.failure(error))
            }
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            let late = OffloadError.unavailable("PostgreSQL did not answer the leadership check within \(timeout)")
            if answer.set(.failure(late)) {
                try? await connection.close()
            }
        }
        defer { timer.cancel() }
        guard let result = await answer.wait() else { throw CancellationError() }
        return try result.get()
    }
}
