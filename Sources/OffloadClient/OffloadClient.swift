import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OffloadCore

/// A client of an Offload server: submit jobs, read them, and follow them live.
public struct OffloadClient: Sendable {
    public let baseURL: String
    private let apiKey: String
    private let http: HTTPClient

    /// - Parameters:
    ///   - baseURL: The server, e.g. `http://127.0.0.1:8080`.
    ///   - apiKey: A client (or admin) API key.
    public init(baseURL: String, apiKey: String, httpClient: HTTPClient = .shared) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.http = httpClient
    }

    /// Submits a job; answers it as stored (PENDING, or the earlier job for a repeated idempotency key).
    public func submit(_ processingType: String, data: JSONValue, options: JSONValue = .object([:])) async throws -> Job {
        let body: JSONValue = ["processingType": .string(processingType), "data": data, "options": options]
        return try await send("POST", "/api/jobs", body: Data(body.jsonString().utf8))
    }

    /// The job now.
    public func job(_ jobId: String) async throws -> Job {
        try await send("GET", "/api/jobs/\(jobId)")
    }

    /// Asks for a job to be cancelled.
    public func cancel(_ jobId: String) async throws -> Job {
        try await send("POST", "/api/jobs/\(jobId)/cancel")
    }

    private func send<T: Decodable>(_ method: String, _ path: String, body: Data? = nil) async throws -> T {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .init(rawValue: method)
        request.headers.add(name: "X-API-Key", value: apiKey)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let data = Data(buffer: buffer)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw OffloadClientError.http(status: Int(response.status.code), body: String(decoding: data, as: UTF8.self))
        }
        return try JSONCoding.decoder.decode(T.self, from: data)
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
                        request.headers.add(name: "X-API-Key", value: apiKey)
                        request.headers.add(name: "Accept", value: "text/event-stream")
                        if let lastEventId { request.headers.add(name: "Last-Event-ID", value: lastEventId) }
                        let response = try await http.execute(request, timeout: .hours(24))
                        guard response.status.code == 200 else {
                            let body = try await response.body.collect(upTo: 1024 * 1024)
                            throw OffloadClientError.http(
                                status: Int(response.status.code), body: String(buffer: body))
                        }
                        var parser = SSEParser()
                        for try await chunk in response.body {
                            for event in parser.feed(chunk.readableBytesView) {
                                failures = 0
                                if let id = event.id { lastEventId = id }
                                let update = try WatchUpdate(event)
                                continuation.yield(update)
                                if update.isFinal {
                                    continuation.finish()
                                    return
                                }
                            }
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
                        try? await Task.sleep(for: .milliseconds(250 * (1 << min(failures - 1, 6))))
                    }
                }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// One update of `watch`: the snapshot or a job event.
public enum WatchUpdate: Sendable, Equatable {
    case snapshot(Job)
    case event(seq: Int64, kind: EventKind, data: JSONValue)

    init(_ event: ServerSentEvent) throws {
        let data = try JSONValue.parse(event.data)
        if event.event == "snapshot" {
            self = .snapshot(try JSONCoding.decoder.decode(Job.self, from: Data(event.data.utf8)))
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

public enum OffloadClientError: Error, Sendable, Equatable {
    case http(status: Int, body: String)
    case streamEnded
    case badEvent(String)

    /// Errors that a retry cannot fix (the job does not exist, the key is wrong).
    var isPermanent: Bool {
        if case .http(let status, _) = self { return (400..<500).contains(status) && status != 429 }
        return false
    }
}
