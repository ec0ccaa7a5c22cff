import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import OffloadClient
import OffloadCore
import OffloadServer
import Testing

/// The repository's root, where `deploy/` lives.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// Replaces `old` with `new` in `text`, failing the test when the file no longer holds `old`.
private func substitute(_ text: inout String, _ old: String, _ new: String) throws {
    guard text.contains(old) else { throw TestFailure("deploy/nginx/offload.conf no longer contains \(old)") }
    text = text.replacingOccurrences(of: old, with: new)
}

/// One SSE event as a client saw it.
private struct Arrival: Sendable {
    var id: String?
    var event: String
    var at: ContinuousClock.Instant
}

/// Reads an SSE stream to its end, noting when each event arrived.
private func follow(_ http: HTTPClient, _ url: String, lastEventId: String? = nil) async throws -> [Arrival] {
    var request = HTTPClientRequest(url: url)
    request.headers.add(name: "X-API-Key", value: TestServer.adminKey)
    if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
    let response = try await http.execute(request, timeout: .seconds(60))
    guard response.status == .ok else { throw TestFailure("SSE answered \(response.status.code)") }
    var parser = SSEParser()
    var arrivals: [Arrival] = []
    for try await chunk in response.body {
        for event in parser.feed(chunk.readableBytesView) { arrivals.append(Arrival(id: event.id, event: event.event, at: .now)) }
    }
    return arrivals
}

