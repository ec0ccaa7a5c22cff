import Crypto
import Foundation
import Hummingbird
import OffloadCore
import OffloadProcessing
import OffloadStore

/// The client side of the job API: submit, history, one job, cancel, its events, a stream token.
struct JobRoutes {
    let store: any JobStore
    let processors: ProcessorRegistry
    let tokens: TokenIssuer
    let configuration: ServerConfiguration
    let events: JobEventStream
    let switches: TypeSwitches
    let synchronous: SynchronousRun
    let metrics: ServerMetrics
    let ids = IDGenerator()

    struct StreamToken: Encodable {
        var token: String
        var expiresIn: Int
        var url: String
    }

    /// One submission body, checked and ready to store: its template applied, its data validated by the
    /// processor, its cache key and type's default timeout set, its type switched on. Single and batch
    /// submits both go through here.
    private func prepare(_ body: JSONValue, tenant: String, jobId: String, now: Date) async throws -> NewJob {
        let (job, fallback) = try await prepareAllowingFallback(body, tenant: tenant, jobId: jobId, now: now)
        if fallback != nil { throw Self.switchedOff(job.processingType) }
        return job
    }

    private static func switchedOff(_ type: String) -> OffloadError {
        OffloadError.unprocessable("processing type '\(type)' is switched off")
    }

    /// `prepare`, but a type switched off with a fallback comes back with it instead of being refused.
    private func prepareAllowingFallback(_ body: JSONValue, tenant: String, jobId: String, now: Date) async throws
        -> (NewJob, TypeFallback?)
    {
        var job = try NewJob(submission: try JobSubmission(json: try await withTemplate(body)), tenant: tenant, jobId: jobId, now: now)
        try await validateTypeAndData(job)
        if job.cacheMaxAge != nil {
            // SHA-256 of type and canonical data identifies equal work.
            job.cacheKey = Hex.encode(SHA256.hash(data: job.cacheMaterial))
        }
        job.timeoutSeconds = job.timeoutSeconds ?? configuration.typeTimeouts[job.processingType]
        return (job, try await switches.fallback(for: job.processingType))
    }

    /// A type this server knows checks its data; another type is accepted when a registered worker declared
    /// it (a worker written by the user, in any language). A shell job's bundle must exist in its tenant.
    private func validateTypeAndData(_ job: NewJob) async throws {
        var declaredByWorker = false
        if processors[job.processingType] == nil {
            declaredByWorker = try await store.workers().contains { $0.processingTypes.contains(job.processingType) }
        }
        if !declaredByWorker { try processors.validate(type: job.processingType, data: job.data) }
        if job.processingType == "shell", let bundle = job.data["bundleId"]?.stringValue {
            guard try await store.fileExists(id: bundle, tenant: job.tenant) else {
                throw OffloadError.unprocessable("no bundle \(bundle): upload it first with POST /api/files")
            }
        }
    }

    /// The body with its named template's fields filled in (404 for an unknown template).
    private func withTemplate(_ body: JSONValue) async throws -> JSONValue {
        guard let name = body["template"] else { return body }
        guard let text = name.stringValue else { throw OffloadError.badRequest("template must be a template name") }
        guard let template = try await store.template(name: text) else { throw OffloadError.notFound("no template \(text)") }
        return try JobSubmission.applying(template: template, to: body)
    }

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/jobs") { request, context -> Response in
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
            let now = Date()
            let (job, fallback) = try await prepareAllowingFallback(body, tenant: identity.tenant, jobId: ids.jobId(at: now), now: now)
            if fallback == .refuse { throw Self.switchedOff(job.processingType) }
            let submit = { @Sendable () async throws -> SubmitOutcome in
                guard let outcome = try await store.submit([job]).first else {
                    throw OffloadError.unavailable("the store did not answer the submit")
                }
                if outcome.created { metrics.submitted([outcome.job]) }
                return outcome
            }
            if stream, fallback != .sync {
                return try await events.submitAndStream(jobId: job.jobId, identity: identity, submit: submit)
            }
            let outcome = try await submit()
            if fallback == .sync, outcome.created {
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

        group.post("/jobs/batch") { request, context -> Response in
            let identity = try context.require(.client)
            let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
            guard let items = body["jobs"]?.arrayValue else {
                throw OffloadError.badRequest("the body must be {\"jobs\": [submissions]}")
            }
            guard Limits.batchSize.allows(items.count) else {
                throw OffloadError.unprocessable("a batch holds \(Limits.batchSize.range) jobs, not \(items.count)")
            }
            let now = Date()
            let jobIds = ids.jobIds(items.count, at: now)
            var jobs: [NewJob] = []
            var problems: [JSONValue] = []
            for (index, item) in items.enumerated() {
                do {
                    jobs.append(try await prepare(item, tenant: identity.tenant, jobId: jobIds[index], now: now))
                } catch let error as OffloadError {
                    // A lookup in the store failed: the whole batch is worth retrying, no item is invalid.
                    if case .unavailable = error { throw error }
                    problems.append(["index": .int(Int64(index)), "code": .string(error.code), "message": .string(error.message)])
                }
            }
            guard problems.isEmpty else {
                throw OffloadError.invalidItems("\(problems.count) of \(items.count) jobs are invalid; none was stored", problems)
            }
            let outcomes = try await store.submit(jobs)
            metrics.submitted(outcomes.filter(\.created).map(\.job))
            return HTTPJSON.response(json: ["jobs": .array(outcomes.map(\.job.jsonValue))], status: .created)
        }

        group.get("/jobs") { request, context -> Response in
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

        group.get("/jobs/{id}") { _, context -> Response in
            let id = try context.path("id")
            let identity = try context.requireReader(of: id)
            guard let job = try await store.job(id: id, tenant: identity.tenantFilter) else {
                throw OffloadError.notFound("no job \(id)")
            }
            return HTTPJSON.response(json: job.jsonValue)
        }

        group.post("/jobs/{id}/cancel") { _, context -> Response in
            let identity = try context.require(.client)
            let id = try context.path("id")
            return HTTPJSON.response(json: try await store.cancel(jobId: id, tenant: identity.tenantFilter, at: Date()).jsonValue)
        }

        group.post("/jobs/{id}/retry") { _, context -> Response in
            let identity = try context.require(.client)
            let id = try context.path("id")
            return HTTPJSON.response(json: try await store.retry(jobId: id, tenant: identity.tenantFilter, at: Date()).jsonValue)
        }

        group.get("/jobs/{id}/events") { request, context -> Response in
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

        group.post("/jobs/{id}/stream-token") { _, context -> Response in
            let identity = try context.require(.client)
            let id = try context.path("id")
            guard try await store.job(id: id, tenant: identity.tenantFilter) != nil else {
                throw OffloadError.notFound("no job \(id)")
            }
            let lifetime = configuration.streamTokenLifetime
            let token = try await tokens.issue(for: identity, lifetime: lifetime, jobScope: id)
            return try HTTPJSON.response(
                StreamToken(token: token, expiresIn: Int(lifetime), url: "/api/sse/job-progress/\(id)?token=\(token)"),
                status: .created)
        }
    }
}
