import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import OffloadProcessing

/// The `llm.chat` processing type: any OpenAI-compatible `POST /v1/chat/completions` with `stream: true`.
/// Each streamed delta becomes a `token` event at once; the result is the whole text with the model, the
/// finish reason and the usage. The endpoint and its key come from the worker, never from job data.
///
/// Upstream failures become job errors that say what happened, retried when that can help: 401/403 and
/// other 4xx answers, and a malformed chunk, fail at once; 429 waits for its `Retry-After`; 5xx and a stream
/// that stops before its end are retried with backoff. Cancelling the job closes the upstream connection.
public struct LLMChatProcessor: Processor {
    /// Where the worker's LLM is: `OFFLOAD_LLM_BASE_URL` (e.g. `https://api.openai.com/v1`),
    /// `OFFLOAD_LLM_API_KEY`, `OFFLOAD_LLM_MODEL`.
    public struct Endpoint: Sendable, Equatable {
        public var baseURL: String
        public var apiKey: String?
        public var defaultModel: String?

        public init(baseURL: String, apiKey: String?, defaultModel: String?) {
            self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            self.apiKey = apiKey
            self.defaultModel = defaultModel
        }
    }

    public let processingType = "llm.chat"
    /// nil: this instance only validates job data (the server's registry).
    let endpoint: Endpoint?
    let http: HTTPClient

    public init(endpoint: Endpoint?, httpClient: HTTPClient = .shared) {
        self.endpoint = endpoint
        self.http = httpClient
    }

    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]

    public func validate(_ data: JSONValue) throws {
        guard let fields = data.objectValue else {
            throw OffloadError.unprocessable("llm.chat data must be {\"messages\": [{\"role\", \"content\"}], \"model\"?, \"temperature\"?, \"maxTokens\"?}")
        }
        guard let messages = fields["messages"]?.arrayValue, (1...1_000).contains(messages.count) else {
            throw OffloadError.unprocessable("data.messages must be an array of 1 to 1000 messages")
        }
        for message in messages {
            guard let role = message["role"]?.stringValue, Self.roles.contains(role), message["content"]?.stringValue != nil else {
                throw OffloadError.unprocessable(
                    "each message needs a role (\(Self.roles.sorted().joined(separator: ", "))) and a string content")
            }
        }
        if let model = fields["model"], !model.isNull, model.stringValue?.isEmpty != false {
            throw OffloadError.unprocessable("data.model must be a model name")
        }
        if let temperature = fields["temperature"], !temperature.isNull {
            guard let value = temperature.doubleValue, (0...2).contains(value) else {
                throw OffloadError.unprocessable("data.temperature must be a number in 0...2")
            }
        }
        if let maxTokens = fields["maxTokens"], !maxTokens.isNull {
            guard let value = maxTokens.intValue, (1...1_000_000).contains(value) else {
                throw OffloadError.unprocessable("data.maxTokens must be an integer in 1...1000000")
            }
        }
    }

    public func run(_ job: JobContext) async throws -> JSONValue {
        try validate(job.data)
        guard let endpoint else { throw JobFailure("this worker has no LLM endpoint configured", retry: .never) }
        guard let model = job.data["model"]?.stringValue ?? endpoint.defaultModel else {
            throw JobFailure("no model: give data.model or set OFFLOAD_LLM_MODEL on the worker", retry: .never)
        }
        var body: [String: JSONValue] = [
            "model": .string(model), "messages": job.data["messages"] ?? [], "stream": true,
            "stream_options": ["include_usage": true],
        ]
        if let temperature = job.data["temperature"], !temperature.isNull { body["temperature"] = temperature }
        if let maxTokens = job.data["maxTokens"], !maxTokens.isNull { body["max_tokens"] = maxTokens }
        var request = HTTPClientRequest(url: endpoint.baseURL + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "text/event-stream")
        if let key = endpoint.apiKey { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(bytes: JSONValue.object(body).jsonBytes()))

        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: .seconds(Int64(job.job.timeoutSeconds ?? 600)))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw JobFailure("cannot reach the LLM endpoint: \(error)")
        }
        guard response.status == .ok else { throw try await Self.failure(response) }

        var stream = Completion(model: model)
        try await EventForwarder.forward(to: job) { send in
            var parser = SSEParser()
            do {
                for try await chunk in response.body {
                    for event in parser.feed(chunk.readableBytesView) {
                        if let token = try stream.apply(event.data) { send(.token(token)) }
                        if stream.done { return }
                    }
                }
            } catch let failure as JobFailure {
                throw failure
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw JobFailure("the LLM stream broke after \(stream.text.count) characters: \(error)", result: stream.result)
            }
        }
        guard stream.done || stream.finishReason != nil else {
            throw JobFailure("the LLM stream ended before [DONE] after \(stream.text.count) characters", result: stream.result)
        }
        return stream.result
    }

    /// The job error for a non-200 answer, with the upstream's own message when it gives one.
    private static func failure(_ response: HTTPClientResponse) async throws -> JobFailure {
        let body = (try? await response.body.collect(upTo: 64 * 1024)).map { String(buffer: $0) } ?? ""
        let detail = (try? JSONValue.parse(body))?["error"]?["message"]?.stringValue ?? String(body.prefix(300))
        let status = Int(response.status.code)
        let message = "the LLM endpoint answered \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        switch status {
        case 401, 403: return JobFailure(message + " (check OFFLOAD_LLM_API_KEY)", retry: .never)
        case 429:
            let wait = response.headers.first(name: "Retry-After").flatMap(TimeInterval.init) ?? 1
            return JobFailure(message, retry: .after(wait))
        case 500...: return JobFailure(message, retry: .backoff)
        default: return JobFailure(message, retry: .never)
        }
    }

    /// What the stream has said so far.
    struct Completion {
        var model: String
        var text = ""
        var finishReason: String?
        var usage: JSONValue = .null
        var done = false

        /// Applies one `data:` payload; answers the text delta it carried, if any.
        mutating func apply(_ data: String) throws -> String? {
            if data == "[DONE]" {
                done = true
                return nil
            }
            guard let chunk = try? JSONValue.parse(data), chunk.objectValue != nil else {
                throw JobFailure("the LLM endpoint sent a malformed chunk: \(data.prefix(200))", result: result, retry: .never)
            }
            if let error = chunk["error"], !error.isNull {
                throw JobFailure(
                    "the LLM endpoint reported an error mid-stream: \(error["message"]?.stringValue ?? error.jsonString())",
                    result: result)
            }
            if let name = chunk["model"]?.stringValue { model = name }
            if let given = chunk["usage"], !given.isNull { usage = given }
            let choice = chunk["choices"]?.arrayValue?.first
            if let reason = choice?["finish_reason"]?.stringValue { finishReason = reason }
            guard let delta = choice?["delta"]?["content"]?.stringValue, !delta.isEmpty else { return nil }
            text += delta
            return delta
        }

        var result: JSONValue {
            ["text": .string(text), "model": .string(model), "finishReason": finishReason.map(JSONValue.string) ?? .null, "usage": usage]
        }
    }
}

/// Logs and debug output show where the endpoint is, never its key.
extension LLMChatProcessor.Endpoint: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "Endpoint(baseURL: \(baseURL), apiKey: \(apiKey == nil ? "none" : "set"), defaultModel: \(defaultModel ?? "none"))"
    }

    public var debugDescription: String { description }
}
