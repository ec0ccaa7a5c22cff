import Logging
import ServiceLifecycle

/// The server's own workers as the executable composes them from the worker runtime: the processors they run
/// and the pool that runs them. The server hands the pool its job source (the store) and its settings, so it
/// needs neither the runtime nor the processors' code.
public struct InProcessWorkers: Sendable {
    /// What the server gives the pool.
    public struct Setup: Sendable {
        public var source: any JobSource
        public var concurrency: Int
        public var shutdownGrace: Duration
        public var heartbeatInterval: Duration
        public var logger: Logger

        public init(source: any JobSource, concurrency: Int, shutdownGrace: Duration, heartbeatInterval: Duration, logger: Logger) {
            self.source = source
            self.concurrency = concurrency
            self.shutdownGrace = shutdownGrace
            self.heartbeatInterval = heartbeatInterval
            self.logger = logger
        }
    }

    /// What the in-process workers run (also what the synchronous fallback runs inside a request).
    public var processors: ProcessorRegistry
    /// Makes the pool, a service the server runs beside its others.
    public var pool: @Sendable (Setup) -> any Service

    public init(processors: ProcessorRegistry, pool: @escaping @Sendable (Setup) -> any Service) {
        self.processors = processors
        self.pool = pool
    }
}
