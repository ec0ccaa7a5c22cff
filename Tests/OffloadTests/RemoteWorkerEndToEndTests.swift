import Foundation
import OffloadClient
import OffloadCore
import Testing

/// A server process without in-process workers, and `offload worker` processes beside it.
private struct Cluster {
    let directory: TemporaryDirectory
    let server: OffloadProcess
    let api: TestServer
    let workerKey: String

    static func start(leaseSeconds: Int = 2, port: Int = 0, directory: TemporaryDirectory? = nil) async throws -> Cluster {
        let directory = try directory ?? TemporaryDirectory()
        let server = try await OffloadProcess.serve(
            dataDir: directory.path, arguments: ["--workers", "0", "--lease-seconds", "\(leaseSeconds)", "--port", "\(port)"],
            environment: ["OFFLOAD_ADMIN_KEY": TestServer.adminKey])
        let api = TestServer(baseURL: server.baseURL)
        return Cluster(directory: directory, server: server, api: api, workerKey: try await api.makeKey(role: "worker", tenant: "default"))
    }

    func worker(_ name: String, _ arguments: [String] = [], environment: [String: String] = [:]) async throws -> OffloadProcess {
        try await OffloadProcess.worker(
            server: server.baseURL, key: workerKey, directory: directory.path, name: name,
            arguments: ["--allow-shell", "--heartbeat-seconds", "0.5", "--concurrency", "2", "--log-level", "debug"] + arguments,
            environment: environment)
    }

    func workerId(_ name: String) -> String? { OffloadProcess.workerId(directory: directory.path, name: name) }

    /// Uploads a bundle and submits a shell job on it.
    func shellJob(_ files: [ZipEntry], commands: [String], options: JSONValue = [:]) async throws -> String {
        let client = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
        var data: [String: JSONValue] = ["commands": .array(commands.map(JSONValue.string))]
        if !files.isEmpty { data["bundleId"] = .string(try await client.uploadFile(try makeZip(files)).fileId) }
        return try #require(try await api.submit("shell", data: .object(data), options: options)["jobId"]?.stringValue)
    }

    /// The log lines of a job so far.
    func logLines(_ jobId: String) async throws -> [String] {
        let events = try await api.call("GET", "/api/jobs/\(jobId)/events").json["events"]?.arrayValue ?? []
        return events.filter { $0["kind"] == "log" }.compactMap { $0["data"]?["line"]?.stringValue }
    }

    /// Waits (bounded) for a log line starting with `prefix`.
    func waitForLine(_ jobId: String, prefix: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let line = try await logLines(jobId).first(where: { $0.hasPrefix(prefix) }) { return line }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("job \(jobId) logged no line starting with \(prefix)")
    }
}

