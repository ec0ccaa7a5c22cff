import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OffloadCore

/// A client of an Offload server: submit jobs, read them, and follow them live.
///
/// It exchanges its API key for a JWT on first use and renews it 5 minutes before it expires (or at once
/// when the server refuses it). Calls that are safe to repeat (reads, cancel, and a submit that carries an
/// `idempotencyKey`) are retried on connection errors, 5xx and 429 with backoff; a submit without one is
/// never retried, since a retry could store the job twice.
public struct OffloadClient: Sendable {
    public let baseURL: String
    let http: HTTPClient
    let tokens: TokenSource
    private let maxAttempts: Int

    /// - Parameters:
    ///   - baseURL: The server, e.g. `http://127.0.0.1:8080`.
    ///   - apiKey: A client (or admin) API key.
    ///   - refreshMargin: How long before its expiry a token is renewed.
    ///   - maxAttempts: Attempts of a retryable call, the first included.
    public init(
        baseURL: String, apiKey: String, httpClient: HTTPClient = .shared, refreshMargin: TimeInterval = 300,
        maxAttempts: Int = 4
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.http = httpClient
        self.maxAttempts = max(1, maxAttempts)
        tokens = TokenSource(baseURL: self.baseURL, apiKey: apiKey, http: httpClient, refreshMargin: refreshMargin)
    }

    /// Submits a job; answers it as stored (PENDING, or the earlier job for a repeated idempotency key).
    public func submit(_ processingType: String, data: JSONValue, options: JSONValue = .object([:])) async throws -> Job {
        let body: JSONValue = ["processingType": .string(processingType), "data": data, "options": options]
        return try Job(json: await send("POST", "/api/jobs", body: body, retryable: options["idempotencyKey"] != nil))
    }

    /// Submits a job and waits up to `seconds` for it to end (the synchronous fallback): answers the job as
    /// it is then, finished or not.
    public func submitAndWait(
        _ processingType: String, data: JSONValue, options: JSONValue = .object([:]), seconds: Int
    ) async throws -> Job {
        let body: JSONValue = ["processingType": .string(processingType), "data": data, "options": options]
        return try Job(json: await send("POST", "/api/jobs?wait=\(seconds)", body: body, retryable: options["idempotencyKey"] != nil))
    }

    /// Submits up to 1,000 jobs in one transaction (all or none); each is `{processingType, data, options}`.
    public func submitBatch(_ submissions: [JSONValue]) async throws -> [Job] {
        try JobList(json: await send("POST", "/api/jobs/batch", body: ["jobs": .array(submissions)], retryable: false)).jobs
    }

    /// The job now.
    public func job(_ jobId: String) async throws -> Job {
        try Job(json: await send("GET", "/api/jobs/\(jobId)", retryable: true))
    }

    /// A page of jobs, newest first; pass the answer's `nextCursor` as `cursor` for the next page.
    public func jobs(
        status: JobStatus? = nil, processingType: String? = nil, queue: String? = nil, cursor: String? = nil, limit: Int = 50
    ) async throws -> JobList {
        var query = ["limit=\(limit)"]
        if let status { query.append("status=\(status.rawValue)") }
        if let processingType { query.append("type=\(processingType)") }
        if let queue { query.append("queue=\(queue)") }
        if let cursor { query.append("cursor=\(cursor)") }
        return try JobList(json: await send("GET", "/api/jobs?" + query.joined(separator: "&"), retryable: true))
    }

    /// Asks for a job to be cancelled.
    public func cancel(_ jobId: String) async throws -> Job {
        try Job(json: await send("POST", "/api/jobs/\(jobId)/cancel", retryable: true))
    }

    /// Runs a FAILED or CANCELLED job again.
    public func retry(_ jobId: String) async throws -> Job {
        try Job(json: await send("POST", "/api/jobs/\(jobId)/retry", retryable: false))
    }

    // MARK: Administration (an admin key)

    /// The queues paused now (nothing is leased from them).
    public func pausedQueues() async throws -> [String] {
        let answer = try await send("GET", "/api/queues", retryable: true)
        return answer["queues"]?.arrayValue?.compactMap { $0["queue"]?.stringValue } ?? []
    }

    /// Pauses (or resumes) a queue; jobs in a paused queue wait, none is lost.
    public func setQueue(_ name: String, paused: Bool) async throws {
        _ = try await send("POST", "/api/queues/\(name)/\(paused ? "pause" : "resume")", retryable: true)
    }

    /// Every processing type with its switch: `{"processingType", "enabled", "fallback"?}`.
    public func types() async throws -> [JSONValue] {
        let answer = try await send("GET", "/api/types", retryable: true)
        return answer["types"]?.arrayValue ?? []
    }

    /// Switches a processing type on, or off with a fallback (`refuse` or `sync`).
    public func setType(_ processingType: String, enabled: Bool, fallback: String? = nil) async throws -> JSONValue {
        var body: [String: JSONValue] = ["enabled": .bool(enabled)]
        if let fallback { body["fallback"] = .string(fallback) }
        return try await send("PUT", "/api/types/\(processingType)", body: .object(body), retryable: true)
    }

