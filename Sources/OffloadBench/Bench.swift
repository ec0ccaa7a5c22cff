import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import Logging
import NIOSSL
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadServer
import OffloadStore
import OffloadWorker

public struct Bench: AsyncParsableCommand, Sendable {
    public static let configuration = CommandConfiguration(
        abstract: "Measure submit latency and throughput, noop jobs end to end, pickup latency, SSE fan-out and memory.")

    @Option(help: "Target a running server instead of starting an embedded one.") var server: String?
    @Option(help: "API key for --server (or OFFLOAD_KEY).") var key: String?
    @Option(help: "In-process workers of the embedded server.") var workers = 4
    @Option(help: "Sequential submits for the latency figure.") var submits = 2_000
    @Option(help: "Submits for the concurrent throughput figure.") var throughputSubmits = 10_000
    @Option(help: "Concurrent clients for the throughput figure.") var concurrency = 32
    @Option(help: "Jobs followed over SSE for the pickup and first-event figures.") var follows = 50
    @Option(help: "SQLite synchronous level of the embedded server: normal or full.") var sqliteSync = "normal"
    @Option(help: "Database of the embedded server: sqlite:PATH or postgres://… (default: SQLite in a temporary directory).")
    var database: String?
    @Option(help: "noop jobs for the end-to-end throughput figure (0: skip it).") var endToEndJobs = 10_000
    @Option(help: "Jobs per request for the batched end-to-end figure.") var batchSize = 1_000
    @Option(help: "Open SSE streams on one job for the fan-out figure (0: skip it).") var streams = 1_000
    @Option(help: "Start up to N `offload worker` processes and measure throughput through 1…N of them and remote pickup (0: skip).")
    var remoteWorkers = 0
    @Option(help: "Jobs each remote worker runs at once.") var remoteConcurrency = 16
    @Option(help: "Offered loads (requests/s, comma-separated) for the open-loop submit latency figure (empty: skip).")
    var offeredLoads = "500,2000"
    @Option(help: "Seconds each offered load runs.") var offeredSeconds = 5.0
    @Option(help: "Port of the embedded server (0: any free port; fix it to put nginx in front for --llm-via).")
    var port = 0
    @Option(help: "Tokens an OpenAI-compatible upstream inside the bench streams for the token-latency figure (0: skip).")
    var llmTokens = 0
    @Option(help: "Milliseconds between the upstream's tokens.") var llmTokenIntervalMs = 1.0
    @Option(help: "Port of that upstream (0: any; fix it when --server's --llm-base-url must point at it).")
    var llmUpstreamPort = 0
    @Option(help: "Also measure token latency through this URL (e.g. nginx in front of the server; TLS not verified).")
    var llmVia: String?
    @Flag(help: "Also measure token latency with the job on a remote `offload worker` (started by the bench).")
    var llmRemote = false
    @Option(help: "Finished noop jobs to fill the history with before any figure (run by the in-process workers).")
    var history = 0
    @Option(help: "Write the figures as JSON to this file.") var json: String?

    var offeredRates: [Int] { offeredLoads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    public init() {}

    public func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        guard llmTokens > 0 else {
            try await run(llm: nil)
            return
        }
        let interval = Duration.microseconds(Int64(llmTokenIntervalMs * 1000))
        try await Self.withTokenUpstream(port: llmUpstreamPort, tokens: llmTokens, interval: interval) { url, clock in
            try await run(llm: (url, clock))
        }
    }

