import Foundation
import OffloadCore
import OffloadStore
import Prometheus
import Synchronization

/// This server's Prometheus metrics (one registry per server). Counters move as this server commits or
/// answers; gauges (queue depth, workers, open streams) are read at scrape time from the store's cheap
/// aggregates, so a scrape never walks the jobs table.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let store: any JobStore
    private let streams: StreamQuota
    private let offlineAfter: TimeInterval
    private let leaseLatency: DurationHistogram
    private let waitTime: DurationHistogram
    private let runTime: DurationHistogram
    private let tokens: Counter
    private let logLines: Counter
    private let openStreams: Gauge
    private let leaderGauge: Gauge
    /// Queue and status pairs shown before: shown again as 0 once empty, not frozen at their last depth.
    private let depthLabels = Mutex<Set<[String]>>([])
    /// The per-job counters by name, type and queue, found once in the registry: they move once per job
    /// (final ones on the store's writer thread), where a registry lookup hashes labels and builds strings.
    private let jobCounters = Mutex<[JobCounterKey: Counter]>([:])

    private struct JobCounterKey: Hashable {
        let name: String
        let type: String
        let queue: String
    }

    static let jobBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5),
        .seconds(15), .seconds(60), .seconds(300), .seconds(1800),
    ]
    static let fastBuckets: [Duration] = [
        .microseconds(250), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(100), .milliseconds(500), .seconds(2.5), .seconds(10),
    ]

    init(store: any JobStore, streams: StreamQuota, offlineAfter: TimeInterval) {
        self.store = store
        self.streams = streams
        self.offlineAfter = offlineAfter
        leaseLatency = registry.makeDurationHistogram(
            descriptor: Self.named("offload_lease_duration_seconds", "Time one lease call spent in the store"), buckets: Self.fastBuckets)
        waitTime = registry.makeDurationHistogram(
            descriptor: Self.named("offload_job_wait_seconds", "From submit to the start of the last attempt, of finished jobs"),
            buckets: Self.jobBuckets)
        runTime = registry.makeDurationHistogram(
            descriptor: Self.named("offload_job_run_seconds", "From the start of the last attempt to the end, of finished jobs"),
            buckets: Self.jobBuckets)
        tokens = registry.makeCounter(descriptor: Self.named("offload_tokens_streamed_total", "LLM token events committed"))
        logLines = registry.makeCounter(descriptor: Self.named("offload_log_lines_total", "Log line events committed"))
        openStreams = registry.makeGauge(descriptor: Self.named("offload_sse_streams_open", "SSE streams open now"))
        leaderGauge = registry.makeGauge(
            descriptor: Self.named("offload_maintenance_leader", "1 while this server leads the maintenance, else 0"))
    }

    /// Counts what this server committed: final events by type, queue and status; tokens; log lines.
    func observe(_ events: [JobEvent]) {
        for event in events {
            switch event.kind {
            case .token: tokens.increment()
            case .log: logLines.increment()
            case .completed, .failed, .cancelled:
                let type = event.data["processingType"]?.stringValue ?? "?"
                let queue = event.data["queue"]?.stringValue ?? "?"
                jobCounter("offload_jobs_\(event.kind.rawValue)_total", type: type, queue: queue,
                           help: "Jobs that became \(event.kind.rawValue.uppercased())").increment()
                let created = event.data["createdAt"]?.stringValue.flatMap(Timestamps.parse)
                let started = event.data["startedAt"]?.stringValue.flatMap(Timestamps.parse)
                let ended = event.data["completedAt"]?.stringValue.flatMap(Timestamps.parse)
                if let created, let started { waitTime.record(Self.duration(started.timeIntervalSince(created))) }
                if let started, let ended, event.data["cachedFrom"] == nil {
                    runTime.record(Self.duration(ended.timeIntervalSince(started)))
                }
            default: break
            }
        }
    }

    /// `help` is read only the first time a counter is made.
    private func jobCounter(_ name: String, type: String, queue: String, help: @autoclosure () -> String) -> Counter {
        jobCounters.withLock { counters in
            let key = JobCounterKey(name: name, type: type, queue: queue)
            if let counter = counters[key] { return counter }
            let counter = registry.makeCounter(descriptor: Self.named(name, help()), labels: [("type", type), ("queue", queue)])
            counters[key] = counter
            return counter
        }
    }

    func submitted(_ jobs: [Job]) {
        for job in jobs {
            jobCounter("offload_jobs_submitted_total", type: job.processingType, queue: job.queue,
                       help: "Jobs stored by a submit").increment()
        }
    }

    /// A failed attempt that will run again.
    func retried(_ job: Job) {
        guard job.status == .pending else { return }
        jobCounter("offload_jobs_retried_total", type: job.processingType, queue: job.queue,
                   help: "Failed attempts whose job runs again").increment()
    }

    func leased(in duration: Duration) {
        leaseLatency.record(duration)
    }

    func request(route: String, method: String, status: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.named("offload_http_requests_total", "HTTP requests answered"),
            labels: [("route", route), ("method", method), ("status", "\(status)")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.named("offload_http_request_duration_seconds", "Time to the answer's head (a stream's lifetime is not counted)"),
            labels: [("route", route), ("method", method)], buckets: Self.fastBuckets
        ).record(duration)
    }

    /// One maintenance round of `service`: counted by outcome, timed, and what it changed added up.
    func maintenanceRound(service: String, failed: Bool, changed: Int, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.named("offload_maintenance_rounds_total", "Maintenance rounds run by this server"),
            labels: [("service", service), ("outcome", failed ? "failed" : "ok")]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.named("offload_maintenance_round_seconds", "Time one maintenance round took"),
            labels: [("service", service)], buckets: Self.fastBuckets
        ).record(duration)
        if changed > 0 {
            registry.makeCounter(
                descriptor: Self.named(
                    "offload_maintenance_changed_total", "What maintenance rounds changed: jobs requeued, rows pruned, jobs enqueued, webhooks tried"),
                labels: [("service", service)]
            ).increment(by: Int64(changed))
        }
    }

    /// Whether this server leads the maintenance now.
    func leader(_ leading: Bool) {
        leaderGauge.set(to: leading ? 1 : 0)
    }

    /// The Prometheus text, with the gauges read now.
    func scrape() async throws -> [UInt8] {
        let stats = try await store.stats(finishedSince: Date(), sampleLimit: 0)
        var depth: [[String]: Int] = [:]
        for (key, count) in stats.active { depth[[key.queue, key.status.rawValue.lowercased()], default: 0] += count }
        let shown = depthLabels.withLock { seen in
            seen.formUnion(depth.keys)
            seen.formUnion([["default", "pending"], ["default", "processing"]])
            return seen
        }
        for labels in shown where depth[labels] == nil { depth[labels] = 0 }
        for (labels, count) in depth {
            registry.makeGauge(
                descriptor: Self.named("offload_queue_depth", "Jobs waiting or running now, by queue"),
                labels: [("queue", labels[0]), ("status", labels[1])]
            ).set(to: Double(count))
        }
        var workers: [WorkerStatus: Int] = [:]
        let now = Date()
        for worker in try await store.workers() { workers[worker.status(at: now, offlineAfter: offlineAfter), default: 0] += 1 }
        for status in WorkerStatus.allCases {
            registry.makeGauge(descriptor: Self.named("offload_workers", "Registered workers by status"), labels: [("status", status.rawValue)])
                .set(to: Double(workers[status] ?? 0))
        }
        openStreams.set(to: Double(streams.total))
        return registry.emitToBuffer()
    }

    /// A metric's name (with its unit already) and help text, as the registry takes them.
    private static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private static func duration(_ seconds: TimeInterval) -> Duration {
        .milliseconds(Int64(max(0, seconds) * 1000))
    }
}
