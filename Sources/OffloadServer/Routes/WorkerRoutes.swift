import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// The worker side of the API: the registry (register, heartbeat, long-poll lease, deregister) and an
/// admin's view of it (list, pause, resume).
struct WorkerRoutes {
    let store: any JobStore
    let configuration: ServerConfiguration
    /// This server's in-process workers, which its pause and resume reach at once.
    let presence: InProcessPresence?
    let session: WorkerSession
    let ids = IDGenerator()

    func register(on group: RouterGroup<OffloadRequestContext>) {
        group.post("/workers/register", use: registerWorker)
        group.post("/workers/{id}/heartbeat", use: heartbeat)
        group.post("/workers/{id}/lease", use: lease)
        group.post("/workers/{id}/sync", use: sync)
        group.delete("/workers/{id}", use: delete)
        group.get("/workers", use: list)
        group.get("/workers/{id}", use: show)
        group.post("/workers/{id}/pause", use: pause)
        group.post("/workers/{id}/resume", use: resume)
    }

    /// `POST /api/workers/register`.
    @Sendable func registerWorker(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.worker)
        let record = try registration(try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes), now: Date())
        try await store.registerWorker(record)
        return HTTPJSON.response(
            json: [
                "workerId": .string(record.workerId), "heartbeatIntervalSeconds": 10,
                "leaseSeconds": .int(Int64(configuration.leaseSeconds)),
            ],
            status: .created)
    }

    /// `POST /api/workers/{id}/heartbeat`.
    @Sendable func heartbeat(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.worker)
        let id = try context.path("id")
        let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
        let jobIds = try Self.jobIds(body)
        guard try await store.touchWorker(id: id, at: Date()) else { throw OffloadError.notFound("no worker \(id)") }
        if let status = body["status"], !status.isNull {
            guard status.stringValue == WorkerStatus.draining.rawValue else {
                throw OffloadError.unprocessable("a worker may set its status to draining only")
            }
            _ = try await store.setWorkerStatus(id: id, status: .draining)
        }
        let cancel = try await store.heartbeat(
            workerId: id, jobIds: jobIds, until: Date().addingTimeInterval(configuration.leaseSeconds))
        return HTTPJSON.response(json: ["cancel": .array(cancel.map(JSONValue.string))])
    }

    /// `POST /api/workers/{id}/lease`.
    @Sendable func lease(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.worker)
        let id = try context.path("id")
        let wait = try Self.wait(request, fallback: 30)
        let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
        // The worker's list reconciles only when it sends one: the server's record decides capacity anyway.
        let running = try body["jobIds"].flatMap { $0.isNull ? nil : try Self.jobIds(body) }
        let wanted = try Self.limit(body["limit"], default: 1, field: "limit")
        return try await ConnectionWatch.watching(context.channel, if: wait > .zero) { gone in
            try await lease(workerId: id, wanted: wanted, running: running, wait: wait, clientGone: gone)
        }
    }

    /// `POST /api/workers/{id}/sync`.
    @Sendable func sync(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.worker)
        let id = try context.path("id")
        let wait = try Self.wait(request, fallback: 0)
        let body = try await HTTPJSON.object(from: request, limit: configuration.maxBodyBytes)
        // Reports answer at once: only a sync without any may wait.
        let waits = wait > .zero && (body["reports"]?.arrayValue ?? []).isEmpty
        return try await ConnectionWatch.watching(context.channel, if: waits) { gone in
            try await sync(workerId: id, body: body, wait: wait, clientGone: gone)
        }
    }

    /// `DELETE /api/workers/{id}`.
    @Sendable func delete(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.worker)
        let id = try context.path("id")
        guard try await store.deleteWorker(id: id) else { throw OffloadError.notFound("no worker \(id)") }
        return Response(status: .noContent)
    }

    /// `GET /api/workers`.
    @Sendable func list(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let (workers, running) = (try await store.workers(), try await store.runningJobs())
        let now = Date()
        return HTTPJSON.page(
            "workers",
            workers.map {
                $0.jsonValue(at: now, offlineAfter: configuration.workerOfflineAfter, runningJobIds: running[$0.workerId] ?? [])
            },
            nextCursor: nil)
    }

    /// `GET /api/workers/{id}`.
    @Sendable func show(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let id = try context.path("id")
        guard let worker = try await store.worker(id: id) else { throw OffloadError.notFound("no worker \(id)") }
        return try await answer(worker)
    }

    @Sendable func pause(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await set(.paused, context)
    }

    @Sendable func resume(_ request: Request, context: OffloadRequestContext) async throws -> Response {
        try await set(.active, context)
    }

    /// Pauses or resumes a worker; answers it.
    private func set(_ status: WorkerStatus, _ context: OffloadRequestContext) async throws -> Response {
        _ = try context.require(.admin)
        let id = try context.path("id")
        guard let worker = try await store.setWorkerStatus(id: id, status: status) else {
            throw OffloadError.notFound("no worker \(id)")
        }
        if let presence, presence.workerId == id {
            presence.set(paused: status == .paused, bus: store.eventBus)
        } else {
            // A remote worker's waiting long poll looks at its status again: paused, it withdraws the
            // lease it parked in the store; resumed, it leases the jobs that waited meanwhile.
            store.eventBus.work.fire()
        }
        return try await answer(worker)
    }

    /// A worker as the API shows it, with the jobs it runs now.
    private func answer(_ worker: WorkerRecord) async throws -> Response {
        let running = try await store.runningJobs()[worker.workerId] ?? []
        return HTTPJSON.response(
            json: worker.jsonValue(at: Date(), offlineAfter: configuration.workerOfflineAfter, runningJobIds: running))
    }

    /// The long poll: a sync without reports. It answers at once when running jobs must stop (with what free
    /// capacity leases now), else with jobs as soon as one matches, else 204 when `wait` runs out.
    private func lease(workerId: String, wanted: Int, running: [String]?, wait: Duration, clientGone: Latch<Void>) async throws
        -> Response
    {
        let exchange = try await session.exchange(
            workerId: workerId, reports: [], running: running ?? [], reconcile: running != nil, wanted: wanted, wait: wait,
            clientGone: clientGone)
        guard !exchange.jobs.isEmpty || !exchange.cancel.isEmpty else { return Response(status: .noContent) }
        return HTTPJSON.response(json: [
            "jobs": .array(exchange.jobs.map(\.jsonValue)), "cancel": .array(exchange.cancel.map(JSONValue.string)),
        ])
    }

    /// `POST /api/workers/{id}/sync`: many reports, the running jobs and the free slots in one round trip; the
    /// answer carries each report's outcome, new leases and the running jobs to stop.
    private func sync(workerId: String, body: JSONValue, wait: Duration, clientGone: Latch<Void>) async throws -> Response {
        guard let given = body["running"], let running = try? Self.ids(given) else {
            throw OffloadError.badRequest("running must be the array of the ids of the jobs the worker runs now")
        }
        var reports: [LeaseReport] = []
        if let list = body["reports"], !list.isNull {
            guard let items = list.arrayValue, Limits.reports.allows(items.count) else {
                throw OffloadError.badRequest("reports must be an array of at most 10,000 reports")
            }
            reports = try items.map { item in
                guard let jobId = item["jobId"]?.stringValue else { throw OffloadError.badRequest("each report needs a jobId") }
                if let end = item["end"], !end.isNull, end.stringValue == nil {
                    throw OffloadError.badRequest("end must be complete, fail or release")
                }
                return try LeaseReport(jobId: jobId, body: item, end: item["end"]?.stringValue)
            }
        }
        let wanted = try Self.limit(body["lease"], default: 0, field: "lease")
        let exchange = try await session.exchange(
            workerId: workerId, reports: reports, running: running, reconcile: true, wanted: wanted, wait: wait, clientGone: clientGone)
        let answers: [JSONValue] = exchange.reports.map { jobId, outcome in
            switch outcome {
            case .success(let applied):
                return ["jobId": .string(jobId), "ok": true, "cancelRequested": .bool(applied.cancelRequested)]
            case .failure(let error):
                return ["jobId": .string(jobId), "ok": false, "error": ["code": .string(error.code), "message": .string(error.message)]]
            }
        }
        return HTTPJSON.response(json: [
            "reports": .array(answers), "jobs": .array(exchange.jobs.map(\.jsonValue)),
            "cancel": .array(exchange.cancel.map(JSONValue.string)),
        ])
    }

    /// `?wait=` in seconds (0…60, `fallback` when absent).
    private static func wait(_ request: Request, fallback: Int) throws -> Duration {
        guard let text = request.uri.queryParameters["wait"] else { return .seconds(fallback) }
        guard let value = Int(text), Limits.leaseWait.allows(value) else {
            throw OffloadError.badRequest("wait must be an integer number of seconds in \(Limits.leaseWait.range)")
        }
        return .seconds(value)
    }

    /// How many jobs a call asks for: an integer in 0…1000.
    private static func limit(_ given: JSONValue?, default fallback: Int, field: String) throws -> Int {
        guard let given, !given.isNull else { return fallback }
        guard let value = given.intValue, Limits.leaseCount.allows(value) else {
            throw OffloadError.badRequest("\(field) must be an integer in \(Limits.leaseCount.range)")
        }
        return Int(value)
    }

    private static func jobIds(_ body: JSONValue) throws -> [String] {
        guard let given = body["jobIds"], !given.isNull else { return [] }
        return try ids(given)
    }

    /// An array of at most 10,000 job ids.
    private static func ids(_ given: JSONValue) throws -> [String] {
        guard let list = given.arrayValue, Limits.jobIds.allows(list.count) else {
            throw OffloadError.badRequest("jobIds must be an array of job ids")
        }
        return try list.map { item in
            guard let id = item.stringValue else { throw OffloadError.badRequest("jobIds must be an array of job ids") }
            return id
        }
    }

    /// A registration body, checked: `{workerId?, name, processingTypes, labels?, maxConcurrentJobs?}`. Every
    /// remote worker carries `mode=distributed`, so a job can ask for remote workers only.
    private func registration(_ body: JSONValue, now: Date) throws -> WorkerRecord {
        var workerId = ids.make(prefix: "wrk_", at: now)
        if let given = body["workerId"], !given.isNull {
            guard let text = given.stringValue, text.hasPrefix("wrk_"), Limits.workerId.allows(length: text),
                text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { throw OffloadError.unprocessable("workerId must be an id this server gave out (wrk_…)") }
            workerId = text
        }
        guard let name = body["name"]?.stringValue, Limits.workerName.allows(length: name) else {
            throw OffloadError.unprocessable("name must be a string of 1 to 128 characters")
        }
        guard let typeList = body["processingTypes"]?.arrayValue, Limits.workerTypes.allows(typeList.count) else {
            throw OffloadError.unprocessable("processingTypes must be an array of 1 to 200 processing types")
        }
        let types = try typeList.map { item in
            guard let type = item.stringValue, Limits.processingType.allows(length: type) else {
                throw OffloadError.unprocessable("each processing type must be a string of 1 to 64 characters")
            }
            return type
        }
        var labels: [String: String] = [:]
        if let given = body["labels"], !given.isNull { labels = try JobLabels.parse(given, field: "labels") }
        labels.merge(JobLabels.distributed) { _, mode in mode }
        var maxJobs = 1
        if let given = body["maxConcurrentJobs"], !given.isNull {
            guard let value = given.intValue, Limits.workerCapacity.allows(value) else {
                throw OffloadError.unprocessable("maxConcurrentJobs must be an integer in \(Limits.workerCapacity.range)")
            }
            maxJobs = Int(value)
        }
        return WorkerRecord(
            workerId: workerId, name: name, processingTypes: Array(Set(types)).sorted(), labels: labels,
            maxConcurrentJobs: maxJobs, registeredAt: now, lastHeartbeatAt: now)
    }
}
