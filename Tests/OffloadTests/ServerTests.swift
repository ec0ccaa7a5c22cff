import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadServer
import Testing

@Suite("HTTP API against a real server")
struct ServerTests {
    @Test("calls without credentials get 401 in the API's error shape; /health and /ready are open")
    func unauthenticated() async throws {
        try await TestServer.with { server in
            let reply = try await server.call("GET", "/api/jobs", key: nil)
            #expect(reply.status == 401)
            #expect(reply.json["error"]?["code"] == "unauthorized")
            #expect(reply.json["error"]?["message"]?.stringValue?.isEmpty == false)
            #expect(try await server.call("GET", "/api/jobs", key: "wrong").status == 401)
            #expect(try await server.call("GET", "/health", key: nil).status == 200)
            #expect(try await server.call("GET", "/ready", key: nil).json == ["status": "ready"])
            let missing = try await server.call("GET", "/no/such/route")
            #expect(missing.status == 404)
            #expect(missing.json["error"]?["code"] == "not_found")
        }
    }

    @Test("an API key exchanges for a 1800 s JWT that authorizes calls; a forged one does not")
    func tokens() async throws {
        try await TestServer.with { server in
            let reply = try await server.call("POST", "/api/auth/token")
            #expect(reply.status == 200)
            #expect(reply.json["expiresIn"] == 1800)
            let token = try #require(reply.json["token"]?.stringValue)
            #expect(try await server.call("GET", "/api/jobs", key: nil, bearer: token).status == 200)
            #expect(try await server.call("GET", "/api/jobs", key: nil, bearer: token + "x").status == 401)
            #expect(try await server.call("POST", "/api/auth/token", key: "nope").status == 401)
        }
    }

