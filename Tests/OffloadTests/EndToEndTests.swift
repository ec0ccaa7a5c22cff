import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadServer
import Synchronization
import Testing

/// The admin key the end-to-end servers start with.
private let key = "e2e-admin-key-0123456789abcdef"

/// Starts `offload serve` on `directory` with the test admin key.
private func serve(_ directory: TemporaryDirectory, _ arguments: [String]) async throws -> OffloadProcess {
    try await OffloadProcess.serve(dataDir: directory.path, arguments: arguments, environment: ["OFFLOAD_ADMIN_KEY": key])
}

@Suite("End to end: the offload binary as a process", .serialized)
struct EndToEndTests {
    @Test("offload serve runs a submitted job to COMPLETED over real HTTP and exits 0 on SIGTERM")
    func submitToCompleted() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await OffloadProcess.serve(dataDir: directory.path)
        let adminKey = try #require(
            server.outputText.range(of: #"ok_[0-9a-f]{64}"#, options: .regularExpression).map { String(server.outputText[$0]) })
        let api = TestServer(baseURL: server.baseURL)
        let job = try await api.submit("type2", data: [["id": 1, "name": "item1"], ["id": 2, "name": "item2"]], key: adminKey)
        let id = try #require(job["jobId"]?.stringValue)
        let events = try await api.sse("/api/sse/job-progress/\(id)", key: adminKey)
        #expect(events.last?.event == "completed")
        let done = try await api.call("GET", "/api/jobs/\(id)", key: adminKey).json
        #expect(done["status"] == "COMPLETED")
        #expect(done["result"]?.arrayValue?.first?["startedAt"] != nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path + "/jwt-secret")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        // The second start keeps the key and prints no new one.
        let again = try await OffloadProcess.serve(dataDir: directory.path)
        #expect(try await TestServer(baseURL: again.baseURL).call("GET", "/api/jobs/\(id)", key: adminKey).json["status"] == "COMPLETED")
        #expect(!again.outputText.contains("ok_"))
        again.signal(SIGTERM)
        #expect(try await again.waitForExit() == 0)
    }