    /// Whether the server answers (`/health`) and whether its store does too (`/ready`); needs no key.
    public func health() async throws -> (live: Bool, ready: Bool) {
        func status(_ path: String) async throws -> Bool {
            let response = try await http.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 16)
            return response.status.code == 200
        }
        return (try await status("/health"), try await status("/ready"))
    }

    /// One call; answers its JSON body, read by the one JSON parser every module uses (and `Job(json:)`
    /// reads a job from it: the API's one wire format for a job).
    private func send(_ method: String, _ path: String, body: JSONValue? = nil, retryable: Bool) async throws -> JSONValue {
        var attempt = 1
        var renewed = false
        while true {
            do {
                var request = HTTPClientRequest(url: baseURL + path)
                request.method = .init(rawValue: method)
                request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.bearer())")
                if let body {
                    request.headers.add(name: "Content-Type", value: "application/json")
                    request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
                }
                let response = try await http.execute(request, timeout: .seconds(330))
                let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
                guard (200..<300).contains(Int(response.status.code)) else {
                    throw OffloadClientError.http(status: Int(response.status.code), body: String(buffer: buffer))
                }
                do {
                    return try JSONValue.parse(Array(buffer.readableBytesView))
                } catch {
                    throw OffloadClientError.malformedAnswer(path)
                }
            } catch OffloadClientError.http(let status, _) where status == 401 && !renewed {
                // The token was refused (expired, or the server's secret changed): one more try with a new one.
                renewed = true
                _ = try await tokens.bearer(renew: true)
            } catch let error as OffloadClientError where error.isPermanent || !retryable || attempt >= maxAttempts {
                throw error
            } catch let error where !retryable || attempt >= maxAttempts {
                throw error
            } catch {
                try await Task.sleep(for: .milliseconds(100 * (1 << min(attempt - 1, 6))))
                attempt += 1
            }
        }
    }

    /// Follows a job over SSE: its snapshot, then every event until the final one.
    ///
    /// A dropped connection is resumed with `Last-Event-ID` (no event twice, none missing), with exponential
    /// backoff and at most `maxReconnects` attempts in a row.
    /// - Parameter resumeFrom: Start after this event seq (0: replay the whole log) instead of at the snapshot.
    public func watch(_ jobId: String, resumeFrom: Int64? = nil, maxReconnects: Int = 5) -> AsyncThrowingStream<WatchUpdate, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var lastEventId = resumeFrom.map(String.init)
                var failures = 0
                while !Task.isCancelled {
                    do {
                        var request = HTTPClientRequest(url: baseURL + "/api/sse/job-progress/\(jobId)")
                        request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.bearer())")
                        request.headers.add(name: "Accept", value: "text/event-stream")
                        if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
                        let response = try await http.execute(request, timeout: .hours(24))
                        guard response.status.code == 200 else {
                            let body = try await response.body.collect(upTo: 1024 * 1024)
                            throw OffloadClientError.http(
                                status: Int(response.status.code), body: String(buffer: body))
                        }
                        var parser = SSEParser()
                        var endedOnFinalSnapshot = false
                        for try await chunk in response.body {
                            for event in parser.feed(chunk.readableBytesView) {
                                failures = 0
                                if let id = event.id { lastEventId = id }
                                let update = try WatchUpdate(event)
                                continuation.yield(update)
                                // A snapshot sent after a Last-Event-ID (it has no id) may have the events the
                                // client missed behind it, even when the job has ended since.
                                let resumedSnapshot = event.event == "snapshot" && event.id == nil
                                if update.isFinal && !resumedSnapshot {
                                    continuation.finish()
                                    return
                                }
                                endedOnFinalSnapshot = update.isFinal
                            }
                        }
                        if endedOnFinalSnapshot {
                            continuation.finish()
                            return
                        }
                        throw OffloadClientError.streamEnded
                    } catch let error as OffloadClientError where error.isPermanent {
                        continuation.finish(throwing: error)
                        return
                    } catch {
                        failures += 1
                        if failures > maxReconnects || Task.isCancelled {
                            continuation.finish(throwing: error)
                            return
                        }
                        if case OffloadClientError.http(401, _) = error { _ = try? await tokens.bearer(renew: true) }
                        try? await Task.sleep(for: .milliseconds(250 * (1 << min(failures - 1, 6))))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// A page of jobs, newest first.
public struct JobList: Sendable {
    public var jobs: [Job]
    /// Pass as `cursor` for the next page; nil on the last one.
    public var nextCursor: String?

    /// Reads `{"jobs": [...], "nextCursor": ...}`.
    init(json: JSONValue) throws {
        jobs = try (json["jobs"]?.arrayValue ?? []).map(Job.init(json:))
        nextCursor = json["nextCursor"]?.stringValue
    }
}

/// One update of `watch`: the snapshot or a job event.
public enum WatchUpdate: Sendable, Equatable {
    case snapshot(Job)
    case event(seq: Int64, kind: EventKind, data: JSONValue)

    init(_ event: ServerSentEvent) throws {
        let data = try JSONValue.parse(event.data)
        if event.event == "snapshot" {
            self = .snapshot(try Job(json: data))
            return
        }
        guard let kind = EventKind(rawValue: event.event), let seq = event.id.flatMap(Int64.init) else {
            throw OffloadClientError.badEvent(event.event)
        }
        self = .event(seq: seq, kind: kind, data: data)
    }

    /// The job has ended: a final event, or a snapshot of a job that had already ended.
    public var isFinal: Bool {
        switch self {
        case .snapshot(let job): return job.status.isFinal
        case .event(_, let kind, _): return kind.isFinal
        }
    }
}

/// What the client throws besides transport errors.
public enum OffloadClientError: Error, Sendable, Equatable {
    case http(status: Int, body: String)
    case streamEnded
    case badEvent(String)
    /// A 2xx answer whose body is not JSON (the path it answered): not what an Offload server sends.
    case malformedAnswer(String)

    /// Errors that a retry cannot fix (the job does not exist, the request is wrong, the answer is not the
    /// API's); a 401 is fixed by a new token, a 429 by waiting.
    var isPermanent: Bool {
        switch self {
        case .http(let status, _): return (400..<500).contains(status) && status != 429 && status != 401
        case .malformedAnswer: return true
        case .streamEnded, .badEvent: return false
        }
    }
}
