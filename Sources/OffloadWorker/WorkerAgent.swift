import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import OffloadClient
import OffloadCore
import OffloadProcessing
import ServiceLifecycle

/// `offload worker`: a worker on any machine that takes jobs from a server over HTTP.
///
/// It registers (under the id kept in its state file, so a restart is the same worker), runs a
/// `WorkerPool` on the server's worker API, and on graceful shutdown tells the server it is draining,
/// finishes what it runs within the grace period, hands back the rest and leaves the registry.
/// While the server is away it keeps trying with backoff, and it retries a result it could not deliver.
public struct WorkerAgent: Service {
    public struct Configuration: Sendable {
        public var serverURL: String
        public var apiKey: String
        public var name: String
        public var labels: [String: String]
        public var concurrency: Int
        /// Where the worker id is kept between runs; nil: a new id each run.
        public var statePath: String?
        public var shutdownGrace: Duration = .seconds(30)
        public var heartbeatInterval: Duration = .seconds(10)
        public var leaseWait: Duration = .seconds(30)

        public init(serverURL: String, apiKey: String, name: String, labels: [String: String], concurrency: Int, statePath: String?) {
            self.serverURL = serverURL
            self.apiKey = apiKey
            self.name = name
            self.labels = labels
            self.concurrency = concurrency
            self.statePath = statePath
        }
    }

    private let configuration: Configuration
    private let registry: ProcessorRegistry
    private let logger: Logger

    public init(configuration: Configuration, registry: ProcessorRegistry, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.logger = logger
    }

    public func run() async throws {
        // A server that is away must fail a call at once (the pool backs off and retries), not hold it until
        // its deadline while the connection pool keeps trying to connect.
        var http = HTTPClient.Configuration()
        http.connectionPool.retryConnectionEstablishment = false
        http.timeout.connect = .seconds(5)
        let httpClient = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: http)
        await serve(OffloadClient(baseURL: configuration.serverURL, apiKey: configuration.apiKey, httpClient: httpClient))
        try await httpClient.shutdown()
    }

    private func serve(_ client: OffloadClient) async {
        let source = RemoteJobSource(
            client: client,
            registration: WorkerRegistration(
                workerId: savedWorkerId(), name: configuration.name, processingTypes: registry.types,
                labels: configuration.labels, maxConcurrentJobs: configuration.concurrency))
        guard let workerId = await registerWithBackoff(source) else { return }
        save(workerId)
        let logger = {
            var logger = self.logger
            logger[metadataKey: "workerId"] = "\(workerId)"
            return logger
        }()
        logger.info("worker registered", metadata: ["types": "\(registry.types.joined(separator: ","))", "server": "\(configuration.serverURL)"])
        let pool = WorkerPool(
            source: source, registry: registry,
            configuration: .init(
                concurrency: configuration.concurrency, shutdownGrace: configuration.shutdownGrace,
                heartbeatInterval: configuration.heartbeatInterval, leaseWait: configuration.leaseWait),
            logger: logger)
        await withGracefulShutdownHandler {
            await pool.run()
        } onGracefulShutdown: {
            logger.info("worker draining")
            Task { try? await source.markDraining() }
        }
        do {
            try await source.deregister()
            logger.info("worker deregistered")
        } catch {
            logger.warning("deregistering failed", metadata: ["error": "\(error)"])
        }
    }

    /// Registers, retrying with backoff (100 ms up to 5 s) while the server is away; nil when shut down first.
    private func registerWithBackoff(_ source: RemoteJobSource) async -> String? {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                return try await source.register()
            } catch OffloadError.unavailable(let message) {
                logger.warning("server unreachable, retrying", metadata: ["error": "\(message)", "retryIn": "\(delay)"])
            } catch {
                logger.error("registration refused", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
        return nil
    }

    private func savedWorkerId() -> String? {
        guard let path = configuration.statePath, let data = FileManager.default.contents(atPath: path),
            let state = try? JSONValue.parse(Array(data))
        else { return nil }
        return state["workerId"]?.stringValue
    }

    private func save(_ workerId: String) {
        guard let path = configuration.statePath else { return }
        let state: JSONValue = ["workerId": .string(workerId), "server": .string(configuration.serverURL)]
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        if !FileManager.default.createFile(atPath: path, contents: Data(state.jsonBytes()), attributes: [.posixPermissions: 0o600]) {
            logger.warning("cannot write the worker state file", metadata: ["path": "\(path)"])
        }
    }
}

/// What logs show of the agent (ServiceGroup logs its services at debug level): never the API key.
extension WorkerAgent: CustomStringConvertible {
    public var description: String {
        "WorkerAgent(server: \(configuration.serverURL), name: \(configuration.name), concurrency: \(configuration.concurrency))"
    }
}
