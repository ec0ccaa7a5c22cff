import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import OffloadCore

/// What a worker declares when it registers.
public struct WorkerRegistration: Sendable, Equatable {
    /// The id to register under again (a restarted agent keeps its id); nil: the server makes one.
    public var workerId: String?
    public var name: String
    public var processingTypes: [String]
    public var labels: [String: String]
    public var maxConcurrentJobs: Int

    public init(workerId: String?, name: String, processingTypes: [String], labels: [String: String], maxConcurrentJobs: Int) {
        self.workerId = workerId
        self.name = name
        self.processingTypes = processingTypes
        self.labels = labels
        self.maxConcurrentJobs = maxConcurrentJobs
    }

    var jsonValue: JSONValue {
        var fields: [String: JSONValue] = [
            "name": .string(name), "processingTypes": .array(processingTypes.map(JSONValue.string)),
            "labels": .object(labels.mapValues(JSONValue.string)), "maxConcurrentJobs": .int(Int64(maxConcurrentJobs)),
        ]
        if let workerId { fields["workerId"] = .string(workerId) }
        return .object(fields)
    }
}

/// A lease call's answer: new jobs, and running jobs the worker must stop.
public struct LeaseAnswer: Sendable, Equatable {
    public var jobs: [LeasedJob]
    public var cancel: [String]
}

/// One report in a sync: events of a leased job, then, optionally, the end of its attempt.
public struct SyncReport: Sendable, Equatable {
    public enum End: Sendable, Equatable {
        case complete(result: JSONValue)
        case fail(error: String, result: JSONValue?, retry: RetryHint)
        /// Hands the job back (a shutdown), or acknowledges its cancel.
        case release
    }

    public var lease: LeaseRef
    public var events: [EventReport]
    public var end: End?

    public init(lease: LeaseRef, events: [EventReport] = [], end: End? = nil) {
        self.lease = lease
        self.events = events
        self.end = end
    }

    /// The report as the per-job routes take it: `leaseToken`, its `events` (always, when it has no end) and
    /// its end's `result`, `error`, `retry` or `retryAfterSeconds`.
    var fields: [String: JSONValue] {
        var fields: [String: JSONValue] = ["leaseToken": .string(lease.leaseToken)]
        if !events.isEmpty || end == nil {
            fields["events"] = .array(events.map { ["kind": .string($0.kind.rawValue), "data": $0.data] })
        }
        switch end {
        case nil, .release: break
        case .complete(let result):
            fields["result"] = result
        case .fail(let error, let result, let retry):
            fields["error"] = .string(error)
            if let result { fields["result"] = result }
            switch retry {
            case .backoff: break
            case .after(let seconds): fields["retryAfterSeconds"] = .double(seconds)
            case .never: fields["retry"] = false
            }
        }
        return fields
    }

    /// The report in a sync: its fields, with its job and the name of its end.
    var jsonValue: JSONValue {
        var fields = self.fields
        fields["jobId"] = .string(lease.jobId)
        switch end {
        case nil: break
        case .complete: fields["end"] = "complete"
        case .fail: fields["end"] = "fail"
        case .release: fields["end"] = "release"
        }
        return .object(fields)
    }
}

/// A sync's answer: each report's outcome in order (whether its job's cancel was requested, or why the
/// server refused it: `conflict` for a stale lease), new leases, and running jobs to stop.
public struct SyncAnswer: Sendable {
    public var reports: [Result<Bool, OffloadError>]
    public var jobs: [LeasedJob]
    public var cancel: [String]
}

/// A stored bundle: `POST /api/files`'s answer.
public struct UploadedFile: Sendable, Equatable {
    public var fileId: String
    public var size: Int
    public var sha256: String
}

/// The worker side of the HTTP API (a worker key), and bundle uploads (a client key).
///
/// These calls are not retried here: a worker decides itself what to repeat. Their errors are
/// `OffloadError`s: `unavailable` when the server cannot be reached or answers 5xx, `conflict` for a
/// stale lease token, `notFound` for a worker the server does not know (any more).
extension OffloadClient {
    /// Registers (or registers again) a worker; answers its id.
    public func registerWorker(_ registration: WorkerRegistration) async throws -> String {
        let answer = try await call("POST", "/api/workers/register", json: registration.jsonValue)
        guard let id = answer["workerId"]?.stringValue else { throw OffloadError.unavailable("the server answered no workerId") }
        return id
    }