    /// Runs every figure against `--server` or an embedded server (whose own workers use the bench's token
    /// upstream, when there is one).
    private func run(llm: (url: String, clock: TokenClock)?) async throws {
        if let server {
            guard let key = key ?? ProcessInfo.processInfo.environment["OFFLOAD_KEY"] else {
                throw ValidationError("--server needs --key or OFFLOAD_KEY")
            }
            try await measure(baseURL: server, key: key, llm: llm)
            return
        }
        let directory = NSTemporaryDirectory() + "offload-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let key = "bench-admin-" + IDGenerator().secret(bytes: 16)
        var configuration = ServerConfiguration()
        configuration.port = port
        configuration.dataDirectory = directory
        configuration.adminKey = key
        configuration.workers = workers
        configuration.announce = { _ in }
        configuration.durability = sqliteSync == "full" ? .full : .normal
        configuration.database = database
        configuration.processors = .builtIn
        var builtIns = BuiltInOptions()
        if let llm { builtIns.llm = .init(baseURL: llm.url, apiKey: nil, defaultModel: "bench") }
        configuration.inProcessWorkers = .builtIn(builtIns)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        configuration.onListening = { portContinuation.yield($0) }
        let stop = Latch<Void>()
        configuration.shutdownRequest = stop
        let app = OffloadServerApp(configuration: configuration, logger: Logger(label: "bench-server"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run(signals: []) }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ValidationError("the embedded server did not start") }
            defer { stop.set(()) }
            try await measure(baseURL: "http://127.0.0.1:\(port)", key: key, llm: llm)
        }
    }

    private func measure(baseURL: String, key: String, llm: (url: String, clock: TokenClock)?) async throws {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
            tlsConfiguration: tls,
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: max(8, concurrency))))
        do {
            try await measure(http: http, baseURL: baseURL, key: key, llm: llm)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func measure(http: HTTPClient, baseURL: String, key: String, llm: (url: String, clock: TokenClock)?) async throws {
        let submitter = Submitter(http: http, baseURL: baseURL, key: key)
        var report: [String: JSONValue] = [
            "server": .string(server ?? "embedded"), "workers": .int(Int64(workers)),
            "database": .string(database.map { (try? DatabaseLocation($0, dataDirectory: "."))?.redacted ?? "?" } ?? "sqlite (temporary)"),
        ]

        try await fillHistory(http: http, baseURL: baseURL, key: key, report: &report)
        for _ in 0..<200 { _ = try await submitter.submit("noop") }

        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        let sequentialStart = ContinuousClock.now
        for _ in 0..<submits {
            let started = ContinuousClock.now
            _ = try await submitter.submit("noop")
            latency.record(micros(ContinuousClock.now - started))
        }
        let sequentialRate = Double(submits) / seconds(ContinuousClock.now - sequentialStart)
        print(String(format: "submit latency, 1 client, %d noop jobs: p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  max %.3f ms  (%.0f submits/s)",
                     submits, ms(latency, 50), ms(latency, 95), ms(latency, 99), Double(latency.max) / 1000, sequentialRate))
        report["submitLatencyMs"] = summary(latency)
        report["sequentialSubmitsPerSecond"] = .double(sequentialRate.rounded())

        let perClient = throughputSubmits / concurrency
        let concurrentStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { for _ in 0..<perClient { _ = try await submitter.submit("noop") } }
            }
            try await group.waitForAll()
        }
        let concurrentRate = Double(perClient * concurrency) / seconds(ContinuousClock.now - concurrentStart)
        print(String(format: "submit throughput, %d clients, %d noop jobs: %.0f submits/s", concurrency, perClient * concurrency, concurrentRate))
        report["concurrentSubmitsPerSecond"] = .double(concurrentRate.rounded())
        let batches = max(1, throughputSubmits / batchSize)
        let batchStart = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<min(4, batches) {
                group.addTask {
                    for _ in stride(from: client, to: batches, by: 4) {
                        let jobs = JSONValue.array((0..<batchSize).map { n in ["processingType": "noop", "data": .int(Int64(n))] })
                        _ = try await send(http, "POST", baseURL + "/api/jobs/batch", key: key, body: ["jobs": jobs])
                    }
                }
            }
            try await group.waitForAll()
        }
        let batchRate = Double(batches * batchSize) / seconds(ContinuousClock.now - batchStart)
        print(String(format: "submit throughput, batches of %d (4 clients), %d noop jobs: %.0f jobs/s", batchSize, batches * batchSize, batchRate))
        report["batchSubmitJobsPerSecond"] = .double(batchRate.rounded())
        try await measureOfferedLoad(submit: { _ = try await submitter.submit("noop") }, report: &report)
        try await measureEndToEnd(http: http, baseURL: baseURL, key: key, report: &report)

        if follows > 0 {
            // Let the workers catch up so the follow figures measure an idle server.
            try await submitter.waitUntilIdle()
            try await follow(http: http, baseURL: baseURL, key: key, report: &report)
            try await measureSemantics(http: http, baseURL: baseURL, key: key, report: &report)
            try await measureFanOut(baseURL: baseURL, key: key, report: &report)
        }
        try await measureRemote(http: http, baseURL: baseURL, key: key, report: &report)
        if let llm {
            try await measureTokens(
                http: http, baseURL: baseURL, key: key, clock: llm.clock, label: "direct", options: ["mode": "direct"], report: &report)
            if let llmVia {
                try await measureTokens(
                    http: http, baseURL: llmVia, key: key, clock: llm.clock, label: "via \(llmVia)", options: ["mode": "direct"],
                    report: &report)
            }
            if llmRemote {
                try await measureRemoteTokens(http: http, baseURL: baseURL, key: key, llm: llm, report: &report)
            }
        }
        if let json {
            try Data(JSONValue.object(report).jsonString().utf8).write(to: URL(fileURLWithPath: json))
        }
    }

    private func follow(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        var pickup = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var firstProgress = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var finished = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        for _ in 0..<follows {
            var sawProgress = false
            var sawStart = false
            try await submitAndFollow(
                http: http, baseURL: baseURL, key: key, type: "type1", data: [["id": 1, "name": "item1"]]
            ) { kind, data, elapsed in
                if !sawStart, Self.started(kind, data) {
                    sawStart = true
                    pickup.record(micros(elapsed))
                }
                if kind == "progress", !sawProgress {
                    sawProgress = true
                    firstProgress.record(micros(elapsed))
                }
                if EventKind(rawValue: kind)?.isFinal == true { finished.record(micros(elapsed)) }
            }
        }
        print(String(format: "idle pickup (submit → PROCESSING read on the submit's own SSE stream), %d type1 jobs: p50 %.2f ms  p95 %.2f ms  p99 %.2f ms",
                     follows, ms(pickup, 50), ms(pickup, 95), ms(pickup, 99)))
        print(String(format: "submit → first SSE progress event (type1 works 100 ms first): p50 %.2f ms  p95 %.2f ms  p99 %.2f ms",
                     ms(firstProgress, 50), ms(firstProgress, 95), ms(firstProgress, 99)))
        print(String(format: "submit → final SSE event: p50 %.2f ms  p99 %.2f ms", ms(finished, 50), ms(finished, 99)))
        report["pickupMs"] = summary(pickup)
        report["firstProgressMs"] = summary(firstProgress)
        report["finishedMs"] = summary(finished)
    }

    /// Whether an event of a followed job shows it started: its PROCESSING status event. (The stream of
    /// `?stream=true` follows the job before its submit commits, so its snapshot is the job as submitted and the
    /// start always comes as an event.)
    static func started(_ kind: String, _ data: JSONValue) -> Bool {
        kind == "status" && data["status"] == "PROCESSING"
    }

    /// Submits one job with `POST /api/jobs?stream=true` (the answer is the job's SSE stream, on the same
    /// request) and calls `event` with each event's kind, data and the time since the submit was sent, until
    /// the stream ends. Pickup is then submit → start as a client sees it, with no second connection to open.
    func submitAndFollow(
        http: HTTPClient, baseURL: String, key: String, type: String, data: JSONValue, options: JSONValue = [:],
        event: (String, JSONValue, Duration) -> Void
    ) async throws {
        var request = HTTPClientRequest(url: baseURL + "/api/jobs?stream=true")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: JSONValue.object(["processingType": .string(type), "data": data, "options": options]).jsonBytes()))
        let started = ContinuousClock.now
        let response = try await http.execute(request, timeout: .seconds(60))
        guard response.status == .ok else { throw ValidationError("the streaming submit answered \(response.status.code)") }
        var parser = SSEParser()
        for try await chunk in response.body {
            let elapsed = ContinuousClock.now - started
            for sse in parser.feed(chunk.readableBytesView) {
                event(sse.event, (try? JSONValue.parse(sse.data)) ?? .null, elapsed)
            }
        }
    }

    func micros(_ duration: Duration) -> UInt64 {
        UInt64(max(1, duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000))
    }

    func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    func ms(_ histogram: Histogram<UInt64>, _ percentile: Double) -> Double {
        Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    func summary(_ histogram: Histogram<UInt64>) -> JSONValue {
        ["p50": .double(ms(histogram, 50)), "p95": .double(ms(histogram, 95)), "p99": .double(ms(histogram, 99)),
         "max": .double(Double(histogram.max) / 1000), "count": .int(Int64(histogram.totalCount))]
    }
}

/// Raw HTTP submits, so the figure is the server's and not a client library's.
private struct Submitter: Sendable {
    let http: HTTPClient
    let baseURL: String
    let key: String

    func submit(_ type: String, data: JSONValue = ["n": 1]) async throws -> String {
        var request = HTTPClientRequest(url: baseURL + "/api/jobs")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: JSONValue.object(["processingType": .string(type), "data": data]).jsonString()))
        let response = try await http.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .created, let id = try JSONValue.parse(String(buffer: body))["jobId"]?.stringValue else {
            throw ValidationError("submit answered \(response.status.code): \(String(buffer: body))")
        }
        return id
    }

    func waitUntilIdle() async throws {
        while true {
            var request = HTTPClientRequest(url: baseURL + "/api/jobs?status=PENDING&limit=1")
            request.headers.add(name: "X-API-Key", value: key)
            let response = try await http.execute(request, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            if try JSONValue.parse(String(buffer: body))["jobs"] == [] { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
