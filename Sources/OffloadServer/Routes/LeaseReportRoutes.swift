import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// A remote worker's reports on a job it leased: events, then complete, fail or release. Each carries the
/// lease token; a stale one is refused with 409 and changes nothing.
struct LeaseReportRoutes {
    let store: any JobStore
    let configuration: ServerConfiguration
    let metrics: ServerMetrics

    func register(on group: RouterGroup<OffloadRequestContext>) {
        let limit = configuration.maxBodyBytes
        group.post("/jobs/{id}/events") { request, context -> Response in
            let (id, body, token) = try await lease(request, context, limit: limit)
            guard let list = body["events"]?.arrayValue, list.count <= 10_000 else {
                throw OffloadError.badRequest("events must be an array of {kind, data}")
            }
            let events = try list.map { item in
                guard let kindName = item["kind"]?.stringValue, let kind = EventKind(rawValue: kindName) else {
                    throw OffloadError.badRequest("each event needs a kind: progress, log or token")
                }
                return EventReport(kind: kind, data: item["data"] ?? .null)
            }
            let outcome = try await store.report(jobId: id, leaseToken: token, events: events, at: Date())
            return HTTPJSON.response(json: [
                "events": .int(Int64(outcome.events.count)), "cancelRequested": .bool(outcome.cancelRequested),
            ])
        }

        group.post("/jobs/{id}/complete") { request, context -> Response in
            let (id, body, token) = try await lease(request, context, limit: limit)
            let job = try await store.complete(jobId: id, leaseToken: token, result: body["result"] ?? .null, at: Date())
            return HTTPJSON.response(json: job.jsonValue)
        }

        group.post("/jobs/{id}/fail") { request, context -> Response in
            let (id, body, token) = try await lease(request, context, limit: limit)
            guard let message = body["error"]?.stringValue, !message.isEmpty else {
                throw OffloadError.badRequest("error must be a non-empty message")
            }
            // `"retry": false`: never again; `"retryAfterSeconds": n`: not before n seconds (an upstream's Retry-After).
            let retry: RetryHint =
                body["retry"]?.boolValue == false
                ? .never
                : body["retryAfterSeconds"]?.doubleValue.flatMap { $0 >= 0 ? .after(min($0, 86_400)) : nil } ?? .backoff
            let now = Date()
            let policy = configuration.retryPolicy
            let job = try await store.fail(
                jobId: id, leaseToken: token, error: String(message.prefix(10_000)), result: body["result"],
                retryAt: { retry.retryAt(afterAttempt: $0, now: now, policy: policy) }, at: now)
            metrics.retried(job)
            return HTTPJSON.response(json: job.jsonValue)
        }

        group.post("/jobs/{id}/release") { request, context -> Response in
            let (id, _, token) = try await lease(request, context, limit: limit)
            return HTTPJSON.response(json: try await store.release(jobId: id, leaseToken: token, at: Date()).jsonValue)
        }
    }

    /// The job id, the body and its lease token (400 without one).
    private func lease(_ request: Request, _ context: OffloadRequestContext, limit: Int) async throws
        -> (String, JSONValue, String)
    {
        _ = try context.require(.worker)
        let id = try context.parameters.require("id")
        let body = try await HTTPJSON.value(from: request, limit: limit)
        guard let token = body["leaseToken"]?.stringValue, !token.isEmpty else {
            throw OffloadError.badRequest("missing field 'leaseToken'")
        }
        return (id, body, token)
    }
}
