import ArgumentParser
import Foundation
import Logging
import OffloadServer
import OffloadStore
import OffloadWorker

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the server (HTTP API, SSE, in-process workers).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0: any free port).") var port = 8080
    @Option(help: "Directory for the database and the generated JWT secret.") var dataDir = "./offload-data"
    @Option(help: "sqlite:PATH (default: <data-dir>/offload.sqlite) or postgres://USER[:PASSWORD]@HOST[:PORT]/DB (also OFFLOAD_DATABASE_URL).")
    var database: String?
    @Option(help: "Connections to PostgreSQL this server keeps at most.") var postgresConnections = 16
    @Option(help: "Jobs the in-process workers run at once (0: none).") var workers = 4
    @Option(help: "Seconds running jobs get to finish on shutdown before they are handed back.") var shutdownGrace = 30.0
    @Option(help: "Seconds a lease lasts without a heartbeat.") var leaseSeconds = 30.0
    @Option(help: "SQLite synchronous level: normal (survives a process crash) or full (also a power loss).")
    var sqliteSync = "normal"
    @Option(help: "Seconds between SSE keep-alive comments.") var sseKeepAlive = 15.0
    @Option(help: "Largest request body in bytes.") var maxBodyBytes = 10 * 1024 * 1024
    @Option(help: "Seconds a new connection has to send its request head (slow clients are closed).")
    var headerTimeout = 10.0
    @Option(help: "Days finished jobs are kept (0: forever).") var retentionDays = 7.0
    @Option(help: "Default timeout of a processing type, TYPE=SECONDS (repeatable).") var typeTimeout: [String] = []
    @Option(help: "Largest shell bundle (POST /api/files) in bytes.") var maxBundleBytes = 50 * 1024 * 1024
    @Option(help: "Requests per second a client key may make on average (token bucket; 0: no limit).") var rateLimit = 0.0
    @Option(help: "Requests a client key may make at once before --rate-limit applies.") var rateBurst = 20.0
    @Option(help: "An origin browser pages may call the API from, e.g. https://app.example.com (repeatable).")
    var corsOrigin: [String] = []
    @Option(help: "SSE streams one key may hold open at once.") var maxStreamsPerKey = 5_000
    @OptionGroup(title: "In-process processors") var processors: ProcessorOptions
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(help: "Log lines as text or json (one object per line).") var logFormat = "text"

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        try LogSetup.bootstrap(format: logFormat, level: logLevel)
        guard let durability = SQLiteJobStore.Durability(rawValue: sqliteSync.uppercased()) else {
            throw ValidationError("--sqlite-sync must be normal or full")
        }
        guard workers >= 0 else { throw ValidationError("--workers must be 0 or more") }
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.dataDirectory = dataDir
        configuration.database = database ?? environment["OFFLOAD_DATABASE_URL"]
        configuration.workers = workers
        guard postgresConnections >= 2 else { throw ValidationError("--postgres-connections must be 2 or more") }
        configuration.postgresConnections = postgresConnections
        configuration.shutdownGrace = .milliseconds(Int64(shutdownGrace * 1000))
        configuration.leaseSeconds = leaseSeconds
        configuration.durability = durability
        configuration.sseKeepAlive = .milliseconds(Int64(sseKeepAlive * 1000))
        configuration.maxBodyBytes = maxBodyBytes
        guard headerTimeout > 0 else { throw ValidationError("--header-timeout must be more than 0") }
        configuration.headerTimeout = .milliseconds(Int64(headerTimeout * 1000))
        configuration.maxBundleBytes = maxBundleBytes
        guard rateLimit >= 0, rateBurst >= 1, maxStreamsPerKey >= 1 else {
            throw ValidationError("--rate-limit must be 0 or more, --rate-burst and --max-streams-per-key 1 or more")
        }
        configuration.rateLimit = rateLimit > 0 ? rateLimit : nil
        configuration.rateBurst = rateBurst
        configuration.corsOrigins = corsOrigin
        configuration.maxStreamsPerKey = maxStreamsPerKey
        configuration.processors = .builtIn
        configuration.inProcessWorkers = .builtIn(try processors.builtIns())
        configuration.retention = retentionDays > 0 ? retentionDays * 86_400 : nil
        for entry in typeTimeout {
            let parts = entry.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let seconds = Int(parts[1]), seconds > 0 else {
                throw ValidationError("--type-timeout takes TYPE=SECONDS, not \(entry)")
            }
            configuration.typeTimeouts[String(parts[0])] = seconds
        }
        configuration.adminKey = environment["OFFLOAD_ADMIN_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.jwtSecret = environment["OFFLOAD_JWT_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.webhookSecret = environment["OFFLOAD_WEBHOOK_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        let announcedHost = host
        configuration.onListening = { port in
            print("offload listening on http://\(announcedHost):\(port)")
            fflush(nil)
        }
        let logger = Logger(label: "offload")
        try await OffloadServerApp(configuration: configuration, logger: logger).run()
    }
}
