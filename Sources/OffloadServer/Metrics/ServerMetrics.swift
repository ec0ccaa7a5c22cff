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
            name: "offload_lease_duration_seconds", buckets: Self.fastBuckets, help: "Time one lease call spent in the store")
        waitTime = registry.makeDurationHistogram(
            name: "offload_job_wait_seconds", buckets: Self.jobBuckets, help: "From submit to the start of the last attempt, of finished jobs")
        runTime = registry.makeDurationHistogram(
            name: "offload_job_run_seconds", buckets: Self.jobBuckets, help: "From the start of the last attempt to the end, of finished jobs")
        tokens = registry.makeCounter(name: "offload_tokens_streamed_total", help: "LLM token events committed")
        logLines = registry.makeCounter(name: "offload_log_lines_total", help: "Log line events committed")
        openStreams = registry.makeGauge(name: "offload_sse_streams_open", help: "SSE streams open now")
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
            let counter = registry.makeCounter(name: name, labels: [("type", type), ("queue", queue)], help: help())
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
            name: "offload_http_requests_total", labels: [("route", route), ("method", method), ("status", "\(status)")],
            help: "HTTP requests answered").increment()
        registry.makeDurationHistogram(
            name: "offload_http_request_duration_seconds", labels: [("route", route), ("method", method)],
            buckets: Self.fastBuckets, help: "Time to the answer's head (a stream's lifetime is not counted)"
        ).record(duration)
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
                name: "offload_queue_depth", labels: [("queue", labels[0]), ("status", labels[1])],
                help: "Jobs waiting or running now, by queue").set(to: Double(count))
        }
        var workers: [WorkerStatus: Int] = [:]
        let now = Date()
        for worker in try await store.workers() { workers[worker.status(at: now, offlineAfter: offlineAfter), default: 0] += 1 }
        for status in WorkerStatus.allCases {
            registry.makeGauge(name: "offload_workers", labels: [("status", status.rawValue)], help: "Registered workers by status")
                .set(to: Double(workers[status] ?? 0))
        }
        openStreams.set(to: Double(streams.total))
        return registry.emitToBuffer()
    }

    private static func duration(_ seconds: TimeInterval) -> Duration {
        .milliseconds(Int64(max(0, seconds) * 1000))
    }
}
