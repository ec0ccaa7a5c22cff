import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadServer
import OffloadWorker
import Testing

/// A server whose in-process workers offer llm.chat against `fake` (and http against its host).
private func withLLMServer<T: Sendable>(_ fake: FakeLLM, _ body: @Sendable (TestServer) async throws -> T) async throws -> T {
    try await TestServer.with(configure: {
        $0.inProcessWorkers = .builtIn(BuiltInOptions(
            llm: .init(baseURL: fake.baseURL, apiKey: FakeLLM.apiKey, defaultModel: "fake"), httpAllow: ["127.0.0.1:\(fake.port)"]))
    }, body)
}

private func chat(_ model: String? = nil) -> JSONValue {
    var data: [String: JSONValue] = ["messages": [["role": "user", "content": "Say hello"]]]
    if let model { data["model"] = .string(model) }
    return .object(data)
}

@Suite("llm.chat and http processors against a local OpenAI-compatible server", .serialized)
struct LLMProcessorTests {
    @Test("each streamed delta becomes a token event; the result is the whole text, model, finish reason and usage")
    func streams() async throws {
        try await FakeLLM.with { fake in
            try await withLLMServer(fake) { server in
                let id = try #require(try await server.submit("llm.chat", data: chat(), options: ["maxAttempts": 1])["jobId"]?.stringValue)
                let done = try await server.waitFor(id) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
                #expect(done["status"] == "COMPLETED", "\(done.jsonString())")
                #expect(done["result"]?["text"] == "Hello, world!")
                #expect(done["result"]?["model"] == "fake")
                #expect(done["result"]?["finishReason"] == "stop")
                #expect(done["result"]?["usage"]?["total_tokens"] == 9)
                let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
                #expect(events.filter { $0["kind"] == "token" }.compactMap { $0["data"]?["text"]?.stringValue } == ["Hello", ",", " world", "!"])
                let sent = try #require(fake.requests.withLock { $0.last })
                #expect(sent["stream"] == true)
                #expect(sent["model"] == "fake")
                #expect(sent["messages"] == chat()["messages"])
            }
        }
    }

