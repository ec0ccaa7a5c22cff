import Foundation
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Everything `offload serve` can be told; the executable fills it from flags and the environment.
public struct ServerConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "./offload-data"
    /// `sqlite:PATH` or `postgres://USER[:PASSWORD]@HOST[:PORT]/DB`; nil: `<dataDirectory>/offload.sqlite`.
    public var database: String?
    public var durability: SQLiteJobStore.Durability = .normal
    /// Connections the PostgreSQL store keeps at most.
    public var postgresConnections = 16
    /// Jobs the in-process workers run at once; 0 turns them off.
    public var workers = 4
    public var shutdownGrace: Duration = .seconds(30)
    public var leaseSeconds: TimeInterval = 30
    public var maxBodyBytes = 10 * 1024 * 1024
    /// A connection whose request head is not complete this long after it opened is closed (slow clients).
    public var headerTimeout: Duration = .seconds(10)
    /// A kept-alive connection with no new request this long after its last response is closed.
    public var keepAliveTimeout: Duration = .seconds(75)
    /// Timeouts for jobs that give no `timeoutSeconds`, by processing type.
    public var typeTimeouts: [String: Int] = [:]
    /// Finished jobs older than this are deleted with their events; nil keeps them forever.
    public var retention: TimeInterval? = 7 * 86_400
    public var sseKeepAlive: Duration = .seconds(15)
    /// SSE streams one key may hold open at once.
    public var maxStreamsPerKey = 5_000
    /// Requests per second a client key may make on average (token bucket); nil: no limit.
    public var rateLimit: Double?
    /// Requests a client key may make at once before the rate applies.
    public var rateBurst: Double = 20
    /// Origins a browser page may call the API from (CORS); empty: none.
    public var corsOrigins: [String] = []
    public var tokenLifetime: TimeInterval = 1800
    public var streamTokenLifetime: TimeInterval = 300
    /// From `OFFLOAD_ADMIN_KEY`: an admin key to accept (created in the store when missing).
    public var adminKey: String?
    /// From `OFFLOAD_JWT_SECRET`; nil: a generated secret kept in `<dataDirectory>/jwt-secret` (0600).
    public var jwtSecret: String?
    /// From `OFFLOAD_WEBHOOK_SECRET`: the HMAC-SHA256 key of webhook signatures; nil: generated into
    /// `<dataDirectory>/webhook-secret` (0600). Several servers need the same one.
    public var webhookSecret: String?
    /// The first webhook retry waits this long, each next one twice as long (at most an hour).
    public var webhookRetryBase: TimeInterval = 2
    /// Attempts before a webhook is given up.
    public var webhookMaxAttempts = 10
    /// How often due webhooks are looked for.
    public var webhookInterval: Duration = .seconds(1)
    /// The processing types a submit may name, each with its check of `data` (the executable passes the
    /// built-in ones; a type a registered worker declares is accepted too).
    public var processors = ProcessorRegistry([])
    /// The server's own workers (`workers` of them run at once); nil: none.
    public var inProcessWorkers: InProcessWorkers?
    /// A worker with no heartbeat for this long is shown offline (three missed 10 s heartbeats).
    public var workerOfflineAfter: TimeInterval = 30
    /// A lease a worker's sync does not list is handed back once it is older than this: younger, the answer
    /// that carried it may still be on its way to the worker.
    public var workerReconcileGrace: TimeInterval = 5
    /// The largest bundle `POST /api/files` takes.
    public var maxBundleBytes = 50 * 1024 * 1024
    public var retryPolicy = RetryPolicy()
    /// Called with the bound port once the server listens (tests bind port 0).
    public var onListening: (@Sendable (Int) async -> Void)?
    /// Setting this latch stops the server gracefully, as SIGTERM does (for embedding, benchmarks and tests).
    public var shutdownRequest: Latch<Void>?
    /// Where the first-start admin key is shown (stdout by default; never a log line).
    public var announce: @Sendable (String) -> Void = { print($0) }

    public init() {}

    /// What the in-process workers run.
    public var inProcessProcessors: ProcessorRegistry { inProcessWorkers?.processors ?? ProcessorRegistry([]) }

    /// The store this configuration uses: `database`, or the embedded default in the data directory.
    public func databaseLocation() throws -> DatabaseLocation {
        try DatabaseLocation(database, dataDirectory: dataDirectory)
    }
}