    /// Keeps the worker and the leases of `jobIds` alive; answers the jobs it must stop. `draining` tells the
    /// server the worker is shutting down (it gets no new jobs).
    public func workerHeartbeat(_ workerId: String, jobIds: [String], draining: Bool = false) async throws -> [String] {
        var body: [String: JSONValue] = ["jobIds": .array(jobIds.map(JSONValue.string))]
        if draining { body["status"] = "draining" }
        let answer = try await call("POST", "/api/workers/\(workerId)/heartbeat", json: .object(body))
        return answer["cancel"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// Long-polls for up to `limit` jobs, waiting up to `waitSeconds`; `running` are the jobs the worker runs
    /// now (their leases are extended, and a cancel of one of them ends the wait).
    public func leaseJobs(_ workerId: String, limit: Int, waitSeconds: Int, running: [String]) async throws -> LeaseAnswer {
        let body: JSONValue = ["limit": .int(Int64(limit)), "jobIds": .array(running.map(JSONValue.string))]
        let answer = try await call(
            "POST", "/api/workers/\(workerId)/lease?wait=\(waitSeconds)", json: body, timeout: .seconds(Int64(waitSeconds) + 30))
        return LeaseAnswer(
            jobs: try (answer["jobs"]?.arrayValue ?? []).map(LeasedJob.init(json:)),
            cancel: answer["cancel"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// One round trip of the session protocol: `reports` (events and ends of many jobs), the jobs the worker
    /// runs now (`running`: their leases are extended; leases it no longer lists are handed back) and up to
    /// `lease` new jobs, waiting up to `waitSeconds` for one when there is nothing else to answer.
    public func syncWorker(
        _ workerId: String, reports: [SyncReport], running: [String], lease: Int, waitSeconds: Int
    ) async throws -> SyncAnswer {
        let body: JSONValue = [
            "reports": .array(reports.map(\.jsonValue)), "running": .array(running.map(JSONValue.string)),
            "lease": .int(Int64(lease)),
        ]
        let answer = try await call(
            "POST", "/api/workers/\(workerId)/sync?wait=\(waitSeconds)", json: body, timeout: .seconds(Int64(waitSeconds) + 30))
        let outcomes = answer["reports"]?.arrayValue ?? []
        guard outcomes.count == reports.count else {
            throw OffloadError.unavailable("the server answered \(outcomes.count) outcomes for \(reports.count) reports")
        }
        return SyncAnswer(
            reports: outcomes.map { outcome in
                if outcome["ok"]?.boolValue == true { return .success(outcome["cancelRequested"]?.boolValue ?? false) }
                let message = outcome["error"]?["message"]?.stringValue ?? "refused"
                return .failure(OffloadError(code: outcome["error"]?["code"]?.stringValue ?? "", message: message))
            },
            jobs: try (answer["jobs"]?.arrayValue ?? []).map(LeasedJob.init(json:)),
            cancel: answer["cancel"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    }

    /// Appends progress, log and token events to a leased job; answers whether its cancel was requested.
    public func reportEvents(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool {
        let body = JSONValue.object(SyncReport(lease: lease, events: events).fields)
        return try await call("POST", "/api/jobs/\(lease.jobId)/events", json: body)["cancelRequested"]?.boolValue ?? false
    }

    /// Ends a leased job's attempt successfully with its result.
    public func completeJob(_ lease: LeaseRef, result: JSONValue) async throws {
        let body = JSONValue.object(SyncReport(lease: lease, end: .complete(result: result)).fields)
        _ = try await call("POST", "/api/jobs/\(lease.jobId)/complete", json: body)
    }

    /// Ends a leased job's attempt with an error (and what it produced before, if anything); the server
    /// runs it again while attempts are left: after its backoff, not before `retry`'s delay, or never.
    public func failJob(_ lease: LeaseRef, error: String, result: JSONValue?, retry: RetryHint = .backoff) async throws {
        let body = JSONValue.object(SyncReport(lease: lease, end: .fail(error: error, result: result, retry: retry)).fields)
        _ = try await call("POST", "/api/jobs/\(lease.jobId)/fail", json: body)
    }

    /// Hands a leased job back without counting the attempt (or, when its cancel was requested, ends it
    /// CANCELLED: the way a worker acknowledges a cancel).
    public func releaseJob(_ lease: LeaseRef) async throws {
        _ = try await call("POST", "/api/jobs/\(lease.jobId)/release", json: ["leaseToken": .string(lease.leaseToken)])
    }

    /// Removes the worker from the registry (after it drained).
    public func deregisterWorker(_ workerId: String) async throws {
        _ = try await call("DELETE", "/api/workers/\(workerId)", json: nil)
    }

    /// The content of an uploaded bundle.
    public func downloadFile(_ fileId: String) async throws -> [UInt8] {
        let (_, body) = try await exchange("GET", "/api/files/\(fileId)", body: nil, contentType: nil, timeout: .seconds(600))
        return Array(body.readableBytesView)
    }

    /// Uploads a ZIP bundle for shell jobs (`data.bundleId`).
    public func uploadFile(_ zip: [UInt8]) async throws -> UploadedFile {
        let (_, body) = try await exchange("POST", "/api/files", body: zip, contentType: "application/zip", timeout: .seconds(600))
        let answer = try JSONValue.parse(Array(body.readableBytesView))
        guard let id = answer["fileId"]?.stringValue, let size = answer["size"]?.intValue, let sha = answer["sha256"]?.stringValue else {
            throw OffloadError.unavailable("the server's upload answer was incomplete")
        }
        return UploadedFile(fileId: id, size: Int(size), sha256: sha)
    }

    func call(_ method: String, _ path: String, json: JSONValue?, timeout: TimeAmount = .seconds(60)) async throws -> JSONValue {
        let (status, body) = try await exchange(
            method, path, body: json?.jsonBytes(), contentType: json == nil ? nil : "application/json", timeout: timeout)
        guard status != 204, body.readableBytes > 0 else { return .object([:]) }
        return try JSONValue.parse(Array(body.readableBytesView))
    }

    /// One request with the bearer token (renewed once when refused); a non-2xx answer becomes the
    /// `OffloadError` its body names, an unreachable server `unavailable`.
    func exchange(
        _ method: String, _ path: String, body: [UInt8]?, contentType: String?, timeout: TimeAmount
    ) async throws -> (Int, ByteBuffer) {
        var renewed = false
        while true {
            let response: HTTPClientResponse
            let buffer: ByteBuffer
            do {
                var request = HTTPClientRequest(url: baseURL + path)
                request.method = .init(rawValue: method)
                request.headers.add(name: "Authorization", value: "Bearer \(try await tokens.bearer(renew: renewed))")
                if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
                if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
                response = try await http.execute(request, timeout: timeout)
                buffer = try await response.body.collect(upTo: 1 << 30)
            } catch let error as OffloadClientError {
                throw error.offloadError
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw OffloadError.unavailable("cannot reach \(baseURL): \(error)")
            }
            let status = Int(response.status.code)
            if status == 401 && !renewed {
                renewed = true
                continue
            }
            guard (200..<300).contains(status) else {
                throw OffloadClientError.http(status: status, body: String(buffer: buffer)).offloadError
            }
            return (status, buffer)
        }
    }
}

extension OffloadClientError {
    /// The `OffloadError` an HTTP error answer stands for (the body's message when it has one).
    var offloadError: OffloadError {
        guard case .http(let status, let body) = self else { return .unavailable("\(self)") }
        let message = (try? JSONValue.parse(body))?["error"]?["message"]?.stringValue ?? "HTTP \(status)"
        let codes = [
            400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
            413: "payload_too_large", 422: "unprocessable", 429: "rate_limited",
        ]
        return OffloadError(code: codes[status] ?? "unavailable", message: message)
    }
}
