import Foundation
import Hummingbird
import Logging
import NIOCore
import OffloadCore
import OffloadProcessing
import OffloadStore
import ServiceLifecycle
import UnixSignals

/// `offload serve`: opens the store, makes sure an admin key and a JWT secret exist, and runs the HTTP
/// server, the in-process workers and the maintenance services in one ServiceGroup until SIGTERM or SIGINT.
public struct OffloadServerApp: Sendable {
    public let configuration: ServerConfiguration
    public let logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs until a shutdown signal (or until the surrounding task is cancelled), then stops gracefully.
    public func run(signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(
            atPath: configuration.dataDirectory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let store = try await openStore()
        // The store's writer must run while the bootstrap writes keys.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.run() }
            defer { store.close() }
            let secret = try Secrets.jwtSecret(configuration: configuration, logger: logger)
            try await Secrets.ensureAdminKey(store: store, configuration: configuration, logger: logger)
            let tokens = await TokenIssuer(secret: secret)
            let webhooks = WebhookSender(
                store: store, secret: try Secrets.webhookSecret(configuration: configuration, logger: logger),
                retryBase: configuration.webhookRetryBase, maxAttempts: configuration.webhookMaxAttempts,
                interval: configuration.webhookInterval, logger: logger)
            // The in-process workers are in the registry before the server listens.
            let presence = configuration.workers > 0 && configuration.inProcessWorkers != nil
                ? InProcessPresence(
                    workerId: Self.inProcessWorkerId, processingTypes: configuration.inProcessProcessors.types,
                    concurrency: configuration.workers)
                : nil
            try await presence?.refresh(store, now: Date())
            let services = makeServices(store: store, tokens: tokens, presence: presence, webhooks: webhooks)
            var configs = services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }
            if let request = configuration.shutdownRequest {
                configs.append(.init(service: ShutdownOnRequest(request: request), successTerminationBehavior: .gracefullyShutdownGroup))
            }
            let serviceGroup = ServiceGroup(configuration: .init(
                services: configs,
                gracefulShutdownSignals: signals,
                cancellationSignals: [],
                logger: logger))
            try await serviceGroup.run()
            store.close()
            try await group.next()
        }
    }

    private func openStore() async throws -> any JobStoreService {
        let location = try configuration.databaseLocation()
        switch location {
        case .sqlite(let path):
            let directory = (path as NSString).deletingLastPathComponent
            if !directory.isEmpty {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            }
            let store = try SQLiteJobStore(path: path, durability: configuration.durability, logger: logger)
            let synchronous = try store.effectiveDurability()
            logger.info("store opened", metadata: ["database": "\(location.redacted)", "synchronous": "\(synchronous.rawValue)"])
            return store
        case .postgres(let postgres):
            let store = try await PostgresJobStore.open(
                postgres, maxConnections: configuration.postgresConnections, logger: logger)
            logger.info("store opened", metadata: ["database": "\(location.redacted)"])
            if configuration.jwtSecret == nil {
                logger.warning("OFFLOAD_JWT_SECRET is not set: tokens this server issues work only on this server")
            }
            return store
        }
    }

    /// The HTTP server, the SSE closer, the maintenance and the worker pool; ServiceGroup stops them in reverse
    /// order.
    private func makeServices(
        store: any JobStoreService, tokens: TokenIssuer, presence: InProcessPresence?, webhooks: WebhookSender
    ) -> [any Service] {
        let streams = StreamQuota(limit: configuration.maxStreamsPerKey)
        let metrics = ServerMetrics(store: store, streams: streams, offlineAfter: configuration.workerOfflineAfter)
        store.eventBus.onCommitted { metrics.observe($0) }
        let submitter = makeSubmitter(store: store, metrics: metrics)
        let router = makeRouter(
            store: store, tokens: tokens, metrics: metrics, streams: streams, presence: presence, submitter: submitter)
        let onListening = configuration.onListening
        let logger = self.logger
        let headerTimeout = TimeAmount(configuration.headerTimeout)
        let keepAliveTimeout = TimeAmount(configuration.keepAliveTimeout)
        let app = Application(
            router: router,
            server: .http1(configuration: .init(additionalChannelHandlers: [
                HeaderTimeout(headerTimeout: headerTimeout, keepAliveTimeout: keepAliveTimeout),
            ])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "offload"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onListening?(port)
            },
            logger: logger)
        var services: [any Service] = [
            app,
            StreamCloser(bus: store.eventBus),
            MaintenanceRunner(
                store: store, services: maintenance(submitter: submitter, presence: presence, webhooks: webhooks), metrics: metrics,
                electionInterval: .seconds(1), logger: logger),
        ]
        if let presence, let workers = configuration.inProcessWorkers {
            services.append(workers.pool(.init(
                source: inProcessSource(store: store, metrics: metrics, presence: presence),
                concurrency: configuration.workers, shutdownGrace: configuration.shutdownGrace,
                heartbeatInterval: .seconds(max(1, configuration.leaseSeconds / 3)), logger: logger)))
        }
        return services
    }

    /// Every maintenance service of this server (see `Maintenance`): a new one is added here.
    private func maintenance(submitter: JobSubmitter, presence: InProcessPresence?, webhooks: WebhookSender) -> [any Maintenance] {
        let store = submitter.store
        var services: [any Maintenance] = [
            LeaseSweeper(store: store, interval: .seconds(max(1, configuration.leaseSeconds / 3)), logger: logger),
            Scheduler(submitter: submitter, interval: .seconds(1), logger: logger),
            webhooks,
        ]
        if let retention = configuration.retention {
            services.append(Pruner(store: store, retention: retention, interval: .seconds(60), logger: logger))
        }
        if let presence {
            services.append(InProcessPresenceService(presence: presence, store: store, interval: .seconds(2), logger: logger))
        }
        return services
    }

    /// The id the server's own workers lease under (and show under in the registry).
    private static let inProcessWorkerId = "inprocess-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"

    /// The server's own workers' view of the store (the synchronous fallback runs jobs through it too).
    private func inProcessSource(store: any JobStore, metrics: ServerMetrics, presence: InProcessPresence?) -> InProcessJobSource {
        InProcessJobSource(
            store: store,
            workerId: Self.inProcessWorkerId,
            presence: presence,
            processingTypes: configuration.inProcessProcessors.types,
            leaseSeconds: configuration.leaseSeconds,
            retryPolicy: configuration.retryPolicy, metrics: metrics)
    }

    /// Every route the server answers, as `METHOD /path` with `{name}` captures: what the contract test holds
    /// the OpenAPI document to.
    func routes(store: any JobStore) async -> [String] {
        let streams = StreamQuota(limit: 1)
        let metrics = ServerMetrics(store: store, streams: streams, offlineAfter: configuration.workerOfflineAfter)
        let tokens = await TokenIssuer(secret: String(repeating: "r", count: 64))
        let router = makeRouter(
            store: store, tokens: tokens, metrics: metrics, streams: streams, presence: nil,
            submitter: makeSubmitter(store: store, metrics: metrics))
        return router.routes.map { "\($0.method) \($0.path)" }
    }

    /// What every submit goes through (the job routes, the schedules, the scheduler).
    private func makeSubmitter(store: any JobStore, metrics: ServerMetrics) -> JobSubmitter {
        JobSubmitter(
            store: store, processors: configuration.processors, switches: TypeSwitches(store: store),
            typeTimeouts: configuration.typeTimeouts, metrics: metrics)
    }

    private func makeRouter(
        store: any JobStore, tokens: TokenIssuer, metrics: ServerMetrics, streams: StreamQuota, presence: InProcessPresence?,
        submitter: JobSubmitter
    )
        -> Router<OffloadRequestContext>
    {
        let router = Router(context: OffloadRequestContext.self)
        let keyCache = KeyCache()
        let auth = AuthMiddleware(store: store, tokens: tokens, keyCache: keyCache, openPaths: OpenRoutes.paths)
        if !configuration.corsOrigins.isEmpty {
            router.add(middleware: CORSMiddleware(allowedOrigins: Set(configuration.corsOrigins)))
        }
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
        router.add(middleware: ErrorMiddleware())
        OpenRoutes(store: store, metrics: metrics).register(on: router)
        DashboardRoutes().register(on: router)
        AuthRoutes(auth: auth, tokens: tokens, lifetime: configuration.tokenLifetime).register(on: router)
        let limiter = configuration.rateLimit.map { RateLimiter(rate: $0, burst: configuration.rateBurst) }
        var api = router.group("/api").add(middleware: auth)
        if let limiter { api = api.add(middleware: RateLimitMiddleware(limiter: limiter)) }
        let events = JobEventStream(store: store, keepAlive: configuration.sseKeepAlive, quota: streams)
        let synchronous = SynchronousRun(
            source: inProcessSource(store: store, metrics: metrics, presence: presence), processors: configuration.inProcessProcessors,
            waitForOthers: .seconds(60))
        JobRoutes(
            store: store, submitter: submitter, tokens: tokens, configuration: configuration, events: events,
            synchronous: synchronous
        ).register(on: api)
        TemplateRoutes(store: store, processors: configuration.processors, maxBodyBytes: configuration.maxBodyBytes)
            .register(on: api)
        ScheduleRoutes(store: store, submitter: submitter, maxBodyBytes: configuration.maxBodyBytes)
            .register(on: api)
        QueueRoutes(
            store: store, processors: configuration.processors, switches: submitter.switches, maxBodyBytes: configuration.maxBodyBytes)
            .register(on: api)
        KeyRoutes(store: store, keyCache: keyCache, maxBodyBytes: configuration.maxBodyBytes).register(on: api)
        let session = WorkerSession(store: store, configuration: configuration, metrics: metrics)
        WorkerRoutes(store: store, configuration: configuration, presence: presence, session: session).register(on: api)
        LeaseReportRoutes(session: session, maxBodyBytes: configuration.maxBodyBytes).register(on: api)
        FileRoutes(store: store, maxBytes: configuration.maxBundleBytes).register(on: api)
        StatsRoutes(store: store, configuration: configuration).register(on: api)
        var sse = router.group().add(middleware: auth)
        if let limiter { sse = sse.add(middleware: RateLimitMiddleware(limiter: limiter)) }
        events.register(on: sse)
        return router
    }
}