    @Test("POST /api/jobs?stream=true streams the tokens as they come; ?wait= answers the whole text")
    func submitAndStream() async throws {
        try await FakeLLM.with { fake in
            try await withLLMServer(fake) { server in
                var request = HTTPClientRequest(url: server.baseURL + "/api/jobs?stream=true")
                request.method = .POST
                request.headers.add(name: "X-API-Key", value: TestServer.adminKey)
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: JSONValue.object(["processingType": "llm.chat", "data": chat("slow")]).jsonBytes()))
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                var parser = SSEParser()
                var arrivals: [ContinuousClock.Instant] = []
                var final = ""
                for try await chunk in response.body {
                    for event in parser.feed(chunk.readableBytesView) {
                        if event.event == "token" { arrivals.append(.now) }
                        if event.event == "completed" { final = event.data }
                    }
                }
                let sent = fake.sent.withLock { $0 }
                #expect(arrivals.count == 40)
                #expect(sent.count == 40)
                // Live, token by token: the first token reached this client soon after the upstream sent it
                // (the bound is loose for a debug build; `offload bench --llm` measures it in release).
                if let first = arrivals.first, let produced = sent.first {
                    #expect(first - produced < .milliseconds(250), "first token after \(first - produced)")
                }
                #expect(try JSONValue.parse(final)["result"]?["text"]?.stringValue?.hasPrefix("t1 t2 t3") == true)

                let waited = try await server.call("POST", "/api/jobs?wait=10", json: ["processingType": "llm.chat", "data": chat()])
                #expect(waited.status == 200)
                #expect(waited.json["result"]?["text"] == "Hello, world!")
            }
        }
    }

    @Test("upstream errors are clear job errors: a refused key fails at once, 429 waits for Retry-After, 5xx and a dropped stream are retried")
    func upstreamErrors() async throws {
        try await FakeLLM.with { fake in
            try await withLLMServer(fake) { server in
                let refused = try #require(try await server.submit("llm.chat", data: chat("unauthorized"))["jobId"]?.stringValue)
                let failed = try await server.waitFor(refused) { $0["status"] == "FAILED" }
                #expect(failed["attempt"] == 1)
                #expect(failed["error"]?.stringValue?.contains("401: Incorrect API key provided") == true)

                let limited = try #require(try await server.submit("llm.chat", data: chat("ratelimited"))["jobId"]?.stringValue)
                let waiting = try await server.waitFor(limited) { $0["status"] == "PENDING" && $0["attempt"] == 1 }
                let runAt = try #require(waiting["runAt"]?.stringValue.flatMap(Timestamps.parse))
                let failedAt = try #require(waiting["errors"]?.arrayValue?.first?["at"]?.stringValue.flatMap(Timestamps.parse))
                #expect(runAt.timeIntervalSince(failedAt) >= 1.99, "retried before Retry-After")
                #expect(waiting["error"]?.stringValue?.contains("429") == true)
                _ = try await server.call("POST", "/api/jobs/\(limited)/cancel")

                for (model, message) in [("broken", "answered 500"), ("drop", "LLM stream"), ("malformed", "malformed chunk")] {
                    let id = try #require(try await server.submit("llm.chat", data: chat(model), options: ["maxAttempts": 2])["jobId"]?.stringValue)
                    let job = try await server.waitFor(id, timeout: .seconds(30)) { $0["status"] == "FAILED" }
                    #expect(job["error"]?.stringValue?.contains(message) == true, "\(model): \(job["error"]?.stringValue ?? "")")
                    // A malformed chunk is not retried; the others are.
                    #expect(job["attempt"] == (model == "malformed" ? 1 : 2), "\(model)")
                }
                // The fake writes "Hello" and "," and then drops the connection; how much of it reaches the worker
                // before the close depends on when the writes are flushed, so the check is that the failed job
                // keeps exactly the text its error counts.
                let failedJobs = try await server.call("GET", "/api/jobs?type=llm.chat&status=FAILED").json["jobs"]?.arrayValue ?? []
                let dropped = try #require(failedJobs.first { $0["error"]?.stringValue?.contains("LLM stream broke") == true })
                let error = dropped["error"]?.stringValue ?? ""
                let count = try #require(error.firstMatch(of: /broke after (\d+) characters/).flatMap { Int($0.1) }, "\(error)")
                #expect(dropped["result"]?["text"]?.stringValue ?? "" == String("Hello,".prefix(count)), "\(dropped.jsonString())")
            }
        }
    }

    @Test("cancelling an llm.chat job closes the upstream connection")
    func cancelClosesUpstream() async throws {
        try await FakeLLM.with { fake in
            try await withLLMServer(fake) { server in
                let id = try #require(try await server.submit("llm.chat", data: chat("slow"))["jobId"]?.stringValue)
                let deadline = ContinuousClock.now + .seconds(10)
                while fake.sent.withLock({ $0.count }) < 3 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(try await server.call("POST", "/api/jobs/\(id)/cancel").status == 200)
                let cancelled = try await server.waitFor(id) { $0["status"] == "CANCELLED" }
                #expect(cancelled["status"] == "CANCELLED")
                while fake.disconnects.withLock({ $0 }) == 0 && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(fake.disconnects.withLock { $0 } == 1)
                #expect(fake.sent.withLock { $0.count } < 40)
            }
        }
    }

    @Test("http calls an allow-listed host and keeps status, headers and body; another host fails cleanly")
    func httpProcessor() async throws {
        try await FakeLLM.with { fake in
            try await withLLMServer(fake) { server in
                let echo = try #require(try await server.submit("http", data: [
                    "url": .string("http://127.0.0.1:\(fake.port)/echo"), "method": "POST", "headers": ["X-Test": "yes"],
                    "body": ["hello": "world"],
                ])["jobId"]?.stringValue)
                let done = try await server.waitFor(echo) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
                #expect(done["result"]?["status"] == 200, "\(done.jsonString())")
                #expect(done["result"]?["headers"]?["content-type"] == "application/json")
                #expect(done["result"]?["body"]?["method"] == "POST")
                #expect(done["result"]?["body"]?["header"] == "yes")
                #expect(try done["result"]?["body"]?["body"]?.stringValue.map(JSONValue.parse) == ["hello": "world"])

                let elsewhere = try #require(try await server.submit("http", data: ["url": "http://127.0.0.2:9/"])["jobId"]?.stringValue)
                let refused = try await server.waitFor(elsewhere) { $0["status"] == "FAILED" }
                #expect(refused["attempt"] == 1)
                #expect(refused["error"]?.stringValue?.contains("not on this worker's --http-allow list") == true)

                let failing = try #require(try await server.submit(
                    "http", data: ["url": .string("http://127.0.0.1:\(fake.port)/status/503")], options: ["maxAttempts": 1])["jobId"]?.stringValue)
                let failed = try await server.waitFor(failing) { $0["status"] == "FAILED" }
                #expect(failed["result"]?["status"] == 503)
                #expect(failed["result"]?["body"] == "status 503")

                #expect(try await server.call("POST", "/api/jobs", json: ["processingType": "http", "data": ["url": "ftp://x"]]).status == 422)
                #expect(try await server.call("POST", "/api/jobs", json: ["processingType": "llm.chat", "data": ["messages": []]]).status == 422)
            }
        }
    }
}
