import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// A remote worker's reports on a job it leased, one per request: events, then complete, fail or release. Each
/// carries the lease token; a stale one is refused with 409 and changes nothing. (`POST /api/workers/{id}/sync`
/// carries many at once, through the same `WorkerSession`.)
struct LeaseReportRoutes {
    let session: WorkerSession
    let maxBodyBytes: Int

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/jobs/{id}/events", use: events)
        group.post("/jobs/{id}/complete", use: complete)
        group.post("/jobs/{id}/fail", use: fail)
        group.post("/jobs/{id}/release", use: release)
    }

    /// `POST /api/jobs/{id}/events`.
    @Sendable func events(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let (id, body) = try await self.body(request, context)
        guard body["events"]?.arrayValue != nil else { throw OffloadError.badRequest("events must be an array of {kind, data}") }
        let applied = try await session.apply(try LeaseReport(jobId: id, body: body, end: nil))
        return HTTPJSON.response(json: ["events": .int(Int64(applied.events)), "cancelRequested": .bool(applied.cancelRequested)])
    }

    @Sendable func complete(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await end("complete", request, context)
    }

    @Sendable func fail(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await end("fail", request, context)
    }

    @Sendable func release(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await end("release", request, context)
    }

    /// The attempt's end: the job as it is after it.
    private func end(_ end: String, _ request: Request, _ context: OffloadRequestContext) async throws -> Response {
        let (id, body) = try await self.body(request, context)
        let applied = try await session.apply(try LeaseReport(jobId: id, body: body, end: end))
        guard let job = applied.job else { throw OffloadError.unavailable("the store did not answer the report") }
        return HTTPJSON.response(json: job.jsonValue)
    }

    /// The job id and the body, for a worker key.
    private func body(_ request: Request, _ context: OffloadRequestContext) async throws -> (String, JSONValue) {
        _ = try context.require(.worker)
        return (try context.path("id"), try await HTTPJSON.object(from: request, limit: maxBodyBytes))
    }
}
