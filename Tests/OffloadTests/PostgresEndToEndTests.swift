import Foundation
import OffloadClient
import OffloadCore
import OffloadStore
import Testing

/// The admin key and JWT secret the PostgreSQL end-to-end servers share.
private let key = "pg-e2e-admin-key-0123456789abcdef"
private let environment = ["OFFLOAD_ADMIN_KEY": key, "OFFLOAD_JWT_SECRET": "pg-e2e-jwt-secret-0123456789abcdef0123"]

/// Two `offload serve` processes with `arguments` on a fresh database of the shared cluster, each in a data
/// directory of its own (removed afterwards).
private func withTwoServers(_ arguments: [String], _ body: ([OffloadProcess]) async throws -> Void) async throws {
    let cluster = try await PostgresCluster.shared()
    let url = cluster.url(try await cluster.makeDatabase())
    let directories = [try TemporaryDirectory(), try TemporaryDirectory()]
    defer { for directory in directories { directory.remove() } }
    var servers: [OffloadProcess] = []
    for directory in directories {
        servers.append(try await OffloadProcess.serve(
            dataDir: directory.path, arguments: ["--database", url] + arguments, environment: environment))
    }
    try await body(servers)
}

@Suite("End to end: several offload servers on one PostgreSQL", .serialized)
struct PostgresEndToEndTests {
    @Test("two servers act as one: SSE on either sees the other's worker, and 1,000 noop jobs each run exactly once")
    func twoServers() async throws {
        try await withTwoServers(["--workers", "8"]) { servers in try await twoServersActAsOne(servers) }
    }