@Suite("End to end: remote workers (offload worker processes)", .serialized)
struct RemoteWorkerEndToEndTests {
    @Test("a shell job on a remote worker streams its output live over SSE, line by line")
    func liveShellOutput() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.directory.remove() }
        let workers = [try await cluster.worker("w1"), try await cluster.worker("w2")]
        let id = try await cluster.shellJob(
            [ZipEntry(path: "count.sh", content: "for i in 1 2 3 4 5 6; do echo \"tick $i\"; sleep 0.4; done\n")],
            commands: ["sh count.sh"])
        let client = OffloadClient(baseURL: cluster.server.baseURL, apiKey: TestServer.adminKey)
        var arrivals: [(String, ContinuousClock.Instant)] = []
        var final: Job?
        for try await update in client.watch(id, resumeFrom: 0) {
            switch update {
            case .event(_, .log, let data): arrivals.append((data["line"]?.stringValue ?? "", .now))
            case .event(_, .completed, let data): final = try Job(json: data)
            default: break
            }
        }
        let finishedAt = ContinuousClock.now
        #expect(arrivals.map(\.0) == (1...6).map { "tick \($0)" })
        // Live: the first line came about 2 s before the end, not in one lump with the result.
        let first = try #require(arrivals.first?.1)
        #expect(finishedAt - first > .seconds(1.2), "the first line arrived only \(finishedAt - first) before the end")
        #expect(final?.status == .completed)
        #expect([cluster.workerId("w1"), cluster.workerId("w2")].contains(final?.workerId))
        #expect(final?.result?["commands"]?.arrayValue?.first?["exitCode"] == 0)

        // The real server refuses a zip-slip bundle too.
        let uploader = OffloadClient(baseURL: cluster.server.baseURL, apiKey: TestServer.adminKey)
        await #expect(throws: OffloadError.self) { _ = try await uploader.uploadFile(try makeZip([ZipEntry(path: "../../x", content: "x")])) }
        for worker in workers { worker.signal(SIGTERM) }
        for worker in workers { #expect(try await worker.waitForExit() == 0) }
    }

    @Test("kill -9 of a worker mid-job: the job completes on the other worker once its lease expires")
    func killNineWorker() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.directory.remove() }
        let workers = ["w1": try await cluster.worker("w1"), "w2": try await cluster.worker("w2")]
        let id = try await cluster.shellJob([], commands: ["echo started; sleep 2; echo finished"])
        let running = try await cluster.api.waitFor(id) { $0["status"] == "PROCESSING" }
        let victimId = try #require(running["workerId"]?.stringValue)
        let victim = try #require(workers.first { cluster.workerId($0.key) == victimId })
        victim.value.signal(SIGKILL)
        #expect(try await victim.value.waitForExit() == SIGKILL)
        let done = try await cluster.api.waitFor(id, timeout: .seconds(30)) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
        #expect(done["status"] == "COMPLETED")
        #expect(done["attempt"] == 2, "\(done.jsonString())")
        #expect(done["workerId"]?.stringValue != victimId)
        #expect(done["errors"]?.arrayValue?.first?["error"]?.stringValue?.contains("lease expired") == true)
        let survivor = try #require(workers.first { $0.key != victim.key })
        survivor.value.signal(SIGTERM)
        #expect(try await survivor.value.waitForExit() == 0)
    }

    @Test("cancel of a running shell job reaches the remote worker and kills its child processes")
    func cancelKillsChildren() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.directory.remove() }
        let worker = try await cluster.worker("w1")
        let id = try await cluster.shellJob([], commands: ["sleep 300 & echo \"child $!\"; echo \"shell $$\"; wait"])
        let child = try #require(Int32(try await cluster.waitForLine(id, prefix: "child ").dropFirst("child ".count)))
        let shell = try #require(Int32(try await cluster.waitForLine(id, prefix: "shell ").dropFirst("shell ".count)))
        #expect(!processIsGone(child))
        let started = ContinuousClock.now
        #expect(try await cluster.api.call("POST", "/api/jobs/\(id)/cancel").status == 200)
        let cancelled = try await cluster.api.waitFor(id) { $0["status"] == "CANCELLED" }
        #expect(cancelled["status"] == "CANCELLED")
        #expect(ContinuousClock.now - started < .seconds(5))
        #expect(try await waitUntilGone(child), "the background sleep \(child) survived the cancel")
        #expect(try await waitUntilGone(shell), "the shell \(shell) survived the cancel")
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
    }

    @Test("SIGTERM drains: the running job finishes, the worker leaves the registry, and a restart keeps its id")
    func drain() async throws {
        let cluster = try await Cluster.start(leaseSeconds: 10)
        defer { cluster.directory.remove() }
        let worker = try await cluster.worker("w1", ["--shutdown-grace", "20"])
        let firstId = try #require(cluster.workerId("w1"))
        let id = try await cluster.shellJob([], commands: ["echo started; sleep 1; echo finished"])
        // Running on the worker (a job leased but not started at SIGTERM is handed back instead).
        _ = try await cluster.waitForLine(id, prefix: "started")
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
        let done = try await cluster.api.call("GET", "/api/jobs/\(id)").json
        #expect(done["status"] == "COMPLETED")
        #expect(done["attempt"] == 1)
        let admin = OffloadClient(baseURL: cluster.server.baseURL, apiKey: TestServer.adminKey)
        #expect(try await admin.workers().isEmpty)
        // The workers log at debug level here (ServiceGroup lists its services there): never the key.
        #expect(!worker.logText.contains(cluster.workerKey))
        #expect(worker.logText.contains("worker draining"))
        let again = try await cluster.worker("w1")
        #expect(cluster.workerId("w1") == firstId)
        #expect(try await admin.workers().map { $0["workerId"]?.stringValue } == [firstId])
        let listed = try await OffloadProcess.run(["workers", "--server", cluster.server.baseURL, "--key", TestServer.adminKey])
        #expect(listed.status == 0)
        #expect(listed.output.contains(firstId) && listed.output.contains("active") && listed.output.contains("mode=distributed"))
        again.signal(SIGTERM)
        #expect(try await again.waitForExit() == 0)
    }

    @Test("a result the worker could not deliver while the server was down is delivered once it is back")
    func resultSurvivesServerRestart() async throws {
        let port = try freeLoopbackPort()
        let cluster = try await Cluster.start(leaseSeconds: 30, port: port)
        defer { cluster.directory.remove() }
        let worker = try await cluster.worker("w1")
        let id = try await cluster.shellJob([], commands: ["echo started; sleep 1.5; echo finished"])
        _ = try await cluster.waitForLine(id, prefix: "started")
        cluster.server.signal(SIGKILL)
        #expect(try await cluster.server.waitForExit() == SIGKILL)
        // The job ends while the server is away: the worker keeps its reports and retries them.
        let deadline = ContinuousClock.now + .seconds(20)
        while !worker.logText.contains("report failed, retrying") && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(worker.logText.contains("report failed, retrying"))
        let restarted = try await Cluster.start(leaseSeconds: 30, port: port, directory: cluster.directory)
        let done = try await restarted.api.waitFor(id, timeout: .seconds(30)) { $0["status"] == "COMPLETED" }
        #expect(done["attempt"] == 1, "\(done.jsonString())")
        #expect(done["result"]?["commands"]?.arrayValue?.first?["exitCode"] == 0)
        worker.signal(SIGTERM)
        #expect(try await worker.waitForExit() == 0)
    }

    @Test("SIGTERM while the server is down: the worker gives its reports up after twice its grace and exits; the job runs again")
    func drainWithoutServer() async throws {
        let port = try freeLoopbackPort()
        let cluster = try await Cluster.start(leaseSeconds: 2, port: port)
        defer { cluster.directory.remove() }
        let worker = try await cluster.worker("w1", ["--shutdown-grace", "1"])
        let id = try await cluster.shellJob([], commands: ["echo started; sleep 30"])
        _ = try await cluster.waitForLine(id, prefix: "started")
        cluster.server.signal(SIGKILL)
        #expect(try await cluster.server.waitForExit() == SIGKILL)
        worker.signal(SIGTERM)
        // Grace 1 s for the job, 1 s for its hand-back (and one backoff of at most 5 s): without a bound on
        // the reports at shutdown, the release was retried for 10 minutes.
        #expect(try await worker.waitForExit(timeout: .seconds(15)) == 0)
        #expect(worker.logText.contains("report given up at shutdown"))
        let restarted = try await Cluster.start(leaseSeconds: 2, port: port, directory: cluster.directory)
        let again = try await restarted.worker("w2", ["--shutdown-grace", "1"])
        let rerun = try await restarted.api.waitFor(id, timeout: .seconds(30)) { $0["status"] == "PROCESSING" && $0["attempt"] == 2 }
        #expect(rerun["workerId"]?.stringValue == restarted.workerId("w2"), "\(rerun.jsonString())")
        again.signal(SIGTERM)
        #expect(try await again.waitForExit() == 0)
    }

    @Test("llm.chat on a remote worker: tokens stream back, a refused key fails at once, 429 waits for Retry-After")
    func remoteLLM() async throws {
        try await FakeLLM.with { fake in
            let cluster = try await Cluster.start(leaseSeconds: 10)
            defer { cluster.directory.remove() }
            let worker = try await cluster.worker(
                "llm", ["--llm-base-url", fake.baseURL, "--llm-model", "fake", "--http-allow", "127.0.0.1:\(fake.port)"],
                environment: ["OFFLOAD_LLM_API_KEY": FakeLLM.apiKey])
            let messages: JSONValue = [["role": "user", "content": "hi"]]
            let id = try #require(try await cluster.api.submit("llm.chat", data: ["messages": messages])["jobId"]?.stringValue)
            let done = try await cluster.api.waitFor(id) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
            #expect(done["result"]?["text"] == "Hello, world!", "\(done.jsonString())")
            let events = try await cluster.api.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            #expect(events.filter { $0["kind"] == "token" }.count == 4)

            let refused = try #require(try await cluster.api.submit("llm.chat", data: ["messages": messages, "model": "unauthorized"])["jobId"]?.stringValue)
            let failed = try await cluster.api.waitFor(refused) { $0["status"] == "FAILED" }
            #expect(failed["attempt"] == 1)
            let limited = try #require(try await cluster.api.submit("llm.chat", data: ["messages": messages, "model": "ratelimited"])["jobId"]?.stringValue)
            let waiting = try await cluster.api.waitFor(limited) { $0["status"] == "PENDING" && $0["attempt"] == 1 }
            let runAt = try #require(waiting["runAt"]?.stringValue.flatMap(Timestamps.parse))
            let failedAt = try #require(waiting["errors"]?.arrayValue?.first?["at"]?.stringValue.flatMap(Timestamps.parse))
            #expect(runAt.timeIntervalSince(failedAt) >= 1.99)
            _ = try await cluster.api.call("POST", "/api/jobs/\(limited)/cancel")

            let broken = try #require(try await cluster.api.submit(
                "llm.chat", data: ["messages": messages, "model": "broken"], options: ["maxAttempts": 2])["jobId"]?.stringValue)
            let retried = try await cluster.api.waitFor(broken, timeout: .seconds(30)) { $0["status"] == "FAILED" }
            #expect(retried["attempt"] == 2)
            #expect(retried["error"]?.stringValue?.contains("answered 500") == true)

            // Cancel reaches the remote worker, which closes its upstream connection.
            let before = fake.sent.withLock { $0.count }
            let slow = try #require(try await cluster.api.submit("llm.chat", data: ["messages": messages, "model": "slow"])["jobId"]?.stringValue)
            let deadline = ContinuousClock.now + .seconds(10)
            while fake.sent.withLock({ $0.count }) < before + 3 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(try await cluster.api.call("POST", "/api/jobs/\(slow)/cancel").status == 200)
            _ = try await cluster.api.waitFor(slow) { $0["status"] == "CANCELLED" }
            while fake.disconnects.withLock({ $0 }) == 0 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(fake.disconnects.withLock { $0 } == 1)

            let call = try #require(try await cluster.api.submit(
                "http", data: ["url": .string("http://127.0.0.1:\(fake.port)/echo"), "method": "POST", "body": "ping"])["jobId"]?.stringValue)
            let answered = try await cluster.api.waitFor(call) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
            #expect(answered["result"]?["body"]?["body"] == "ping", "\(answered.jsonString())")
            // The worker's LLM key never reaches its log, even at debug level.
            #expect(!worker.logText.contains(FakeLLM.apiKey))
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit() == 0)
        }
    }
}