@Suite("Deployment kit (deploy/) and examples", .serialized)
struct DeployKitTests {
    @Test("the systemd units pass systemd-analyze verify without a warning")
    func systemdUnits() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var units: [String] = []
        for name in ["offload.service", "offload-worker.service"] {
            let text = try String(contentsOf: repositoryRoot.appendingPathComponent("deploy/systemd/\(name)"), encoding: .utf8)
            #expect(text.contains("NoNewPrivileges=yes") && text.contains("ProtectSystem=strict") && text.contains("EnvironmentFile="))
            #expect(text.contains("User=offload") && text.contains("Restart=on-failure") && text.contains("KillSignal=SIGTERM"))
            // verify checks that ExecStart exists: point it at the binary built here.
            let path = directory.path + "/" + name
            try text.replacingOccurrences(of: "/usr/local/bin/offload", with: OffloadProcess.binary)
                .write(toFile: path, atomically: true, encoding: .utf8)
            units.append(path)
        }
        let verified = try await runProgram("/usr/bin/systemd-analyze", ["verify", "--man=no"] + units)
        #expect(verified.status == 0)
        #expect(verified.output.isEmpty, "\(verified.output)")
    }

    @Test("nginx with deploy/nginx/offload.conf: TLS, SSE events pass at once and none is lost, Last-Event-ID resumes, the body limit holds")
    func nginx() async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let certificate = try await runProgram("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
            "-keyout", directory.path + "/key.pem", "-out", directory.path + "/cert.pem",
        ])
        #expect(certificate.status == 0, "\(certificate.output)")
        try await TestServer.with(configure: { $0.workers = 2 }) { server in
            let upstream = try #require(server.baseURL.split(separator: ":").last.map(String.init))
            let (httpsPort, httpPort) = (try freeLoopbackPort(), try freeLoopbackPort())
            var site = try String(contentsOf: repositoryRoot.appendingPathComponent("deploy/nginx/offload.conf"), encoding: .utf8)
            try substitute(&site, "server 127.0.0.1:8080;", "server 127.0.0.1:\(upstream);")
            try substitute(&site, "listen 80;", "listen 127.0.0.1:\(httpPort);")
            try substitute(&site, "listen 443 ssl http2;", "listen 127.0.0.1:\(httpsPort) ssl http2;")
            try substitute(&site, "/etc/letsencrypt/live/jobs.example.com/fullchain.pem", directory.path + "/cert.pem")
            try substitute(&site, "/etc/letsencrypt/live/jobs.example.com/privkey.pem", directory.path + "/key.pem")
            try site.write(toFile: directory.path + "/site.conf", atomically: true, encoding: .utf8)
            let temp = directory.path
            try """
                daemon off;
                master_process off;
                worker_processes 1;
                pid \(temp)/nginx.pid;
                error_log \(temp)/error.log warn;
                events { worker_connections 256; }
                http {
                    access_log off;
                    client_body_temp_path \(temp)/body;
                    proxy_temp_path \(temp)/proxy;
                    fastcgi_temp_path \(temp)/fastcgi;
                    uwsgi_temp_path \(temp)/uwsgi;
                    scgi_temp_path \(temp)/scgi;
                    include \(temp)/site.conf;
                }
                """.write(toFile: temp + "/nginx.conf", atomically: true, encoding: .utf8)
            let syntax = try await runProgram("/usr/sbin/nginx", ["-t", "-c", temp + "/nginx.conf", "-p", temp])
            #expect(syntax.status == 0, "\(syntax.output)")
            let nginx = Process()
            nginx.executableURL = URL(fileURLWithPath: "/usr/sbin/nginx")
            nginx.arguments = ["-c", temp + "/nginx.conf", "-p", temp]
            nginx.standardError = FileHandle.nullDevice
            try nginx.run()
            defer { kill(nginx.processIdentifier, SIGKILL) }

            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            let http = HTTPClient(
                eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls, redirectConfiguration: .disallow))
            let proxied = "https://127.0.0.1:\(httpsPort)"
            // nginx is up once it answers (bounded wait).
            let deadline = ContinuousClock.now + .seconds(10)
            while (try? await http.execute(HTTPClientRequest(url: proxied + "/health"), timeout: .seconds(1)).status) != .ok {
                guard ContinuousClock.now < deadline else { throw TestFailure("nginx did not come up") }
                try await Task.sleep(for: .milliseconds(20))
            }
            do {
                var submit = HTTPClientRequest(url: proxied + "/api/jobs")
                submit.method = .POST
                submit.headers.add(name: "X-API-Key", value: TestServer.adminKey)
                submit.headers.add(name: "Content-Type", value: "application/json")
                let items = JSONValue.array((1...8).map { ["id": .int(Int64($0)), "name": .string("item\($0)")] })
                submit.body = .bytes(ByteBuffer(bytes: JSONValue.object(["processingType": "type1", "data": items]).jsonBytes()))
                let submitted = try await http.execute(submit, timeout: .seconds(10))
                #expect(submitted.status == .created)
                let job = try JSONValue.parse(String(buffer: try await submitted.body.collect(upTo: 1 << 20)))
                let id = try #require(job["jobId"]?.stringValue)

                async let direct = follow(http, server.baseURL + "/api/sse/job-progress/\(id)")
                async let throughNginx = follow(http, proxied + "/api/sse/job-progress/\(id)")
                let (a, b) = try await (direct, throughNginx)
                // The same events, none lost, in order.
                #expect(b.map(\.event) == a.map(\.event))
                #expect(b.map(\.id) == a.map(\.id))
                #expect(b.filter { $0.event == "progress" }.count == 8)
                // None held back: each arrives through nginx within 50 ms of the direct stream.
                for (viaDirect, viaNginx) in zip(a, b) where viaDirect.event != "snapshot" {
                    #expect(viaNginx.at - viaDirect.at < .milliseconds(50), "\(viaNginx.event) \(viaNginx.id ?? "") delayed")
                }
                let firstProgress = try #require(b.first { $0.event == "progress" })
                #expect(try #require(b.last).at - firstProgress.at > .milliseconds(500))

                // A reconnect with Last-Event-ID gets exactly the later events.
                let resumed = try await follow(http, proxied + "/api/sse/job-progress/\(id)", lastEventId: "4")
                #expect(resumed.compactMap(\.id).compactMap(Int.init) == a.compactMap(\.id).compactMap(Int.init).filter { $0 > 4 })

                // The worker session protocol through nginx: a long poll with nothing to report, then a sync
                // that ends the job it leased and asks for more.
                let workerKey = try await server.makeKey(role: "worker", tenant: "default")
                func post(_ path: String, _ body: JSONValue) async throws -> JSONValue {
                    var request = HTTPClientRequest(url: proxied + path)
                    request.method = .POST
                    request.headers.add(name: "X-API-Key", value: workerKey)
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
                    let response = try await http.execute(request, timeout: .seconds(30))
                    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    guard (200..<300).contains(Int(response.status.code)) else { throw TestFailure("\(path): \(response.status) \(text)") }
                    return try JSONValue.parse(text)
                }
                let workerId = try #require(try await post(
                    "/api/workers/register", ["name": "behind-nginx", "processingTypes": ["noop"], "maxConcurrentJobs": 4])["workerId"]?.stringValue)
                let polled = ContinuousClock.now
                async let waiting = post("/api/workers/\(workerId)/sync?wait=10", ["running": [], "lease": 4])
                try await Task.sleep(for: .milliseconds(300))
                let remoteJob = try await server.submit("noop", data: 1, options: ["mode": "distributed"])
                let leased = try await waiting
                #expect(ContinuousClock.now - polled < .seconds(5), "the long poll answered once the job came, not at its end")
                let lease = try #require(leased["jobs"]?.arrayValue?.first)
                #expect(lease["jobId"] == remoteJob["jobId"])
                let ended = try await post("/api/workers/\(workerId)/sync", [
                    "running": [lease["jobId"] ?? .null], "lease": 4,
                    "reports": [["jobId": lease["jobId"] ?? .null, "leaseToken": lease["leaseToken"] ?? .null, "end": "complete", "result": 7]],
                ])
                #expect(ended["reports"]?.arrayValue?.first?["ok"] == true)
                let remoteId = try #require(remoteJob["jobId"]?.stringValue)
                #expect(try await server.call("GET", "/api/jobs/\(remoteId)").json["result"] == 7)

                // The body limit: nginx refuses more than 10 MB.
                var large = HTTPClientRequest(url: proxied + "/api/jobs")
                large.method = .POST
                large.headers.add(name: "X-API-Key", value: TestServer.adminKey)
                large.headers.add(name: "Content-Type", value: "application/json")
                large.body = .bytes(ByteBuffer(repeating: UInt8(ascii: " "), count: 11 * 1024 * 1024))
                #expect(try await http.execute(large, timeout: .seconds(30)).status == .payloadTooLarge)

                let redirect = try await http.execute(HTTPClientRequest(url: "http://127.0.0.1:\(httpPort)/health"), timeout: .seconds(5))
                #expect(redirect.status == .movedPermanently)
                #expect(redirect.headers.first(name: "Location") == "https://127.0.0.1/health")
            } catch {
                try? await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
    }

    @Test("examples/curl/submit-and-watch.sh submits a job, prints its events live and exits 0 when it completes")
    func curlExample() async throws {
        try await TestServer.with(configure: { $0.workers = 1 }) { server in
            let script = repositoryRoot.appendingPathComponent("examples/curl/submit-and-watch.sh").path
            let environment = ["OFFLOAD_URL": server.baseURL, "OFFLOAD_API_KEY": TestServer.adminKey]
            let done = try await runProgram("/bin/bash", [script, "type1", #"[{"id":1,"name":"a"},{"id":2,"name":"b"}]"#], environment: environment)
            #expect(done.status == 0, "\(done.output)")
            #expect(done.output.hasPrefix("submitted job_"))
            #expect(done.output.components(separatedBy: "\nprogress ").count == 3)
            #expect(done.output.contains("\ncompleted {"))
            #expect(done.output.hasSuffix("COMPLETED\n"))
            let failing = try await runProgram("/bin/bash", [script, "type1", "5"], environment: environment)
            #expect(failing.status != 0)
        }
    }
}
