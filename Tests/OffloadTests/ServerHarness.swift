import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadServer
import OffloadWorker

/// A real Offload server on a random loopback port, with its own data directory.
struct TestServer: Sendable {
    static let adminKey = "test-admin-key-0123456789abcdef"
    let baseURL: String

    /// Starts a server, runs `body` against it, then stops it.
    static func with<T: Sendable>(
        configure: @Sendable (inout ServerConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestServer) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.dataDirectory = directory.path
        configuration.adminKey = adminKey
        configuration.announce = { _ in }
        configuration.shutdownGrace = .seconds(1)
        configuration.processors = .builtIn
        configuration.inProcessWorkers = .builtIn(BuiltInOptions())
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        configuration.onListening = { portContinuation.yield($0) }
        let stop = Latch<Void>()
        configuration.shutdownRequest = stop
        configure(&configuration)
        let app = OffloadServerApp(configuration: configuration, logger: Logger(label: "test-server"))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.run(signals: [])
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the server did not start") }
            // Stop gracefully, as SIGTERM does, whether the body passed or threw.
            defer { stop.set(()) }
            return try await body(TestServer(baseURL: "http://127.0.0.1:\(port)"))
        }
    }

    /// An HTTP call; answers the status, the JSON body (null when empty) and the headers.
    func call(
        _ method: String, _ path: String, key: String? = TestServer.adminKey, bearer: String? = nil,
        json: JSONValue? = nil, body: String? = nil, headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        if let key { request.headers.add(name: "X-API-Key", value: key) }
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let text = json?.jsonString() ?? body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: text))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let text = String(buffer: buffer)
        let json = text.isEmpty ? JSONValue.null : (try? JSONValue.parse(text)) ?? .string(text)
        return Reply(status: Int(response.status.code), json: json, headers: response.headers)
    }

    /// Submits a job as `key` and answers it (expects 201).
    func submit(_ type: String, data: JSONValue, options: JSONValue = [:], key: String = TestServer.adminKey) async throws -> JSONValue {
        let reply = try await call("POST", "/api/jobs", key: key, json: ["processingType": .string(type), "data": data, "options": options])
        guard reply.status == 201 else { throw TestFailure("submit answered \(reply.status): \(reply.json.jsonString())") }
        return reply.json
    }

    /// Creates a key and answers its secret.
    func makeKey(role: String, tenant: String, key: String = TestServer.adminKey) async throws -> String {
        let reply = try await call(
            "POST", "/api/keys", key: key, json: ["name": "test", "role": .string(role), "tenant": .string(tenant)])
        guard reply.status == 201, let secret = reply.json["secret"]?.stringValue else {
            throw TestFailure("key creation answered \(reply.status)")
        }
        return secret
    }

    /// Reads an SSE stream until the server closes it or `stopAfter` events came; answers the events.
    func sse(_ path: String, key: String? = TestServer.adminKey, lastEventId: String? = nil, stopAfter: Int = .max)
        async throws -> [ServerSentEvent]
    {
        var request = HTTPClientRequest(url: baseURL + path)
        if let key { request.headers.add(name: "X-API-Key", value: key) }
        if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        guard response.status == .ok else { throw TestFailure("SSE answered \(response.status.code)") }
        var parser = SSEParser()
        var events: [ServerSentEvent] = []
        for try await chunk in response.body {
            events += parser.feed(chunk.readableBytesView)
            if events.count >= stopAfter { return Array(events.prefix(stopAfter)) }
        }
        return events
    }

    /// Polls a job until `done` holds (the job endpoint, not a sleep-and-hope: it bounds the wait).
    func waitFor(
        _ jobId: String, key: String = TestServer.adminKey, timeout: Duration = .seconds(20), _ done: (JSONValue) -> Bool
    ) async throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let job = try await call("GET", "/api/jobs/\(jobId)", key: key).json
            if done(job) { return job }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("job \(jobId) did not reach the expected state")
    }
}

struct Reply: Sendable {
    var status: Int
    var json: JSONValue
    var headers: HTTPHeaders
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
