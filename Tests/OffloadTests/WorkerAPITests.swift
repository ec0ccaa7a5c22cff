import Foundation
import OffloadClient
import OffloadCore
import OffloadServer
import OffloadWorker
import Testing

/// A worker client of a test server, registered with `types`.
private func registeredWorker(
    _ server: TestServer, types: [String] = ["noop"], labels: [String: String] = [:], max: Int = 4
) async throws -> (OffloadClient, String) {
    let client = OffloadClient(baseURL: server.baseURL, apiKey: try await server.makeKey(role: "worker", tenant: "default"))
    let id = try await client.registerWorker(WorkerRegistration(
        workerId: nil, name: "test-worker", processingTypes: types, labels: labels, maxConcurrentJobs: max))
    return (client, id)
}

@Suite("Worker API: registry, long-poll leases, reports, bundles")
struct WorkerAPITests {
    @Test("a waiting lease answers as soon as a matching job is submitted, not on a polling tick")
    func longPoll() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (worker, id) = try await registeredWorker(server)
            let started = ContinuousClock.now
            async let answer = worker.leaseJobs(id, limit: 4, waitSeconds: 30, running: [])
            // Let the lease start waiting first (were it later, it would find the job at once: the check holds either way).
            try await Task.sleep(for: .milliseconds(200))
            let submitted = try await server.submit("noop", data: ["x": 1])
            let leased = try await answer
            let elapsed = ContinuousClock.now - started
            #expect(leased.jobs.map(\.job.jobId) == [submitted["jobId"]?.stringValue])
            #expect(leased.jobs.first?.job.workerId == id)
            #expect(elapsed < .seconds(2), "the lease answered after \(elapsed)")
            // Nothing more to lease: an empty wait answers 204, which the client reads as no jobs.
            #expect(try await worker.leaseJobs(id, limit: 4, waitSeconds: 0, running: []).jobs.isEmpty)
        }
    }

    @Test("jobs go only to workers of their type and labels, never beyond a worker's max")
    func routing() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (plain, plainId) = try await registeredWorker(server, types: ["noop"], max: 2)
            let (gpu, gpuId) = try await registeredWorker(server, types: ["noop", "type1"], labels: ["gpu": "a100"], max: 2)
            let gpuJob = try await server.submit("noop", data: 1, options: ["labels": ["gpu": "a100"]])
            let typeJob = try await server.submit("type1", data: [["id": 1, "name": "a"]])
            for n in 0..<3 { _ = try await server.submit("noop", data: .int(Int64(n))) }
            let first = try await plain.leaseJobs(plainId, limit: 10, waitSeconds: 0, running: [])
            #expect(first.jobs.count == 2)
            #expect(!first.jobs.map(\.job.jobId).contains(gpuJob["jobId"]?.stringValue ?? ""))
            #expect(first.jobs.allSatisfy { $0.job.processingType == "noop" })
            let full = try await plain.leaseJobs(plainId, limit: 10, waitSeconds: 0, running: first.jobs.map(\.job.jobId))
            #expect(full.jobs.isEmpty)
            let second = try await gpu.leaseJobs(gpuId, limit: 10, waitSeconds: 0, running: [])
            #expect(Set(second.jobs.map(\.job.jobId)) == Set([gpuJob["jobId"]?.stringValue, typeJob["jobId"]?.stringValue].compactMap { $0 }))
        }
    }

    @Test("reports need the current lease token: a stale one gets 409 and changes nothing")
    func reports() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (worker, id) = try await registeredWorker(server)
            let submitted = try await server.submit("noop", data: 1)
            let jobId = try #require(submitted["jobId"]?.stringValue)
            let leased = try #require(try await worker.leaseJobs(id, limit: 1, waitSeconds: 0, running: []).jobs.first)
            let lease = LeaseRef(jobId: jobId, leaseToken: leased.leaseToken)
            #expect(try await !worker.reportEvents(lease, events: [.progress(40, message: "half"), .log("hello"), .token("hi")]))
            let stale = LeaseRef(jobId: jobId, leaseToken: "0123456789abcdef0123456789abcdef")
            await #expect(throws: OffloadError.self) { try await worker.completeJob(stale, result: "wrong") }
            let reply = try await server.call(
                "POST", "/api/jobs/\(jobId)/complete", key: nil, bearer: nil,
                json: ["leaseToken": "0123456789abcdef0123456789abcdef", "result": 1])
            #expect(reply.status == 401)
            #expect(try await server.call("GET", "/api/jobs/\(jobId)").json["progress"] == 40)
            try await worker.completeJob(lease, result: ["ok": true])
            let done = try await server.call("GET", "/api/jobs/\(jobId)").json
            #expect(done["status"] == "COMPLETED")
            #expect(done["result"] == ["ok": true])
            let events = try await server.call("GET", "/api/jobs/\(jobId)/events").json["events"]?.arrayValue ?? []
            #expect(events.compactMap { $0["kind"]?.stringValue } == ["status", "status", "progress", "log", "token", "completed"])
        }
    }

    @Test("one sync ends many jobs, refuses a stale report alone, says which job to stop and leases within capacity")
    func sync() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (worker, id) = try await registeredWorker(server, max: 3)
            var ids: [String] = []
            for n in 0..<5 { ids.append(try #require(try await server.submit("noop", data: .int(Int64(n)))["jobId"]?.stringValue)) }
            let first = try await worker.syncWorker(id, reports: [], running: [], lease: 10, waitSeconds: 0)
            #expect(first.jobs.map(\.job.jobId) == Array(ids.prefix(3)), "at most maxConcurrentJobs, in lease order")
            let leases = first.jobs.map { LeaseRef(jobId: $0.job.jobId, leaseToken: $0.leaseToken) }
            _ = try await server.call("POST", "/api/jobs/\(ids[2])/cancel")
            let stale = LeaseRef(jobId: ids[1], leaseToken: "0123456789abcdef0123456789abcdef")
            let second = try await worker.syncWorker(
                id,
                reports: [
                    SyncReport(lease: leases[0], events: [.progress(50, message: "half")], end: .complete(result: ["n": 0])),
                    SyncReport(lease: stale, end: .complete(result: "wrong")),
                    SyncReport(lease: leases[1], end: .fail(error: "boom", result: nil, retry: .never)),
                    SyncReport(lease: leases[2], events: [.log("still here")]),
                ],
                running: ids.prefix(3).map { $0 }, lease: 10, waitSeconds: 0)
            #expect(second.reports.count == 4)
            #expect(try second.reports[0].get() == false)
            #expect(throws: OffloadError.self) { try second.reports[1].get() }
            if case .failure(let error) = second.reports[1] { #expect(error.code == "conflict") }
            #expect(try second.reports[2].get() == false)
            #expect(try second.reports[3].get() == true, "the events' answer says the cancel was requested")
            #expect(second.cancel == [ids[2]])
            // Two ended, one still held: two free slots for the two jobs left.
            #expect(second.jobs.map(\.job.jobId) == [ids[3], ids[4]])
            let done = try await server.call("GET", "/api/jobs/\(ids[0])").json
            #expect(done["status"] == "COMPLETED")
            #expect(done["result"] == ["n": 0])
            let events = try await server.call("GET", "/api/jobs/\(ids[0])/events").json["events"]?.arrayValue ?? []
            #expect(events.compactMap { $0["kind"]?.stringValue } == ["status", "status", "progress", "completed"])
            #expect(try await server.call("GET", "/api/jobs/\(ids[1])").json["status"] == "FAILED")
            // Two reports of one job in one sync go in the order sent: its events, then its end.
            let third = try await worker.syncWorker(id, reports: [], running: [ids[2]], lease: 1, waitSeconds: 0)
            let fourth = try #require(second.jobs.first.map { LeaseRef(jobId: $0.job.jobId, leaseToken: $0.leaseToken) })
            #expect(third.jobs.isEmpty, "full: ids[2], ids[3] and ids[4] are held")
            let ordered = try await worker.syncWorker(
                id,
                reports: [
                    SyncReport(lease: fourth, events: (1...20).map { .log("line \($0)") }),
                    SyncReport(lease: fourth, end: .complete(result: "done")),
                ],
                running: [ids[2], ids[3], ids[4]], lease: 0, waitSeconds: 0)
            #expect(ordered.reports.allSatisfy { (try? $0.get()) != nil })
            let logged = try await server.call("GET", "/api/jobs/\(ids[3])/events").json["events"]?.arrayValue ?? []
            #expect(logged.compactMap { $0["kind"]?.stringValue }.suffix(21) == Array(repeating: "log", count: 20) + ["completed"])
            // A malformed report fails the whole request, before anything is applied.
            let bad = try await server.call(
                "POST", "/api/workers/\(id)/sync", key: server.makeKey(role: "worker", tenant: "default"),
                json: ["running": [], "reports": [["jobId": .string(ids[4]), "leaseToken": "x", "end": "finish"]]])
            #expect(bad.status == 400)
            #expect(try await server.call("GET", "/api/jobs/\(ids[4])").json["status"] == "PROCESSING")
        }
    }

    @Test("the agent's source ends jobs whose results are too large together by sending them one by one")
    func largeResultsApart() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.maxBodyBytes = 1_000_000
        }) { server in
            let client = OffloadClient(baseURL: server.baseURL, apiKey: try await server.makeKey(role: "worker", tenant: "default"))
            let source = RemoteJobSource(client: client, registration: WorkerRegistration(
                workerId: nil, name: "large", processingTypes: ["noop"], labels: [:], maxConcurrentJobs: 4))
            try await source.register()
            for n in 0..<2 { _ = try await server.submit("noop", data: .int(Int64(n))) }
            let leased = try await source.lease(limit: 2, wait: .zero)
            #expect(leased.count == 2)
            // 600 KB each: one fits the 1 MB body limit, both together do not.
            let result = JSONValue.string(String(repeating: "x", count: 600_000))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for job in leased {
                    group.addTask { try await source.complete(LeaseRef(jobId: job.job.jobId, leaseToken: job.leaseToken), result: result) }
                }
                try await group.waitForAll()
            }
            for job in leased {
                let stored = try await server.call("GET", "/api/jobs/\(job.job.jobId)").json
                #expect(stored["status"] == "COMPLETED")
                #expect(stored["result"] == result)
            }
        }
    }

    @Test("capacity is the server's record: a worker that claims to run nothing gets no job beyond its max, and leases it no longer lists are handed back")
    func capacityAndReconcile() async throws {
        try await TestServer.with(configure: {
            $0.workers = 0
            $0.workerReconcileGrace = 0
        }) { server in
            let (worker, id) = try await registeredWorker(server, max: 1)
            let a = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            let b = try #require(try await server.submit("noop", data: 2)["jobId"]?.stringValue)
            let leased = try await worker.leaseJobs(id, limit: 1, waitSeconds: 0, running: [a])
            #expect(leased.jobs.map(\.job.jobId) == [a])
            // The simple protocol without jobIds: no reconcile, and the server's record says the worker is full.
            let key = try await server.makeKey(role: "worker", tenant: "default")
            let empty = try await server.call("POST", "/api/workers/\(id)/lease?wait=0", key: key, json: [:])
            #expect(empty.status == 204)
            #expect(try await server.call("GET", "/api/jobs/\(b)").json["status"] == "PENDING")
            // A sync that lists nothing: the lease of a is handed back (the attempt does not count) and a job leased.
            let synced = try await worker.syncWorker(id, reports: [], running: [], lease: 1, waitSeconds: 0)
            #expect(synced.jobs.count == 1)
            let job = try await server.call("GET", "/api/jobs/\(a)").json
            #expect(job["status"] == (synced.jobs.first?.job.jobId == a ? "PROCESSING" : "PENDING"))
            let stale = LeaseRef(jobId: a, leaseToken: try #require(leased.jobs.first?.leaseToken))
            await #expect(throws: OffloadError.self) { try await worker.completeJob(stale, result: 1) }
        }
    }

    @Test("a cancel of a running job ends the worker's waiting lease call at once, and its heartbeat says so too")
    func cancelReachesWorker() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (worker, id) = try await registeredWorker(server)
            let jobId = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            _ = try await worker.leaseJobs(id, limit: 1, waitSeconds: 0, running: [])
            let started = ContinuousClock.now
            async let waiting = worker.leaseJobs(id, limit: 3, waitSeconds: 30, running: [jobId])
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await server.call("POST", "/api/jobs/\(jobId)/cancel").status == 200)
            let answer = try await waiting
            #expect(answer.cancel == [jobId])
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(try await worker.workerHeartbeat(id, jobIds: [jobId]) == [jobId])

            // A lease call that brings word to stop one job still leases new work for the free slots.
            let next = try #require(try await server.submit("noop", data: 2)["jobId"]?.stringValue)
            let both = try await worker.leaseJobs(id, limit: 3, waitSeconds: 30, running: [jobId])
            #expect(both.cancel == [jobId])
            #expect(both.jobs.map(\.job.jobId) == [next])
        }
    }

    @Test("the registry lists workers with status and current jobs; a paused worker gets nothing")
    func registry() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let (worker, id) = try await registeredWorker(server, labels: ["zone": "eu"])
            let admin = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
            let paused = try await admin.setWorker(id, paused: true)
            #expect(paused["status"] == "paused")
            let jobId = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            #expect(try await worker.leaseJobs(id, limit: 1, waitSeconds: 1, running: []).jobs.isEmpty)
            _ = try await admin.setWorker(id, paused: false)
            let leased = try await worker.leaseJobs(id, limit: 1, waitSeconds: 1, running: [])
            #expect(leased.jobs.map(\.job.jobId) == [jobId])
            let listed = try #require(try await admin.workers().first { $0["workerId"]?.stringValue == id })
            #expect(listed["status"] == "active")
            #expect(listed["currentJobs"] == [.string(jobId)])
            #expect(listed["labels"] == ["zone": "eu", "mode": "distributed"])
            #expect(listed["maxConcurrentJobs"] == 4)
            #expect(try await server.call("GET", "/api/workers", key: try await server.makeKey(role: "client", tenant: "a")).status == 403)
            try await worker.deregisterWorker(id)
            #expect(try await admin.workers().isEmpty)
            await #expect(throws: OffloadError.notFound("no worker \(id)")) { try await worker.workerHeartbeat(id, jobIds: []) }
        }
    }

    @Test("options.mode picks the server's own workers (direct) or remote ones (distributed)")
    func modes() async throws {
        try await TestServer.with(configure: { $0.workers = 2 }) { server in
            let direct = try #require(try await server.submit("noop", data: 1, options: ["mode": "direct"])["jobId"]?.stringValue)
            let done = try await server.waitFor(direct) { $0["status"] == "COMPLETED" }
            #expect(done["workerId"]?.stringValue?.hasPrefix("inprocess-") == true)
            let remoteOnly = try #require(try await server.submit("noop", data: 2, options: ["mode": "distributed"])["jobId"]?.stringValue)
            let (worker, id) = try await registeredWorker(server)
            let leased = try await worker.leaseJobs(id, limit: 1, waitSeconds: 5, running: [])
            #expect(leased.jobs.map(\.job.jobId) == [remoteOnly])
            let bad = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["mode": "nearby"]])
            #expect(bad.status == 422)
        }
    }

    @Test("the server's in-process workers are in the registry; paused, they lease nothing until resumed")
    func inProcessPresence() async throws {
        try await TestServer.with(configure: { $0.workers = 3 }) { server in
            let admin = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
            let inProcess = try await admin.workers().first { $0["workerId"]?.stringValue?.hasPrefix("inprocess-") == true }
            let worker = try #require(inProcess, "the in-process workers are registered before the server listens")
            #expect(worker["labels"] == ["mode": "direct"])
            #expect(worker["maxConcurrentJobs"] == 3)
            #expect(worker["processingTypes"]?.arrayValue?.contains("noop") == true)
            let id = try #require(worker["workerId"]?.stringValue)
            // This server's pause reaches its workers at once, even their lease calls already waiting.
            _ = try await admin.setWorker(id, paused: true)
            let jobId = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            // Three idle workers would take a noop within milliseconds; a second of PENDING shows they do not.
            try await Task.sleep(for: .seconds(1))
            #expect(try await server.call("GET", "/api/jobs/\(jobId)").json["status"] == "PENDING")
            _ = try await admin.setWorker(id, paused: false)
            let done = try await server.waitFor(jobId, timeout: .seconds(10)) { $0["status"] == "COMPLETED" }
            #expect(done["workerId"]?.stringValue == id)
        }
    }

    @Test("a type no server processor knows is accepted once a registered worker declares it")
    func customTypes() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            #expect(try await server.call("POST", "/api/jobs", json: ["processingType": "resize", "data": 1]).status == 422)
            let (worker, id) = try await registeredWorker(server, types: ["resize"])
            let jobId = try #require(try await server.submit("resize", data: ["w": 10])["jobId"]?.stringValue)
            #expect(try await worker.leaseJobs(id, limit: 1, waitSeconds: 1, running: []).jobs.map(\.job.jobId) == [jobId])
        }
    }

    @Test("bundles: a ZIP is stored and served to workers; zip-slip, absolute paths and links out are refused")
    func bundles() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let client = OffloadClient(baseURL: server.baseURL, apiKey: try await server.makeKey(role: "client", tenant: "acme"))
            let zip = try makeZip([ZipEntry(path: "run.sh", content: "echo hi\n"), ZipEntry(path: "lib/", isDirectory: true)])
            let uploaded = try await client.uploadFile(zip)
            #expect(uploaded.size == zip.count)
            let (worker, _) = try await registeredWorker(server)
            #expect(try await worker.downloadFile(uploaded.fileId) == zip)
            let other = OffloadClient(baseURL: server.baseURL, apiKey: try await server.makeKey(role: "client", tenant: "other"))
            await #expect(throws: OffloadError.notFound("no file \(uploaded.fileId)")) { try await other.downloadFile(uploaded.fileId) }

            let unsafe: [(ZipEntry, String)] = [
                (ZipEntry(path: "../evil.sh", content: "x"), "leads outside the bundle"),
                (ZipEntry(path: "a/../../evil", content: "x"), "leads outside the bundle"),
                (ZipEntry(path: "/etc/evil", content: "x"), "absolute paths are not allowed"),
                (ZipEntry(path: "link", content: "/etc/passwd", isLink: true), "absolute paths are not allowed"),
                (ZipEntry(path: "sub/link", content: "../../outside", isLink: true), "leads outside the bundle"),
            ]
            for (entry, message) in unsafe {
                do {
                    _ = try await client.uploadFile(try makeZip([entry]))
                    Issue.record("the bundle with \(entry.path) was accepted")
                } catch OffloadError.unprocessable(let text) {
                    #expect(text.contains(message), "\(entry.path): \(text)")
                }
            }
            _ = try await client.uploadFile(try makeZip([ZipEntry(path: "sub/link", content: "../run.sh", isLink: true)]))
            await #expect(throws: OffloadError.unprocessable("the bundle is not a ZIP archive")) {
                try await client.uploadFile(Array("not a zip".utf8))
            }
            let missing = try await server.call(
                "POST", "/api/jobs", json: ["processingType": "shell", "data": ["bundleId": "file_nope", "commands": ["ls"]]])
            #expect(missing.status == 422)
        }
    }
}