    @Test("bad submissions get 400, 413 and 422 with clear messages, and nothing is stored")
    func validation() async throws {
        try await TestServer.with { server in
            let malformed = try await server.call("POST", "/api/jobs", body: "{\"processingType\": ")
            #expect(malformed.status == 400)
            #expect(malformed.json["error"]?["code"] == "bad_request")
            let missing = try await server.call("POST", "/api/jobs", json: ["data": [1]])
            #expect(missing.status == 400)
            #expect(missing.json["error"]?["message"]?.stringValue?.contains("processingType") == true)
            let unknown = try await server.call("POST", "/api/jobs", json: ["processingType": "type9", "data": []])
            #expect(unknown.status == 422)
            #expect(unknown.json["error"]?["message"]?.stringValue?.contains("type9") == true)
            let badData = try await server.call("POST", "/api/jobs", json: ["processingType": "type1", "data": "x"])
            #expect(badData.status == 422)
            let badOption = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["priority": "high"]])
            #expect(badOption.status == 422)
            let typo = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["priorty": 5]])
            #expect(typo.status == 422)
            #expect(typo.json["error"]?["message"]?.stringValue?.contains("unknown option 'priorty'") == true)
            let field = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "dependsOn": ["job_x"]])
            #expect(field.status == 422)
            #expect(field.json["error"]?["message"]?.stringValue?.contains("unknown field 'dependsOn'") == true)
            let badQueue = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["queue": "files/é"]])
            #expect(badQueue.status == 422)
            let big = "{\"processingType\":\"noop\",\"data\":\"" + String(repeating: "a", count: 10 * 1024 * 1024) + "\"}"
            let tooLarge = try await server.call("POST", "/api/jobs", body: big)
            #expect(tooLarge.status == 413)
            #expect(tooLarge.json["error"]?["code"] == "payload_too_large")
            #expect(try await server.call("GET", "/api/jobs").json["jobs"] == [])
        }
    }

    @Test("a client key sees only its own tenant's jobs (404 otherwise)")
    func tenantIsolation() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let acme = try await server.makeKey(role: "client", tenant: "acme")
            let other = try await server.makeKey(role: "client", tenant: "other")
            let job = try await server.submit("noop", data: 1, key: acme)
            let id = try #require(job["jobId"]?.stringValue)
            #expect(job["tenant"] == "acme")
            #expect(try await server.call("GET", "/api/jobs/\(id)", key: acme).status == 200)
            for (method, path) in [
                ("GET", "/api/jobs/\(id)"), ("POST", "/api/jobs/\(id)/cancel"), ("GET", "/api/jobs/\(id)/events"),
                ("GET", "/api/sse/job-progress/\(id)"), ("POST", "/api/jobs/\(id)/stream-token"),
            ] {
                let reply = try await server.call(method, path, key: other)
                #expect(reply.status == 404, "\(method) \(path)")
            }
            #expect(try await server.call("GET", "/api/jobs", key: other).json["jobs"] == [])
            #expect(try await server.call("GET", "/api/jobs", key: acme).json["jobs"]?.arrayValue?.count == 1)
            #expect(try await server.call("GET", "/api/jobs").json["jobs"]?.arrayValue?.count == 1)
        }
    }

    @Test("roles: a worker key cannot submit, a client key cannot manage keys; an admin can create and delete keys")
    func roles() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let worker = try await server.makeKey(role: "worker", tenant: "acme")
            let client = try await server.makeKey(role: "client", tenant: "acme")
            #expect(try await server.call("POST", "/api/jobs", key: worker, json: ["processingType": "noop"]).status == 403)
            #expect(try await server.call("GET", "/api/keys", key: client).status == 403)
            let keys = try await server.call("GET", "/api/keys").json["keys"]?.arrayValue ?? []
            #expect(keys.count == 3)
            #expect(keys.allSatisfy { $0["secret"] == nil })
            let clientId = try #require(keys.first { $0["role"] == "client" }?["id"]?.stringValue)
            #expect(try await server.call("DELETE", "/api/keys/\(clientId)").status == 204)
            #expect(try await server.call("GET", "/api/jobs", key: client).status == 401)
            #expect(try await server.call("DELETE", "/api/keys/\(clientId)").status == 404)
            let badRole = try await server.call("POST", "/api/keys", json: ["name": "x", "role": "root"])
            #expect(badRole.status == 400)
        }
    }

    @Test("a type1 job runs to COMPLETED; SSE sends the snapshot, every later event in order with its id, and closes")
    func sseLifecycle() async throws {
        try await TestServer.with { server in
            let job = try await server.submit("type1", data: [["id": 1], ["id": 2], ["id": 3], ["id": 4]])
            let id = try #require(job["jobId"]?.stringValue)
            let events = try await server.sse("/api/sse/job-progress/\(id)")
            let snapshot = try #require(events.first)
            #expect(snapshot.event == "snapshot")
            let start = try #require(snapshot.id.flatMap(Int64.init))
            let rest = Array(events.dropFirst())
            #expect(rest.compactMap { $0.id.flatMap(Int64.init) } == Array((start + 1)...(start + Int64(rest.count))))
            #expect(rest.last?.event == "completed")
            #expect(rest.filter { $0.event == "progress" }.count >= 1)
            let final = try JSONValue.parse(try #require(rest.last).data)
            #expect(final["status"] == "COMPLETED")
            #expect(final["result"]?.arrayValue?.count == 4)
            // The JSON event endpoint holds the same log from seq 1.
            let logged = try await server.call("GET", "/api/jobs/\(id)/events?after=0").json["events"]?.arrayValue ?? []
            #expect(logged.compactMap { $0["seq"]?.intValue } == Array(1...Int64(logged.count)))
            #expect(logged.last?["kind"] == "completed")
            let page = try await server.call("GET", "/api/jobs/\(id)/events?after=1&limit=2").json
            #expect(page["events"]?.arrayValue?.compactMap { $0["seq"]?.intValue } == [2, 3])
            #expect(page["nextCursor"] == "3")
            // A stream opened after the end sends the snapshot and closes.
            let late = try await server.sse("/api/sse/job-progress/\(id)")
            #expect(late.map(\.event) == ["snapshot"])
        }
    }

    @Test("a stream cut mid-way resumes with Last-Event-ID: no event twice, none missing")
    func sseResume() async throws {
        try await TestServer.with { server in
            let job = try await server.submit("type1", data: .array((1...8).map { ["id": .int($0)] }))
            let id = try #require(job["jobId"]?.stringValue)
            let first = try await server.sse("/api/sse/job-progress/\(id)", stopAfter: 3)
            let lastId = try #require(first.last?.id)
            let second = try await server.sse("/api/sse/job-progress/\(id)", lastEventId: lastId)
            #expect(second.first?.event == "snapshot")
            #expect(second.first?.id == nil)
            let seqs = (first.dropFirst() + second.dropFirst()).compactMap { $0.id.flatMap(Int64.init) }
            let start = try #require(first.first?.id.flatMap(Int64.init))
            #expect(seqs == Array((start + 1)...(start + Int64(seqs.count))))
            #expect(second.last?.event == "completed")
            // Resuming from the very start replays the whole log.
            let replay = try await server.sse("/api/sse/job-progress/\(id)", lastEventId: "0")
            #expect(replay.dropFirst().compactMap { $0.id.flatMap(Int64.init) } == Array(1...(seqs.last ?? 0)))
        }
    }

    @Test("cancelling a running job stops it within one item")
    func cancelRunning() async throws {
        try await TestServer.with { server in
            let job = try await server.submit("type1", data: .array((1...50).map { ["id": .int($0)] }))
            let id = try #require(job["jobId"]?.stringValue)
            _ = try await server.waitFor(id) { ($0["progress"]?.intValue ?? 0) >= 4 }
            let cancelled = try await server.call("POST", "/api/jobs/\(id)/cancel")
            #expect(cancelled.status == 200)
            let requestedAt = ContinuousClock.now
            let done = try await server.waitFor(id) { $0["status"] == "CANCELLED" }
            #expect(ContinuousClock.now - requestedAt < .milliseconds(400))
            #expect((done["progress"]?.intValue ?? 100) < 20)
            let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            #expect(events.last?["kind"] == "cancelled")
            #expect(try await server.call("POST", "/api/jobs/\(id)/cancel").status == 409)
        }
    }

    @Test("a pending job is cancelled at once")
    func cancelPending() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let id = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            let reply = try await server.call("POST", "/api/jobs/\(id)/cancel")
            #expect(reply.json["status"] == "CANCELLED")
            #expect(try await server.call("POST", "/api/jobs/does-not-exist/cancel").status == 404)
        }
    }

    @Test("an idle stream gets keep-alive comments")
    func keepAlive() async throws {
        try await TestServer.with(configure: { $0.workers = 0; $0.sseKeepAlive = .milliseconds(50) }) { server in
            let id = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            var request = HTTPClientRequest(url: server.baseURL + "/api/sse/job-progress/\(id)")
            request.headers.add(name: "X-API-Key", value: TestServer.adminKey)
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            var text = ""
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if text.components(separatedBy: ": keep-alive").count > 2 { break }
            }
            #expect(text.hasPrefix("id: 1\nevent: snapshot\n"))
            #expect(text.components(separatedBy: ": keep-alive\n\n").count > 2)
        }
    }

    @Test("a stream token reads its own job over SSE as ?token=, and nothing else")
    func streamToken() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let client = try await server.makeKey(role: "client", tenant: "acme")
            let id = try #require(try await server.submit("noop", data: 1, key: client)["jobId"]?.stringValue)
            let other = try #require(try await server.submit("noop", data: 2, key: client)["jobId"]?.stringValue)
            _ = try await server.call("POST", "/api/jobs/\(id)/cancel", key: client)
            let reply = try await server.call("POST", "/api/jobs/\(id)/stream-token", key: client)
            #expect(reply.status == 201)
            let token = try #require(reply.json["token"]?.stringValue)
            let events = try await server.sse("/api/sse/job-progress/\(id)?token=\(token)", key: nil)
            #expect(events.first?.event == "snapshot")
            #expect(try await server.call("GET", "/api/jobs/\(other)", key: nil, bearer: token).status == 404)
            #expect(try await server.call("GET", "/api/jobs", key: nil, bearer: token).status == 403)
            #expect(try await server.call("POST", "/api/jobs", key: nil, bearer: token, json: ["processingType": "noop"]).status == 403)
            let sessionToken = try #require(try await server.call("POST", "/api/auth/token", key: client).json["token"]?.stringValue)
            #expect(try await server.call("GET", "/api/sse/job-progress/\(id)?token=\(sessionToken)", key: nil).status == 401)
        }
    }

    @Test("history filters by status and type and pages with a cursor")
    func history() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            var ids: [String] = []
            for i in 0..<5 {
                ids.append(try #require(try await server.submit(i % 2 == 0 ? "noop" : "type1", data: []) ["jobId"]?.stringValue))
            }
            _ = try await server.call("POST", "/api/jobs/\(ids[0])/cancel")
            let page = try await server.call("GET", "/api/jobs?limit=2").json
            #expect(page["jobs"]?.arrayValue?.compactMap { $0["jobId"]?.stringValue } == [ids[4], ids[3]])
            let cursor = try #require(page["nextCursor"]?.stringValue)
            let next = try await server.call("GET", "/api/jobs?limit=2&cursor=\(cursor)").json
            #expect(next["jobs"]?.arrayValue?.compactMap { $0["jobId"]?.stringValue } == [ids[2], ids[1]])
            #expect(try await server.call("GET", "/api/jobs?type=type1").json["jobs"]?.arrayValue?.count == 2)
            #expect(try await server.call("GET", "/api/jobs?status=cancelled").json["jobs"]?.arrayValue?.count == 1)
            #expect(try await server.call("GET", "/api/jobs?status=bogus").status == 400)
            #expect(try await server.call("GET", "/api/jobs?limit=0").status == 400)
        }
    }

    @Test("a repeated idempotency key answers 200 with the first job")
    func idempotentSubmit() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let body: JSONValue = ["processingType": "noop", "data": 1, "options": ["idempotencyKey": "order-17"]]
            let first = try await server.call("POST", "/api/jobs", json: body)
            let second = try await server.call("POST", "/api/jobs", json: body)
            #expect(first.status == 201)
            #expect(second.status == 200)
            #expect(first.json["jobId"] == second.json["jobId"])
        }
    }

    @Test("a delayed job starts within 100 ms of its time on an idle server")
    func delayed() async throws {
        try await TestServer.with { server in
            let job = try await server.submit("noop", data: 1, options: ["delaySeconds": 1])
            let id = try #require(job["jobId"]?.stringValue)
            let done = try await server.waitFor(id) { $0["status"] == "COMPLETED" }
            let runAt = try #require(done["runAt"]?.stringValue.flatMap(Timestamps.parse))
            let startedAt = try #require(done["startedAt"]?.stringValue.flatMap(Timestamps.parse))
            #expect(startedAt >= runAt)
            #expect(startedAt.timeIntervalSince(runAt) < 0.1)
        }
    }

    @Test("a job over its timeoutSeconds (its own, or its type's default) is stopped and fails the attempt")
    func timeout() async throws {
        try await TestServer.with(configure: { $0.typeTimeouts = ["type2": 1] }) { server in
            let job = try await server.submit(
                "type1", data: .array((1...30).map { ["id": .int($0)] }), options: ["timeoutSeconds": 1, "maxAttempts": 1])
            let typed = try await server.submit("type2", data: .array((1...30).map { ["id": .int($0)] }), options: ["maxAttempts": 1])
            #expect(typed["timeoutSeconds"] == 1)
            for id in [job, typed].compactMap({ $0["jobId"]?.stringValue }) {
                let done = try await server.waitFor(id) { $0["status"] == "FAILED" }
                #expect(done["error"] == "timed out after 1 s")
                #expect((done["progress"]?.intValue ?? 100) < 50)
                #expect(done["errors"]?.arrayValue?.count == 1)
            }
        }
    }

    @Test("POST /api/jobs/{id}/retry runs a cancelled job again; a pending one gets 409, another tenant 404")
    func retry() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let acme = try await server.makeKey(role: "client", tenant: "acme")
            let other = try await server.makeKey(role: "client", tenant: "other")
            let id = try #require(try await server.submit("noop", data: 1, key: acme)["jobId"]?.stringValue)
            #expect(try await server.call("POST", "/api/jobs/\(id)/retry", key: acme).status == 409)
            _ = try await server.call("POST", "/api/jobs/\(id)/cancel", key: acme)
            #expect(try await server.call("POST", "/api/jobs/\(id)/retry", key: other).status == 404)
            let retried = try await server.call("POST", "/api/jobs/\(id)/retry", key: acme)
            #expect(retried.status == 200)
            #expect(retried.json["status"] == "PENDING")
        }
    }

    @Test("?wait=N answers the finished job (200), or the unfinished one with 202 after N seconds")
    func syncWait() async throws {
        try await TestServer.with { server in
            let quick = try await server.call("POST", "/api/jobs?wait=5", json: ["processingType": "type1", "data": [["id": 1]]])
            #expect(quick.status == 200)
            #expect(quick.json["status"] == "COMPLETED")
            #expect(quick.json["result"]?.arrayValue?.count == 1)
            let started = ContinuousClock.now
            let slow = try await server.call(
                "POST", "/api/jobs?wait=0.3", json: ["processingType": "type1", "data": .array((1...30).map { ["id": .int($0)] })])
            #expect(slow.status == 202)
            #expect(slow.json["status"] == "PROCESSING" || slow.json["status"] == "PENDING")
            #expect(ContinuousClock.now - started < .seconds(2))
            #expect(try await server.call("POST", "/api/jobs?wait=9999", json: ["processingType": "noop"]).status == 400)
        }
    }

    @Test("?stream=true answers the job's SSE stream: snapshot, events, the final event")
    func submitAndStream() async throws {
        try await TestServer.with { server in
            var request = HTTPClientRequest(url: server.baseURL + "/api/jobs?stream=true")
            request.method = .POST
            request.headers.add(name: "X-API-Key", value: TestServer.adminKey)
            request.body = .bytes(ByteBuffer(string: #"{"processingType":"type1","data":[{"id":1},{"id":2}]}"#))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
            #expect(response.headers.first(name: "Content-Type") == "text/event-stream")
            var parser = SSEParser()
            var events: [ServerSentEvent] = []
            for try await chunk in response.body { events += parser.feed(chunk.readableBytesView) }
            #expect(events.first?.event == "snapshot")
            #expect(events.filter { $0.event == "progress" }.count == 2)
            #expect(events.last?.event == "completed")
        }
    }

    @Test("a batch is stored whole in order, or not at all with each invalid item named")
    func batch() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let good = try await server.call("POST", "/api/jobs/batch", json: ["jobs": [
                ["processingType": "noop", "data": 1], ["processingType": "type1", "data": [["id": 1]]], ["processingType": "noop", "data": 3],
            ]])
            #expect(good.status == 201)
            let ids = good.json["jobs"]?.arrayValue?.compactMap { $0["jobId"]?.stringValue } ?? []
            #expect(ids.count == 3)
            #expect(ids == ids.sorted())
            let bad = try await server.call("POST", "/api/jobs/batch", json: ["jobs": [
                ["processingType": "noop"], ["processingType": "type9"], ["processingType": "type1", "data": "x"], ["data": 1],
            ]])
            #expect(bad.status == 422)
            #expect(bad.json["error"]?["items"]?.arrayValue?.compactMap { $0["index"]?.intValue } == [1, 2, 3])
            #expect(try await server.call("GET", "/api/jobs").json["jobs"]?.arrayValue?.count == 3)
            let tooMany = try await server.call(
                "POST", "/api/jobs/batch", json: ["jobs": .array(Array(repeating: ["processingType": "noop"], count: 1001))])
            #expect(tooMany.status == 422)
            #expect(try await server.call("POST", "/api/jobs/batch", json: ["nope": 1]).status == 400)
        }
    }

    @Test("a paused queue keeps its jobs PENDING until resumed; a switched-off type is refused at submit")
    func queuesAndTypes() async throws {
        try await TestServer.with { server in
            let client = try await server.makeKey(role: "client", tenant: "acme")
            #expect(try await server.call("POST", "/api/queues/mail/pause", key: client).status == 403)
            #expect(try await server.call("POST", "/api/queues/mail/pause").json["paused"] == true)
            let id = try #require(try await server.submit("noop", data: 1, options: ["queue": "mail"])["jobId"]?.stringValue)
            let other = try #require(try await server.submit("noop", data: 2)["jobId"]?.stringValue)
            _ = try await server.waitFor(other) { $0["status"] == "COMPLETED" }
            #expect(try await server.call("GET", "/api/jobs/\(id)").json["status"] == "PENDING")
            #expect(try await server.call("GET", "/api/queues").json["queues"]?.arrayValue?.count == 1)
            _ = try await server.call("POST", "/api/queues/mail/resume")
            _ = try await server.waitFor(id) { $0["status"] == "COMPLETED" }
            // Path parameters are percent-decoded, and a queue name is checked as the submit checks it.
            #expect(try await server.call("POST", "/api/queues/mail%2Ebulk/pause").json["queue"] == "mail.bulk")
            #expect(try await server.call("POST", "/api/queues/mail%20bulk/pause").status == 422)
            #expect(try await server.call("PUT", "/api/types/my%20type", json: ["enabled": true]).json["processingType"] == "my type")

            #expect(try await server.call("PUT", "/api/types/type1", json: ["enabled": false]).status == 200)
            let refused = try await server.call("POST", "/api/jobs", json: ["processingType": "type1", "data": []])
            #expect(refused.status == 422)
            #expect(refused.json["error"]?["message"] == "processing type 'type1' is switched off")
            let types = try await server.call("GET", "/api/types").json["types"]?.arrayValue ?? []
            #expect(types.contains(["processingType": "type1", "enabled": false, "fallback": "refuse"]))
            _ = try await server.call("PUT", "/api/types/type1", json: ["enabled": true])
            #expect(try await server.call("POST", "/api/jobs", json: ["processingType": "type1", "data": []]).status == 201)
        }
    }

    @Test("a type switched off with fallback sync runs on the server inside the submit, which answers it finished")
    func synchronousFallback() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let off = try await server.call("PUT", "/api/types/type1", json: ["enabled": false, "fallback": "sync"])
            #expect(off.json == ["processingType": "type1", "enabled": false, "fallback": "sync"])
            #expect(try await server.call("PUT", "/api/types/type1", json: ["enabled": false, "fallback": "later"]).status == 400)
            // No worker runs here: only the fallback can finish it.
            let reply = try await server.call("POST", "/api/jobs", json: [
                "processingType": "type1", "data": [["id": 1, "name": "a"], ["id": 2, "name": "b"]],
            ])
            #expect(reply.status == 200)
            #expect(reply.json["status"] == "COMPLETED")
            #expect(reply.json["progress"] == 100)
            #expect(reply.json["result"]?.arrayValue?.count == 2)
            let id = try #require(reply.json["jobId"]?.stringValue)
            let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            #expect(events.compactMap { $0["kind"]?.stringValue } == ["status", "status", "progress", "progress", "completed"])
            // Batches keep refusing a switched-off type: the fallback answers one job per request.
            let batch = try await server.call("POST", "/api/jobs/batch", json: ["jobs": [["processingType": "type1", "data": []]]])
            #expect(batch.status == 422)
        }
    }

    @Test("options.cache answers an equal submission at once with the cached result, marked as such")
    func resultCacheOverHTTP() async throws {
        try await TestServer.with { server in
            let body: JSONValue = [
                "processingType": "type1", "data": [["id": 1, "name": "a"]], "options": ["cache": ["ttlSeconds": 60]],
            ]
            let first = try await server.call("POST", "/api/jobs?wait=5", json: body)
            #expect(first.json["status"] == "COMPLETED")
            #expect(first.json["cachedFrom"] == nil)
            let second = try await server.call("POST", "/api/jobs", json: body)
            #expect(second.status == 201)
            #expect(second.json["status"] == "COMPLETED")
            #expect(second.json["cachedFrom"] == first.json["jobId"])
            #expect(second.json["result"] == first.json["result"])
            // Answered, not run: its only event is the final one, written by the submit itself (no lease, no
            // progress). A clock would tell the same only on an idle machine.
            let secondId = try #require(second.json["jobId"]?.stringValue)
            let events = try await server.call("GET", "/api/jobs/\(secondId)/events").json["events"]?.arrayValue ?? []
            #expect(events.compactMap { $0["kind"]?.stringValue } == ["completed"])
            let bad = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["cache": ["ttlSeconds": 0]]])
            #expect(bad.status == 422)
            // `cache: true` is the switch it reads as: a day of reuse; `false` is no cache.
            let switched: JSONValue = ["processingType": "type1", "data": [["id": 2, "name": "b"]], "options": ["cache": true]]
            let runs = try await server.call("POST", "/api/jobs?wait=5", json: switched)
            #expect(runs.status == 200)
            let reused = try await server.call("POST", "/api/jobs", json: switched)
            #expect(reused.json["cachedFrom"] == runs.json["jobId"])
            let uncached = try await server.call(
                "POST", "/api/jobs", json: ["processingType": "type1", "data": [["id": 2, "name": "b"]], "options": ["cache": false]])
            #expect(uncached.status == 201)
            #expect(uncached.json["cachedFrom"] == nil)
        }
    }

    @Test("a submit that names a template gets its type, queue, data and options")
    func templatesOverHTTP() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let client = try await server.makeKey(role: "client", tenant: "acme")
            let template: JSONValue = [
                "name": "report", "processingType": "type2", "queue": "reports", "data": [["id": 1]], "options": ["priority": 3],
            ]
            #expect(try await server.call("POST", "/api/templates", key: client, json: template).status == 403)
            #expect(try await server.call("POST", "/api/templates", json: template).status == 201)
            let reply = try await server.call("POST", "/api/jobs", key: client, json: ["template": "report"])
            #expect(reply.status == 201)
            #expect(reply.json["processingType"] == "type2")
            #expect(reply.json["queue"] == "reports")
            #expect(reply.json["priority"] == 3)
            #expect(reply.json["data"] == [["id": 1]])
            #expect(try await server.call("POST", "/api/jobs", key: client, json: ["template": "nope"]).status == 404)
            #expect(try await server.call("GET", "/api/templates").json["templates"]?.arrayValue?.count == 1)
            #expect(try await server.call("DELETE", "/api/templates/report").status == 204)
        }
    }

    @Test("replaying a retried job's stream goes past its old final event")
    func replayAfterRetry() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let id = try #require(try await server.submit("noop", data: 1)["jobId"]?.stringValue)
            _ = try await server.call("POST", "/api/jobs/\(id)/cancel")
            _ = try await server.call("POST", "/api/jobs/\(id)/retry")
            let events = try await server.sse("/api/sse/job-progress/\(id)", lastEventId: "0", stopAfter: 4)
            #expect(events.map(\.event) == ["snapshot", "status", "cancelled", "status"])
        }
    }
}
