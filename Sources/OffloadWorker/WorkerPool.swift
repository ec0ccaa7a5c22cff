import Logging
import OffloadCore
import OffloadProcessing
import ServiceLifecycle
import Synchronization

/// Runs leased jobs with a fixed number of slots until graceful shutdown.
///
/// On shutdown it stops leasing, lets running jobs finish for `shutdownGrace`, then stops the rest and
/// hands them back to PENDING, so a clean stop leaves no job in PROCESSING. Reports that cannot reach the
/// source then get as long again before they are given up, so a worker whose store or server is gone still
/// exits; the jobs of reports given up run again once their leases expire.
public final class WorkerPool: Service {
    public struct Configuration: Sendable {
        public var concurrency: Int
        public var shutdownGrace: Duration
        public var heartbeatInterval: Duration
        /// How long one lease call may wait for work before the slot checks in again.
        public var leaseWait: Duration
        /// How long a final report (complete, fail) is retried while the source is unreachable (until shutdown).
        public var reportPatience: Duration
        /// With only a few slots free, how long to wait for more before leasing, so one lease fills many slots
        /// (zero for the server's own workers: their lease is a store call, not an HTTP round trip, and on
        /// SQLite it joins the writer's next transaction).
        public var gatherDelay: Duration

        public init(
            concurrency: Int, shutdownGrace: Duration = .seconds(30), heartbeatInterval: Duration = .seconds(10),
            leaseWait: Duration = .seconds(30), reportPatience: Duration = .seconds(600), gatherDelay: Duration = .milliseconds(2)
        ) {
            self.concurrency = concurrency
            self.shutdownGrace = shutdownGrace
            self.heartbeatInterval = heartbeatInterval
            self.leaseWait = leaseWait
            self.reportPatience = reportPatience
            self.gatherDelay = gatherDelay
        }
    }

    enum StopReason: Sendable {
        case cancelled
        case shutdown
    }

    private enum Outcome: Sendable {
        case completed(JSONValue)
        case failed(String, JSONValue?, RetryHint)
        case stopped(StopReason)
    }

    private let source: any JobSource
    private let registry: ProcessorRegistry
    private let configuration: Configuration
    private let logger: Logger
    private let running = Mutex<[String: (LeaseRef, Latch<StopReason>)]>([:])
    private let draining = Latch<Void>()
    /// Set `shutdownGrace` after running jobs were stopped at shutdown: reports stop being retried.
    private let reportsGivenUp = Latch<Void>()
    /// Jobs running or about to run; at most `configuration.concurrency`.
    private let busy = Atomic<Int>(0)
    /// Lease calls that failed in a row (for the backoff).
    private let leaseFailures = Atomic<Int>(0)
    /// Fired when a job ends (a slot is free) and when shutdown begins.
    private let slotFreed = WakeSignal()

