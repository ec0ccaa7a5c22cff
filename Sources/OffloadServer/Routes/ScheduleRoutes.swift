import Foundation
import Hummingbird
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Recurring jobs (admin): `POST /api/schedules` with a name, a cron expression (UTC) and the job to enqueue.
struct ScheduleRoutes {
    let store: any JobStore
    let submitter: JobSubmitter
    let maxBodyBytes: Int

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/schedules", use: create)
        group.get("/schedules", use: list)
        group.delete("/schedules/{name}", use: delete)
    }

    /// `POST /api/schedules`.
    @Sendable func create(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        let identity = try context.require(.admin)
        let body = try await HTTPJSON.object(from: request, limit: maxBodyBytes)
        let schedule = try await schedule(from: body, tenant: identity.tenant, now: Date())
        try await store.saveSchedule(schedule)
        return HTTPJSON.response(json: schedule.jsonValue, status: .created)
    }

    /// `GET /api/schedules`.
    @Sendable func list(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        return HTTPJSON.page("schedules", try await store.schedules().map(\.jsonValue), nextCursor: nil)
    }

    /// `DELETE /api/schedules/{name}`.
    @Sendable func delete(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let name = try context.path("name")
        guard try await store.deleteSchedule(name: name) else { throw OffloadError.notFound("no schedule \(name)") }
        return Response(status: .noContent)
    }

    /// The schedule a body describes, its job checked as a submit's would be (422 when it could not run).
    private func schedule(from body: JSONValue, tenant: String, now: Date) async throws -> Schedule {
        guard let name = body["name"]?.stringValue, Limits.scheduleName.allows(length: name), Names.isPlain(name) else {
            throw OffloadError.badRequest("a schedule needs a name of 1 to 100 ASCII letters, digits, '-', '_' or '.'")
        }
        guard let cronText = body["cron"]?.stringValue else { throw OffloadError.badRequest("a schedule needs a cron expression") }
        let cron = try CronExpression(cronText)
        guard let type = body["processingType"]?.stringValue else {
            throw OffloadError.badRequest("a schedule needs a processingType")
        }
        let data = body["data"] ?? .null
        try await submitter.checkData(of: type, data)
        let options = body["options"] ?? [:]
        guard var fields = options.objectValue else { throw OffloadError.badRequest("options must be a JSON object") }
        let queue = body["queue"]?.stringValue ?? options["queue"]?.stringValue ?? NewJob.defaultQueue
        fields["queue"] = .string(queue)
        // The job each tick makes must be valid now, not fail every minute later.
        _ = try NewJob(
            submission: JobSubmission(processingType: type, data: data, options: .object(fields)),
            tenant: tenant, jobId: "job_check", now: now)
        guard let next = cron.next(after: now) else {
            throw OffloadError.unprocessable("the cron expression '\(cronText)' never matches a date")
        }
        return Schedule(
            name: name, cron: cron.description, processingType: type, queue: queue, data: data, options: options,
            tenant: tenant, nextRunAt: next, createdAt: now)
    }
}
