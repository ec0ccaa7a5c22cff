import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// The client side of the job API: submit, history, one job, cancel, retry, its events, a stream token.
/// Submission logic lives in `JobSubmitter`; each handler here reads the request and writes the answer.
struct JobRoutes {
    let store: any JobStore
    let submitter: JobSubmitter
    let tokens: TokenIssuer
    let configuration: ServerConfiguration
    let events: JobEventStream
    let synchronous: SynchronousRun

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/jobs", use: submit)
        group.post("/jobs/batch", use: submitBatch)
        group.get("/jobs", use: list)
        group.get("/jobs/{id}", use: show)
        group.post("/jobs/{id}/cancel", use: cancel)
        group.post("/jobs/{id}/retry", use: retry)
        group.get("/jobs/{id}/events", use: jobEvents)
        group.post("/jobs/{id}/stream-token", use: streamToken)
    }

    /// `POST /api/jobs`: stores one job; with `?stream=true` answers its SSE stream, with `?wait=S` the job
    /// once it ended (or as it is after S seconds), and runs a type switched off with `fallback: sync` here.
    @Sendable func submit(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let query = request.uri.queryParameters
        let wait = try query["wait"].map { text -> Duration in
            guard let seconds = Double(text), Limits.submitWait.allows(seconds) else {
                throw OffloadError.badRequest("wait must be a number of seconds in \(Limits.submitWait.range)")
            }
            return .milliseconds(Int64(seconds * 1000))
        }
        let stream = query["stream"].map { $0 == "true" || $0 == "1" } ?? false
        let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
        let prepared = try await submitter.prepare(body, tenant: identity.tenant, now: Date())
        let runsHere = prepared.fallback == .sync
        if stream, !runsHere {
            return try await events.submitAndStream(jobId: prepared.job.jobId, identity: identity) {
                try await submitter.submit(prepared.job)
            }
        }
        let outcome = try await submitter.submit(prepared.job)
        if runsHere, outcome.created {
            let ended = try await synchronous.run(jobId: outcome.job.jobId, tenant: identity.tenant)
            return HTTPJSON.response(json: ended.jsonValue, status: ended.status.isFinal ? .ok : .accepted)
        }
        if stream {
            return try await events.stream(jobId: outcome.job.jobId, identity: identity, after: nil)
        }
        if let wait {
            let ended = try await JobWaiter(store: store).job(outcome.job.jobId, tenant: identity.tenant, endingWithin: wait)
            return HTTPJSON.response(json: ended.jsonValue, status: ended.status.isFinal ? .ok : .accepted)
        }
        return HTTPJSON.response(json: outcome.job.jsonValue, status: outcome.created ? .created : .ok)
    }

    /// `POST /api/jobs/batch`: up to 1,000 jobs in one transaction, all or none.
    @Sendable func submitBatch(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
        guard let items = body["jobs"]?.arrayValue else {
            throw OffloadError.badRequest("the body must be {\"jobs\": [submissions]}")
        }
        let jobs = try await submitter.prepareBatch(items, tenant: identity.tenant, now: Date())
        let outcomes = try await submitter.submit(jobs)
        return HTTPJSON.response(json: ["jobs": .array(outcomes.map(\.job.jsonValue))], status: .created)
    }

    /// `GET /api/jobs`: newest first, filtered by status, type and queue, a page at a time.
    @Sendable func list(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let query = request.uri.queryParameters
        var filter = JobQuery(tenant: identity.tenantFilter)
        if let status = query["status"] {
            guard let parsed = JobStatus(rawValue: String(status).uppercased()) else {
                throw OffloadError.badRequest(
                    "status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = parsed
        }
        filter.processingType = query["type"].map(String.init)
        filter.queue = query["queue"].map(String.init)
        filter.before = query["cursor"].map(String.init)
        if identity.role == .admin, let tenant = query["tenant"] { filter.tenant = String(tenant) }
        if let limit = query["limit"] {
            guard let value = Int(limit), Limits.jobPage.allows(value) else {
                throw OffloadError.badRequest("limit must be an integer in \(Limits.jobPage.range)")
            }
            filter.limit = value
        }
        let page = try await store.jobs(filter)
        return HTTPJSON.page("jobs", page.jobs.map(\.jsonValue), nextCursor: page.nextCursor)
    }

    @Sendable func show(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let id = try context.path("id")
        let identity = try context.requireReader(of: id)
        guard let job = try await store.job(id: id, tenant: identity.tenantFilter) else {
            throw OffloadError.notFound("no job \(id)")
        }
        return HTTPJSON.response(json: job.jsonValue)
    }

    @Sendable func cancel(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let id = try context.path("id")
        return HTTPJSON.response(json: try await store.cancel(jobId: id, tenant: identity.tenantFilter, at: Date()).jsonValue)
    }

    @Sendable func retry(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let id = try context.path("id")
        return HTTPJSON.response(json: try await store.retry(jobId: id, tenant: identity.tenantFilter, at: Date()).jsonValue)
    }

    /// `GET /api/jobs/{id}/events`: the job's log after `after`, a page of at most `limit`.
    @Sendable func jobEvents(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let id = try context.path("id")
        let identity = try context.requireReader(of: id)
        let query = request.uri.queryParameters
        var after: Int64 = 0
        if let text = query["after"] {
            guard let value = Int64(text), value >= 0 else {
                throw OffloadError.badRequest("after must be a non-negative integer")
            }
            after = value
        }
        var limit = 1_000
        if let text = query["limit"] {
            guard let value = Int(text), Limits.eventPage.allows(value) else {
                throw OffloadError.badRequest("limit must be an integer in \(Limits.eventPage.range)")
            }
            limit = value
        }
        guard let snapshot = try await store.snapshot(jobId: id, tenant: identity.tenantFilter, after: after, limit: limit)
        else { throw OffloadError.notFound("no job \(id)") }
        let next = snapshot.events.count == limit ? snapshot.events.last.map { String($0.seq) } : nil
        return HTTPJSON.page("events", snapshot.events.map(\.jsonValue), nextCursor: next)
    }

    /// `POST /api/jobs/{id}/stream-token`: a short-lived token that may follow this one job only.
    @Sendable func streamToken(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.client)
        let id = try context.path("id")
        guard try await store.job(id: id, tenant: identity.tenantFilter) != nil else {
            throw OffloadError.notFound("no job \(id)")
        }
        let lifetime = configuration.streamTokenLifetime
        let token = try await tokens.issue(for: identity, lifetime: lifetime, jobScope: id)
        return HTTPJSON.response(
            json: [
                "token": .string(token), "expiresIn": .int(Int64(lifetime)),
                "url": .string("/api/sse/job-progress/\(id)?token=\(token)"),
            ],
            status: .created)
    }
}