    public init(source: any JobSource, registry: ProcessorRegistry, configuration: Configuration, logger: Logger) {
        self.source = source
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async {
        guard configuration.concurrency > 0 else { return }
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listenForCancels() }
                group.addTask { await self.heartbeats() }
                group.addTask { await self.enforceGrace() }
                await withDiscardingTaskGroup { jobs in
                    while draining.value == nil && !Task.isCancelled {
                        for leased in await leaseForFreeSlots() {
                            if draining.value != nil {
                                await deliver("release", leased) { try await self.source.release($0) }
                                continue
                            }
                            busy.add(1, ordering: .relaxed)
                            jobs.addTask {
                                await self.execute(leased) {
                                    self.busy.subtract(1, ordering: .relaxed)
                                    self.slotFreed.fire()
                                }
                            }
                        }
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.draining.set(())
            self.slotFreed.fire()
        }
    }

    /// One lease call for as many jobs as there are free slots (none while all are busy): a wake-up costs
    /// one round trip to the store, not one per idle slot.
    private func leaseForFreeSlots() async -> [LeasedJob] {
        let generation = slotFreed.generation
        var free = configuration.concurrency - busy.load(ordering: .relaxed)
        guard free > 0 else {
            await slotFreed.wait(since: generation)
            return []
        }
        // A few slots free while most are busy: give the others a moment to finish, so one lease fills many
        // slots instead of costing a round trip per slot (short jobs end in bursts).
        if free * 4 < configuration.concurrency && configuration.gatherDelay > .zero {
            try? await Task.sleep(for: configuration.gatherDelay)
            free = configuration.concurrency - busy.load(ordering: .relaxed)
        }
        let limit = free
        do {
            let jobs = try await untilDraining {
                try await self.source.lease(limit: limit, wait: self.configuration.leaseWait)
            } ?? []
            leaseFailures.store(0, ordering: .relaxed)
            return jobs
        } catch is CancellationError {
            return []
        } catch {
            // Back off while the source is away: 100 ms, doubling up to 5 s.
            let failures = leaseFailures.add(1, ordering: .relaxed).newValue
            let delay = Duration.milliseconds(100 * (1 << min(failures - 1, 6)))
            logger.warning("lease failed", metadata: ["error": "\(error)", "retryIn": "\(min(delay, .seconds(5)))"])
            _ = try? await untilDraining { try await Task.sleep(for: min(delay, .seconds(5))) }
            return []
        }
    }

    /// Runs `body` until it returns or shutdown begins; nil when shutdown came first.
    private func untilDraining<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                _ = await self.draining.wait()
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            if first != nil { return first }
            // Shutdown came first, but a store write cannot be taken back: jobs it leased still arrive,
            // and the caller hands them back instead of leaving them in PROCESSING.
            for try await late in group {
                if let late { return late }
            }
            return nil
        }
    }

    /// Runs one leased job and reports its end. `freeSlot` runs once the processor is done, before the final
    /// report is delivered: the next job starts while this one's result is being committed, so a slot is
    /// never idle waiting for the store (the job stays in `running`, heartbeated, until its report lands).
    private func execute(_ leased: LeasedJob, freeSlot: @Sendable () -> Void) async {
        let ref = LeaseRef(jobId: leased.job.jobId, leaseToken: leased.leaseToken)
        // Built only when a line is written: setting metadata on every job was 1.7 % of the server's CPU in a
        // noop run, for debug lines that were not printed.
        let logger: @Sendable () -> Logger = { self.jobLogger(ref.jobId) }
        let stop = Latch<StopReason>()
        running.withLock { $0[ref.jobId] = (ref, stop) }
        defer {
            // Only this attempt's entry: the job may have been leased again after this lease expired.
            running.withLock { if $0[ref.jobId]?.0 == ref { $0.removeValue(forKey: ref.jobId) } }
        }

        guard let processor = registry[leased.job.processingType] else {
            freeSlot()
            await deliver("fail", leased) {
                try await self.source.fail(
                    $0, error: "no processor for type \(leased.job.processingType) on this worker", result: nil, retry: .backoff)
            }
            return
        }
        self.logger.debug("job started", metadata: ["jobId": "\(ref.jobId)", "attempt": "\(leased.job.attempt)"])
        let source = self.source
        let context = JobContext(
            job: leased.job,
            sink: { events in
                // Events wait (and the processor with them) while the source is away: none is dropped.
                let cancelRequested = try await self.retryingWhileUnavailable(logger: logger()) {
                    try await source.report(ref, events: events)
                }
                if cancelRequested { stop.set(.cancelled) }
            },
            files: { fileId in
                try await self.retryingWhileUnavailable(logger: logger()) { try await source.file(fileId) }
            })
        let outcome = await withTaskGroup(of: Outcome?.self) { group -> Outcome in
            group.addTask {
                do {
                    return .completed(try await processor.run(context))
                } catch let failure as JobFailure {
                    return Task.isCancelled ? nil : .failed(failure.message, failure.result, failure.retry)
                } catch {
                    if Task.isCancelled { return nil }
                    return .failed((error as? OffloadError)?.message ?? String(describing: error), nil, .backoff)
                }
            }
            group.addTask { await stop.wait().map { .stopped($0) } }
            if let timeout = leased.job.timeoutSeconds {
                group.addTask {
                    try? await Task.sleep(for: .seconds(timeout))
                    return Task.isCancelled ? nil : .failed("timed out after \(timeout) s", nil, .backoff)
                }
            }
            var result: Outcome = .stopped(.shutdown)
            if let first = await group.next(), let first {
                result = first
            }
            group.cancelAll()
            return result
        }
        freeSlot()
        switch outcome {
        case .completed(let result):
            await deliver("complete", leased) { try await source.complete($0, result: result) }
            self.logger.debug("job completed", metadata: ["jobId": "\(ref.jobId)"])
        case .failed(let message, let result, let retry):
            await deliver("fail", leased) { try await source.fail($0, error: message, result: result, retry: retry) }
            logger().info("job attempt failed", metadata: ["error": "\(message)"])
        case .stopped(.cancelled):
            await deliver("cancel", leased) { try await source.acknowledgeCancel($0) }
            logger().info("job cancelled")
        case .stopped(.shutdown):
            await deliver("release", leased) { try await source.release($0) }
            logger().info("job handed back on shutdown")
        }
    }

    /// Sends a final report, retrying while the source is unreachable (for up to `reportPatience`: by then
    /// the lease has long expired and the server would refuse it, or until reports are given up at shutdown);
    /// a refused report (stale lease) is dropped.
    private func deliver(_ what: String, _ leased: LeasedJob, _ send: @escaping @Sendable (LeaseRef) async throws -> Void) async {
        let ref = LeaseRef(jobId: leased.job.jobId, leaseToken: leased.leaseToken)
        let logger = { self.jobLogger(ref.jobId, report: what) }
        do {
            try await retryingWhileUnavailable(logger: logger()) { try await send(ref) }
        } catch OffloadError.unavailable(let message) where reportsGivenUp.value != nil {
            logger().warning("report given up at shutdown: the job runs again once its lease expires", metadata: ["error": "\(message)"])
        } catch {
            logger().warning("report refused", metadata: ["error": "\(error)"])
        }
    }

    /// The pool's logger with a job's metadata (and the report being sent).
    private func jobLogger(_ jobId: String, report: String? = nil) -> Logger {
        var logger = self.logger
        logger[metadataKey: "jobId"] = "\(jobId)"
        if let report { logger[metadataKey: "report"] = "\(report)" }
        return logger
    }

    /// Runs `call` until it succeeds or fails for another reason than the source being unavailable, waiting
    /// 100 ms, then twice as long each time (at most 5 s), for up to `reportPatience` or until reports are
    /// given up at shutdown.
    private func retryingWhileUnavailable<T: Sendable>(
        logger: @autoclosure () -> Logger, _ call: () async throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + configuration.reportPatience
        var delay = Duration.milliseconds(100)
        var attempt = 1
        while true {
            do {
                return try await call()
            } catch OffloadError.unavailable(let message)
                where ContinuousClock.now < deadline && !Task.isCancelled && reportsGivenUp.value == nil
            {
                logger().warning("report failed, retrying", metadata: ["attempt": "\(attempt)", "error": "\(message)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
                attempt += 1
            }
        }
    }

    private func stop(_ jobId: String, _ reason: StopReason) {
        running.withLock { $0[jobId]?.1 }?.set(reason)
    }

    private func listenForCancels() async {
        for await jobId in source.cancellations() {
            stop(jobId, .cancelled)
        }
    }

    private func heartbeats() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.heartbeatInterval)
            // Sent with no jobs too: a remote worker's heartbeat is how the server knows it is alive.
            let leases = running.withLock { $0.values.map(\.0) }
            do {
                for jobId in try await source.heartbeat(leases) { stop(jobId, .cancelled) }
            } catch is CancellationError {
                return
            } catch {
                logger.warning("heartbeat failed", metadata: ["error": "\(error)"])
            }
        }
    }

    private func enforceGrace() async {
        guard await draining.wait() != nil else { return }
        try? await Task.sleep(for: configuration.shutdownGrace)
        let all = running.withLock { $0.values.map(\.1) }
        for latch in all { latch.set(.shutdown) }
        try? await Task.sleep(for: configuration.shutdownGrace)
        reportsGivenUp.set(())
    }
}

/// What logs show of the pool (ServiceGroup logs its services at debug level): not its source or processors.
extension WorkerPool: CustomStringConvertible {
    public var description: String { "WorkerPool(concurrency: \(configuration.concurrency))" }
}