/// The JWT secret and the first admin key: from the environment, or generated once and kept safe.
enum Secrets {
    static func jwtSecret(configuration: ServerConfiguration, logger: Logger) throws -> String {
        try secret(given: configuration.jwtSecret, variable: "OFFLOAD_JWT_SECRET", file: "jwt-secret", configuration: configuration, logger: logger)
    }

    static func webhookSecret(configuration: ServerConfiguration, logger: Logger) throws -> String {
        try secret(
            given: configuration.webhookSecret, variable: "OFFLOAD_WEBHOOK_SECRET", file: "webhook-secret",
            configuration: configuration, logger: logger)
    }

    /// A secret from the environment, or one generated once into a 0600 file in the data directory.
    private static func secret(
        given: String?, variable: String, file: String, configuration: ServerConfiguration, logger: Logger
    ) throws -> String {
        if let given {
            guard given.utf8.count >= 32 else {
                throw OffloadError.badRequest("\(variable) must be at least 32 characters")
            }
            return given
        }
        let path = (configuration.dataDirectory as NSString).appendingPathComponent(file)
        let fileManager = FileManager.default
        if let data = fileManager.contents(atPath: path),
            let text = String(data: data, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines),
            text.utf8.count >= 32
        {
            try fileManager.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            return text
        }
        let secret = IDGenerator().secret(bytes: 32)
        guard fileManager.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw OffloadError.unavailable("cannot write the secret file \(path)")
        }
        logger.info("generated a secret", metadata: ["file": "\(path)"])
        return secret
    }

    static func ensureAdminKey(store: any JobStore, configuration: ServerConfiguration, logger: Logger) async throws {
        if let given = configuration.adminKey {
            guard given.utf8.count >= 16 else {
                throw OffloadError.badRequest("OFFLOAD_ADMIN_KEY must be at least 16 characters")
            }
            if try await store.key(secretHash: KeySecrets.hash(given)) == nil {
                do {
                    try await store.createKey(StoredKey(
                        id: IDGenerator().make(prefix: "key_"), name: "admin (OFFLOAD_ADMIN_KEY)", role: .admin,
                        tenant: "default", secretHash: KeySecrets.hash(given), createdAt: Date()))
                    logger.info("registered the admin key from OFFLOAD_ADMIN_KEY")
                } catch OffloadError.conflict {
                    // Another server sharing the database registered it a moment ago.
                }
            }
            return
        }
        guard try await !store.hasKey(role: .admin) else { return }
        let secret = KeySecrets.make()
        try await store.createKey(StoredKey(
            id: IDGenerator().make(prefix: "key_"), name: "admin", role: .admin, tenant: "default",
            secretHash: KeySecrets.hash(secret), createdAt: Date()))
        configuration.announce("""
            Created the first admin API key. It is shown only this once; keep it safe:

                \(secret)

            """)
    }
}
