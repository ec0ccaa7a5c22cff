import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import Synchronization

/// The token-latency figure of `offload bench`: an OpenAI-compatible upstream inside the bench streams
/// numbered tokens at a fixed pace, an `llm.chat` job submitted with `?stream=true` relays them, and each
/// token's latency is from the moment the upstream wrote it to the moment the client read its SSE event
/// (one process, one clock).
extension Bench {
    /// Runs a fake upstream for as long as `body` runs; `body` gets its base URL.
    static func withTokenUpstream<T: Sendable>(
        port: Int, tokens: Int, interval: Duration, _ body: @Sendable (String, TokenClock) async throws -> T
    ) async throws -> T {
        let clock = TokenClock()
        let router = Router()
        router.post("/v1/chat/completions") { _, _ -> Response in
            clock.reset()
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                let start = ContinuousClock.now
                for index in 0..<tokens {
                    try await Task.sleep(until: start + interval * index, clock: .continuous)
                    let chunk: JSONValue = ["choices": [["index": 0, "delta": ["content": .string("\(index) ")]]]]
                    clock.sent(index)
                    try await writer.write(ByteBuffer(string: "data: \(chunk.jsonString())\n\n"))
                }
                try await writer.write(ByteBuffer(string: "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"))
                try await writer.finish(nil)
            })
        }
        var logger = Logger(label: "bench-llm")
        logger.logLevel = .warning
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await app.runService()
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let bound = await iterator.next() else { throw ValidationError("the token upstream did not start") }
            let value = try await body("http://127.0.0.1:\(bound)/v1", clock)
            group.cancelAll()
            return value
        }
    }

    /// Submits an `llm.chat` job to `baseURL` with `?stream=true` and measures each token's latency.
    func measureTokens(
        http: HTTPClient, baseURL: String, key: String, clock: TokenClock, label: String, options: JSONValue,
        report: inout [String: JSONValue]
    ) async throws {
        var request = HTTPClientRequest(url: baseURL + "/api/jobs?stream=true")
        request.method = .POST
        request.headers.add(name: "X-API-Key", value: key)
        request.headers.add(name: "Content-Type", value: "application/json")
        let body: JSONValue = [
            "processingType": "llm.chat", "data": ["messages": [["role": "user", "content": "count"]], "model": "bench"],
            "options": options,
        ]
        request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
        let response = try await http.execute(request, timeout: .hours(1))
        guard response.status == .ok else { throw ValidationError("the streaming submit answered \(response.status.code)") }
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var parser = SSEParser()
        var final = ""
        for try await chunk in response.body {
            let now = ContinuousClock.now
            for event in parser.feed(chunk.readableBytesView) {
                if event.event == "token", let text = try? JSONValue.parse(event.data)["text"]?.stringValue {
                    for piece in text.split(separator: " ") {
                        if let index = Int(piece), let sent = clock.sentAt(index) { latency.record(micros(now - sent)) }
                    }
                }
                if event.event == "completed" || event.event == "failed" { final = event.event }
            }
        }
        print(String(format: "token latency %@ (upstream wrote → SSE event read), %d tokens: p50 %.2f ms  p99 %.2f ms  max %.2f ms  (%@)",
                     label, latency.totalCount, ms(latency, 50), ms(latency, 99), Double(latency.max) / 1000, final))
        report["tokenLatencyMs \(label)"] = summary(latency)
    }
}

/// When the upstream wrote each token.
final class TokenClock: Sendable {
    private let times = Mutex<[Int: ContinuousClock.Instant]>([:])

    func reset() { times.withLock { $0.removeAll(keepingCapacity: true) } }
    func sent(_ index: Int) { times.withLock { $0[index] = .now } }
    func sentAt(_ index: Int) -> ContinuousClock.Instant? { times.withLock { $0[index] } }
}