    @Test("kill -9 while jobs are being submitted loses no job that was answered 201")
    func killNine() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await serve(directory, ["--workers", "0"])
        let api = TestServer(baseURL: server.baseURL)
        let acknowledged = Locked<[String]>([])
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var n = 0
                    while true {
                        n += 1
                        guard let reply = try? await api.call(
                            "POST", "/api/jobs", key: key,
                            json: ["processingType": "noop", "data": ["worker": .int(Int64(worker)), "n": .int(Int64(n))]],
                            // A request caught by the kill can wait for its timeout; keep that short.
                            timeout: .seconds(3))
                        else { return }
                        guard reply.status == 201, let id = reply.json["jobId"]?.stringValue else { return }
                        let count = acknowledged.withLock { $0.append(id); return $0.count }
                        if count == 400 { server.signal(SIGKILL) }
                    }
                }
            }
        }
        #expect(try await server.waitForExit() == SIGKILL)
        let ids = acknowledged.withLock { $0 }
        #expect(ids.count >= 400)

        let restarted = try await serve(directory, ["--workers", "0"])
        let reader = TestServer(baseURL: restarted.baseURL)
        var stored = Set<String>()
        var cursor: String?
        repeat {
            let page = try await reader.call("GET", "/api/jobs?limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""), key: key).json
            for job in page["jobs"]?.arrayValue ?? [] { if let id = job["jobId"]?.stringValue { stored.insert(id) } }
            cursor = page["nextCursor"]?.stringValue
        } while cursor != nil
        let lost = Set(ids).subtracting(stored)
        #expect(lost.isEmpty, "lost \(lost.count) of \(ids.count) acknowledged jobs")
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
    }

    @Test("SIGTERM lets short jobs finish, hands long ones back to PENDING, and leaves none in PROCESSING")
    func gracefulShutdown() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await serve(directory, ["--workers", "2", "--shutdown-grace", "1"])
        let api = TestServer(baseURL: server.baseURL)
        let long = try #require(try await api.submit("type1", data: .array((1...100).map { ["id": .int($0)] }), key: key)["jobId"]?.stringValue)
        let short = try #require(try await api.submit("type1", data: .array((1...5).map { ["id": .int($0)] }), key: key)["jobId"]?.stringValue)
        for id in [long, short] {
            _ = try await api.waitFor(id, key: key) { $0["status"] == "PROCESSING" || $0["status"] == "COMPLETED" }
        }
        // A stream open during shutdown sees the job handed back, then ends cleanly.
        let follower = Task { try await api.sse("/api/sse/job-progress/\(long)", key: key) }
        _ = try await api.waitFor(long, key: key) { ($0["progress"]?.intValue ?? 0) >= 2 }
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        let streamed = try await follower.value
        #expect(streamed.first?.event == "snapshot")
        #expect(streamed.last?.event == "status")
        #expect(streamed.last.map { try? JSONValue.parse($0.data) }??["reason"] == "handed back")

        let restarted = try await serve(directory, ["--workers", "0"])
        let reader = TestServer(baseURL: restarted.baseURL)
        let longJob = try await reader.call("GET", "/api/jobs/\(long)", key: key).json
        #expect(longJob["status"] == "PENDING")
        #expect(longJob["attempt"] == 0)
        #expect(try await reader.call("GET", "/api/jobs/\(short)", key: key).json["status"] == "COMPLETED")
        #expect(try await reader.call("GET", "/api/jobs?status=PROCESSING", key: key).json["jobs"] == [])
        restarted.signal(SIGTERM)
        #expect(try await restarted.waitForExit() == 0)
    }

    @Test("offload submit and offload watch follow a job to COMPLETED (exit 0); watch exits 1 for a cancelled job")
    func cli() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let server = try await serve(directory, ["--workers", "1"])
        let connection = ["--server", server.baseURL, "--key", key]
        let submitted = try await OffloadProcess.run(["submit", "type1", "--data", #"[{"id":1},{"id":2},{"id":3}]"#] + connection)
        #expect(submitted.status == 0)
        let id = try #require(try JSONValue.parse(submitted.output)["jobId"]?.stringValue)
        let watched = try await OffloadProcess.run(["watch", id] + connection)
        #expect(watched.status == 0)
        #expect(watched.output.contains("100%"))
        // Not a terminal: one line per change, with the rate and time left once progress moved, no colour.
        #expect(watched.output.contains("%/s  ETA "))
        #expect(!watched.output.contains("\u{1B}["))
        #expect(watched.output.hasSuffix("COMPLETED\n"))

        let api = TestServer(baseURL: server.baseURL)
        let long = try #require(try await api.submit("type1", data: .array((1...100).map { ["id": .int($0)] }), key: key)["jobId"]?.stringValue)
        _ = try await api.waitFor(long, key: key) { $0["status"] == "PROCESSING" }
        #expect(try await api.call("POST", "/api/jobs/\(long)/cancel", key: key).status == 200)
        let cancelled = try await OffloadProcess.run(["watch", long] + connection)
        #expect(cancelled.status == 1)
        #expect(cancelled.output.contains("CANCELLED"))
        let unknown = try await OffloadProcess.run(["watch", "job_nope"] + connection)
        #expect(unknown.status != 0)

        let status = try await OffloadProcess.run(["status", long, "--json"] + connection)
        #expect(status.status == 0)
        #expect(try JSONValue.parse(status.output)["status"] == "CANCELLED")
        let table = try await OffloadProcess.run(["jobs", "--status", "cancelled"] + connection)
        #expect(table.output.hasPrefix("JOB "))
        #expect(table.output.contains(long))
        let retried = try await OffloadProcess.run(["retry", long, "--json"] + connection)
        #expect(try JSONValue.parse(retried.output)["status"] == "PENDING")
        // Cancelled again, so shutdown does not wait for its 10 s of work.
        let cancelledAgain = try await OffloadProcess.run(["cancel", long, "--json"] + connection)
        #expect(cancelledAgain.status == 0)

        #expect(try await OffloadProcess.run(["queues", "pause", "mail"] + connection).status == 0)
        #expect(try await OffloadProcess.run(["queues"] + connection).output == "mail\n")
        let off = try await OffloadProcess.run(["types", "off", "type2", "--fallback", "sync"] + connection)
        #expect(try JSONValue.parse(off.output)["fallback"] == "sync")
        #expect(try await OffloadProcess.run(["types"] + connection).output.contains("off (sync)"))
        let health = try await OffloadProcess.run(["health", "--server", server.baseURL, "--json"])
        #expect(health.status == 0)
        #expect(try JSONValue.parse(health.output) == ["live": true, "ready": true])
        #expect(try await OffloadProcess.run(["status", "job_nope"] + connection).status != 0)

        let stats = try JSONValue.parse(try await OffloadProcess.run(["stats", "--json"] + connection).output)
        #expect(stats["lastHour"]?["completed"] == 1)
        #expect(stats["queues"]?.arrayValue?.contains { $0["queue"] == "mail" && $0["paused"] == true } == true)
        let statsTable = try await OffloadProcess.run(["stats"] + connection)
        #expect(statsTable.output.hasPrefix("QUEUE "))
        #expect(statsTable.output.contains("last hour: 1 completed"))
        let created = try await OffloadProcess.run(["keys", "create", "--name", "ci", "--role", "worker", "--json"] + connection)
        let keyId = try #require(try JSONValue.parse(created.output)["id"]?.stringValue)
        #expect(try await OffloadProcess.run(["keys"] + connection).output.contains(keyId))
        #expect(try await OffloadProcess.run(["keys", "delete", keyId] + connection).status == 0)
        #expect(try await !OffloadProcess.run(["keys"] + connection).output.contains(keyId))
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
    }

    @Test("logs are one JSON object per line with jobId metadata, and no key, token or secret appears in them, even at trace level")
    func noSecretsInLogs() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let secrets = [
            "OFFLOAD_ADMIN_KEY": "e2e-admin-key-for-the-log-test-0123",
            "OFFLOAD_JWT_SECRET": "jwt-secret-for-the-log-test-0123456789abcdef",
            "OFFLOAD_WEBHOOK_SECRET": "webhook-secret-for-the-log-test-0123456789",
            "OFFLOAD_LLM_API_KEY": "sk-llm-key-for-the-log-test-0123456789",
        ]
        let server = try await OffloadProcess.serve(
            dataDir: directory.path,
            arguments: ["--workers", "1", "--log-level", "trace", "--log-format", "json", "--llm-base-url", "http://127.0.0.1:9/v1"],
            environment: secrets)
        let admin = secrets["OFFLOAD_ADMIN_KEY"]!
        let api = TestServer(baseURL: server.baseURL)
        let jwt = try #require(try await api.call("POST", "/api/auth/token", key: admin).json["token"]?.stringValue)
        let created = try await api.call("POST", "/api/keys", key: nil, bearer: jwt, json: ["name": "app", "role": "client", "tenant": "acme"])
        let clientKey = try #require(created.json["secret"]?.stringValue)
        let id = try #require(try await api.submit(
            "noop", data: 1, options: ["webhookUrl": "http://127.0.0.1:9/hook"], key: clientKey)["jobId"]?.stringValue)
        _ = try await api.waitFor(id, key: clientKey) { $0["status"] == "COMPLETED" }
        let streamToken = try #require(try await api.call("POST", "/api/jobs/\(id)/stream-token", key: clientKey).json["token"]?.stringValue)
        _ = try await api.sse("/api/sse/job-progress/\(id)?token=\(streamToken)", key: nil)
        #expect(try await api.call("GET", "/api/jobs", key: "ok_not-a-real-key-0123456789").status == 401)
        _ = try await api.call("GET", "/api/jobs", key: nil, bearer: jwt + "x")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        let log = server.logText + server.outputText
        for (name, value) in secrets { #expect(!log.contains(value), "\(name) is in the log") }
        for (name, value) in [("a JWT", jwt), ("a created key", clientKey), ("a stream token", streamToken)] {
            #expect(!log.contains(value), "\(name) is in the log")
        }
        #expect(!log.contains("ok_not-a-real-key"))
        let lines = server.logText.split(separator: "\n")
        #expect(lines.count > 10)
        for line in lines { #expect((try? JSONValue.parse(String(line)))?.objectValue != nil, "not a JSON line: \(line)") }
        #expect(lines.contains { $0.contains("\"jobId\":\"\(id)\"") })
    }
}
