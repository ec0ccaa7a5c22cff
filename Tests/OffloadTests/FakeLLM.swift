import Foundation
import Hummingbird
import Logging
import NIOCore
import OffloadCore

/// A local OpenAI-compatible endpoint on loopback that speaks the real wire format: `data: {...}` chunks
/// with `choices[0].delta.content`, a finish chunk, a usage chunk, `data: [DONE]`, and error bodies.
/// What it does depends on the requested model:
/// `fake` answers "Hello, world!" in four tokens; `slow` sends 40 tokens 50 ms apart; `unauthorized` 401;
/// `ratelimited` 429 with `Retry-After: 2`; `broken` 500; `drop` two tokens, then the connection drops;
/// `malformed` one token, then a chunk that is not JSON. It also serves `/echo` (the request back as JSON)
/// and `/status/{code}` for the http processor.
final class FakeLLM: Sendable {
    static let apiKey = "sk-test-0123456789"
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    /// The request bodies it received.
    let requests = Locked<[JSONValue]>([])
    /// When each token left, by model, for latency figures.
    let sent = Locked<[ContinuousClock.Instant]>([])
    /// Streams whose client went away before the end.
    let disconnects = Locked(0)
    private let stop: Latch<Void>

    private init(port: Int, stop: Latch<Void>) {
        self.port = port
        self.stop = stop
    }

    /// Runs a fake endpoint while `body` runs.
    static func with<T: Sendable>(_ body: @Sendable (FakeLLM) async throws -> T) async throws -> T {
        let stop = Latch<Void>()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let box = Locked<FakeLLM?>(nil)
        let router = Router()
        router.post("/v1/chat/completions") { request, _ -> Response in
            guard let fake = box.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
            return try await fake.chat(request)
        }
        router.on("/echo", method: .post) { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            let echo: JSONValue = [
                "method": .string(request.method.rawValue), "body": .string(String(buffer: body)),
                "header": .string(request.headers[.init("X-Test")!] ?? ""),
            ]
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: echo.jsonBytes())))
        }
        router.get("/status/{code}") { _, context -> Response in
            let code = Int(context.parameters.get("code") ?? "") ?? 500
            return Response(status: .init(code: code), headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "status \(code)")))
        }
        var logger = Logger(label: "fake-llm")
        logger.logLevel = .warning
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await withThrowingTaskGroup(of: Void.self) { inner in
                    inner.addTask { try await app.runService() }
                    _ = await stop.wait()
                    inner.cancelAll()
                }
                return nil
            }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("the fake LLM did not start") }
            let fake = FakeLLM(port: port, stop: stop)
            box.withLock { $0 = fake }
            defer { stop.set(()) }
            return try await body(fake)
        }
    }

    private func chat(_ request: Request) async throws -> Response {
        let body = try JSONValue.parse(String(buffer: try await request.body.collect(upTo: 1 << 20)))
        requests.withLock { $0.append(body) }
        guard request.headers[.authorization] == "Bearer \(Self.apiKey)" else {
            return Self.error(401, "Incorrect API key provided")
        }
        let model = body["model"]?.stringValue ?? ""
        switch model {
        case "unauthorized": return Self.error(401, "Incorrect API key provided")
        case "ratelimited": return Self.error(429, "Rate limit reached", headers: [.retryAfter: "2"])
        case "broken": return Self.error(500, "The server had an error while processing your request")
        default: break
        }
        let tokens = model == "slow" ? (1...40).map { "t\($0) " } : ["Hello", ",", " world", "!"]
        let pause: Duration = model == "slow" ? .milliseconds(50) : .zero
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            func chunk(_ json: JSONValue) async throws {
                try await writer.write(ByteBuffer(string: "data: \(json.jsonString())\n\n"))
            }
            do {
                for (index, token) in tokens.enumerated() {
                    if model == "drop" && index == 2 { throw TestFailure("dropped on purpose") }
                    if model == "malformed" && index == 1 {
                        try await writer.write(ByteBuffer(string: "data: {\"choices\": [oops\n\n"))
                        try await writer.finish(nil)
                        return
                    }
                    self.sent.withLock { $0.append(.now) }
                    try await chunk([
                        "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": .string(model),
                        "choices": [["index": 0, "delta": ["content": .string(token)], "finish_reason": .null]],
                    ])
                    if pause > .zero { try await Task.sleep(for: pause) }
                }
                try await chunk([
                    "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": .string(model),
                    "choices": [["index": 0, "delta": [:], "finish_reason": "stop"]],
                ])
                try await chunk([
                    "id": "chatcmpl-1", "object": "chat.completion.chunk", "model": .string(model), "choices": [],
                    "usage": ["prompt_tokens": 5, "completion_tokens": .int(Int64(tokens.count)), "total_tokens": .int(Int64(tokens.count + 5))],
                ])
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
            } catch {
                self.disconnects.withLock { $0 += 1 }
                throw error
            }
        })
    }

    private static func error(_ status: Int, _ message: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        let body: JSONValue = ["error": ["message": .string(message), "type": "invalid_request_error", "code": .null]]
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body.jsonBytes())))
    }
}