    private func twoServersActAsOne(_ servers: [OffloadProcess]) async throws {
        let (a, b) = (TestServer(baseURL: servers[0].baseURL), TestServer(baseURL: servers[1].baseURL))

        // Followed on both servers: whichever one runs it, the other relays every event from the database.
        let items = JSONValue.array((1...4).map { ["id": .int($0), "name": .string("item\($0)")] })
        let id = try #require(try await a.submit("type1", data: items, key: key)["jobId"]?.stringValue)
        async let onA = a.sse("/api/sse/job-progress/\(id)", key: key, lastEventId: "0")
        async let onB = b.sse("/api/sse/job-progress/\(id)", key: key, lastEventId: "0")
        let (streamA, streamB) = try await (onA, onB)
        let seqsA = streamA.dropFirst().compactMap { $0.id.flatMap(Int64.init) }
        #expect(seqsA == Array(1...Int64(seqsA.count)))
        #expect(streamA.last?.event == "completed")
        #expect(streamA.dropFirst().map(\.data) == streamB.dropFirst().map(\.data))

        // 1,000 noop jobs in batches through both servers, leased by both servers' workers at once.
        var ids: [String] = []
        for batch in 0..<10 {
            let server = batch.isMultiple(of: 2) ? a : b
            let jobs = JSONValue.array((0..<100).map { n in ["processingType": "noop", "data": ["n": .int(Int64(batch * 100 + n))]] })
            let reply = try await server.call("POST", "/api/jobs/batch", key: key, json: ["jobs": jobs])
            #expect(reply.status == 201)
            ids += reply.json["jobs"]?.arrayValue?.compactMap { $0["jobId"]?.stringValue } ?? []
        }
        #expect(ids.count == 1_000)
        var finished: [String: JSONValue] = [:]
        let deadline = ContinuousClock.now + .seconds(60)
        while finished.count < ids.count && ContinuousClock.now < deadline {
            finished = [:]
            var cursor: String?
            repeat {
                let page = try await b.call(
                    "GET", "/api/jobs?status=COMPLETED&type=noop&limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key).json
                for job in page["jobs"]?.arrayValue ?? [] { if let id = job["jobId"]?.stringValue { finished[id] = job } }
                cursor = page["nextCursor"]?.stringValue
            } while cursor != nil
            if finished.count < ids.count { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(finished.count == 1_000)
        // One lease per job: a second lease of the same job would have counted a second attempt.
        #expect(finished.values.filter { $0["attempt"] != 1 }.isEmpty)
        let workers = Set(finished.values.compactMap { $0["workerId"]?.stringValue })
        #expect(workers.count == 2, "both servers' workers took jobs: \(workers)")
        for server in servers {
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0)
        }
    }

    @Test("a PostgreSQL restart while jobs flow loses no acknowledged job and leaves none in PROCESSING")
    func restartDatabase() async throws {
        let cluster = try await PostgresCluster.offPool { try PostgresCluster() }
        defer { cluster.remove() }
        let url = cluster.url(try await cluster.makeDatabase())
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await OffloadProcess.serve(
            dataDir: directory.path, arguments: ["--database", url, "--workers", "4", "--lease-seconds", "2"],
            environment: environment)
        let api = TestServer(baseURL: server.baseURL)
        let acknowledged = Locked<[String]>([])
        let outage = Locked<(health: Int, ready: Int, batch: Int)?>(nil)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for submitter in 0..<4 {
                group.addTask {
                    var n = 0
                    while acknowledged.withLock({ $0.count }) < 600 {
                        n += 1
                        let reply = try await api.call(
                            "POST", "/api/jobs", key: key,
                            json: ["processingType": "noop", "data": ["s": .int(Int64(submitter)), "n": .int(Int64(n))]])
                        if reply.status == 201, let id = reply.json["jobId"]?.stringValue {
                            acknowledged.withLock { $0.append(id) }
                        } else {
                            #expect(reply.status == 503, "while the database is away the API answers 503")
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
            }
            group.addTask {
                while acknowledged.withLock({ $0.count }) < 200 { try await Task.sleep(for: .milliseconds(10)) }
                try await PostgresCluster.offPool { try cluster.stop() }
                let health = try await api.call("GET", "/health").status
                let ready = try await api.call("GET", "/ready").status
                // A type no processor knows is looked up among the registered workers, in the store: that
                // lookup failing is the server's trouble (503, retry), not an invalid item (422).
                let batch = try await api.call(
                    "POST", "/api/jobs/batch", key: key, json: ["jobs": [["processingType": "made.up", "data": [:]]]]).status
                outage.withLock { $0 = (health, ready, batch) }
                try await PostgresCluster.offPool { try cluster.start() }
            }
            try await group.waitForAll()
        }
        #expect(outage.withLock { $0?.health } == 200)
        #expect(outage.withLock { $0?.ready } == 503)
        #expect(outage.withLock { $0?.batch } == 503)
        let ids = acknowledged.withLock { $0 }
        for id in ids {
            let job = try await api.waitFor(id, key: key, timeout: .seconds(30)) { $0["status"] == "COMPLETED" }
            #expect(job["status"] == "COMPLETED")
        }
        #expect(try await api.call("GET", "/api/jobs?status=PROCESSING", key: key).json["jobs"] == [])
        #expect(try await api.call("GET", "/ready").status == 200)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test("one server leads the maintenance; killed with -9, the other takes the lead within seconds and sweeps expired leases")
    func leaderTakeover() async throws {
        try await withTwoServers(["--workers", "0", "--lease-seconds", "2"]) { servers in try await takeOver(servers) }
    }

    private func takeOver(_ servers: [OffloadProcess]) async throws {
        /// Each server's `offload_maintenance_leader` and its lease sweeper's rounds so far.
        func maintenance(_ server: OffloadProcess) async throws -> (leader: Double?, sweeps: Double) {
            let text = try await TestServer(baseURL: server.baseURL).call("GET", "/metrics").json.stringValue ?? ""
            return (metricSample(text, "offload_maintenance_leader"),
                    metricSample(text, #"offload_maintenance_rounds_total{service="lease-sweeper",outcome="ok"}"#) ?? 0)
        }
        var seen: [(leader: Double?, sweeps: Double)] = []
        let deadline = ContinuousClock.now + .seconds(10)
        repeat {
            seen = [try await maintenance(servers[0]), try await maintenance(servers[1])]
            if seen.map(\.leader) == [1, 0] || seen.map(\.leader) == [0, 1] { break }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        let leaderIndex = try #require(seen.firstIndex { $0.leader == 1 }, "one server leads: \(seen)")
        let (leader, follower) = (servers[leaderIndex], servers[1 - leaderIndex])
        #expect(seen[1 - leaderIndex].leader == 0)
        #expect(seen[1 - leaderIndex].sweeps == 0, "the follower runs no leader-only round")

        // A job leased by a worker that then goes silent: only a leader's sweep puts it back.
        let api = TestServer(baseURL: follower.baseURL)
        let worker = OffloadClient(baseURL: follower.baseURL, apiKey: try await api.makeKey(role: "worker", tenant: "default", key: key))
        let workerId = try await worker.registerWorker(WorkerRegistration(
            workerId: nil, name: "silent", processingTypes: ["noop"], labels: [:], maxConcurrentJobs: 1))
        let jobId = try #require(try await api.submit("noop", data: 1, key: key)["jobId"]?.stringValue)
        #expect(try await worker.leaseJobs(workerId, limit: 1, waitSeconds: 0, running: []).jobs.map(\.job.jobId) == [jobId])

        leader.signal(SIGKILL)
        _ = try await leader.waitForExit()
        let killed = ContinuousClock.now
        var led = false
        while !led && ContinuousClock.now < killed + .seconds(10) {
            led = try await maintenance(follower).leader == 1
            if !led { try await Task.sleep(for: .milliseconds(100)) }
        }
        let takeover = ContinuousClock.now - killed
        #expect(led)
        #expect(takeover < .seconds(5), "took the lead \(takeover) after the kill")
        let requeued = try await api.waitFor(jobId, key: key, timeout: .seconds(15)) { $0["status"] == "PENDING" }
        #expect(requeued["status"] == "PENDING")
        #expect(try await maintenance(follower).sweeps > 0)
        follower.signal(SIGTERM)
        #expect(try await follower.waitForExit() == 0)
    }
}
