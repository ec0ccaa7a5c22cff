import Foundation
import Hummingbird
import OffloadCore
import OffloadStore

/// The worker side of the API: the registry (register, heartbeat, long-poll lease, deregister) and an
/// admin's view of it (list, pause, resume).
struct WorkerRoutes {
    let store: any JobStore
    let configuration: ServerConfiguration
    let metrics: ServerMetrics
    /// This server's in-process workers, which its pause and resume reach at once.
    let presence: InProcessPresence?
    let ids = IDGenerator()

    /// Lease calls record that a worker was seen at most this often (heartbeats always do).
    static let presenceInterval: TimeInterval = 2

    func register(on group: RouterGroup<OffloadRequestContext>) {
        let limit = configuration.maxBodyBytes
        group.post("/workers/register") { request, context -> Response in
            _ = try context.require(.worker)
            let record = try registration(try await HTTPJSON.value(from: request, limit: limit), now: Date())
            try await store.registerWorker(record)
            return HTTPJSON.response(
                json: [
                    "workerId": .string(record.workerId), "heartbeatIntervalSeconds": 10,
                    "leaseSeconds": .int(Int64(configuration.leaseSeconds)),
                ],
                status: .created)
        }

        group.post("/workers/{id}/heartbeat") { request, context -> Response in
            _ = try context.require(.worker)
            let id = try context.parameters.require("id")
            let body = try await HTTPJSON.value(from: request, limit: limit)
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

        group.post("/workers/{id}/lease") { request, context -> Response in
            _ = try context.require(.worker)
            let id = try context.parameters.require("id")
            var wait = 30
            if let text = request.uri.queryParameters["wait"] {
                guard let value = Int(text), (0...60).contains(value) else {
                    throw OffloadError.badRequest("wait must be an integer number of seconds in 0...60")
                }
                wait = value
            }
            let body = try await HTTPJSON.value(from: request, limit: limit)
            let running = try Self.jobIds(body)
            var wanted = 1
            if let given = body["limit"], !given.isNull {
                guard let value = given.intValue, (0...1_000).contains(value) else {
                    throw OffloadError.badRequest("limit must be an integer in 0...1000")
                }
                wanted = Int(value)
            }
            return try await ConnectionWatch.watching(context.channel) { gone in
                try await lease(workerId: id, wanted: wanted, running: running, wait: .seconds(wait), clientGone: gone)
            }
        }

        group.delete("/workers/{id}") { _, context -> Response in
            _ = try context.require(.worker)
            let id = try context.parameters.require("id")
            guard try await store.deleteWorker(id: id) else { throw OffloadError.notFound("no worker \(id)") }
            return Response(status: .noContent)
        }

        group.get("/workers") { _, context -> Response in
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

        group.get("/workers/{id}") { _, context -> Response in
            _ = try context.require(.admin)
            let id = try context.parameters.require("id")
            guard let worker = try await store.worker(id: id) else { throw OffloadError.notFound("no worker \(id)") }
            return try await show(worker)
        }

        for (action, status) in [("pause", WorkerStatus.paused), ("resume", .active)] {
            group.post("/workers/{id}/\(action)") { _, context -> Response in
                _ = try context.require(.admin)
                let id = try context.parameters.require("id")
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
                return try await show(worker)
            }
        }
    }

    private func show(_ worker: WorkerRecord) async throws -> Response {
        let running = try await store.runningJobs()[worker.workerId] ?? []
        return HTTPJSON.response(
            json: worker.jsonValue(at: Date(), offlineAfter: configuration.workerOfflineAfter, runningJobIds: running))
    }

    /// The long poll: answers at once when running jobs must stop (with what free capacity leases now), else
    /// with jobs as soon as one matches (at most the worker's free capacity), else 204 when `wait` runs out. A
    /// cancel of a running job ends the wait.
    private func lease(workerId: String, wanted: Int, running: [String], wait: Duration, clientGone: Latch<Void>) async throws
        -> Response
    {
        guard let worker = try await store.worker(id: workerId) else { throw OffloadError.notFound("no worker \(workerId)") }
        let now = Date()
        if now.timeIntervalSince(worker.lastHeartbeatAt) >= Self.presenceInterval {
            _ = try await store.touchWorker(id: workerId, at: now)
        }
        let leaseSeconds = configuration.leaseSeconds
        var cancel = try await store.heartbeat(workerId: workerId, jobIds: running, until: now.addingTimeInterval(leaseSeconds))
        let interrupt = Latch<Void>()
        let watched = Set(running)
        let token = store.eventBus.onCancelRequest { jobId in if watched.contains(jobId) { interrupt.set(()) } }
        defer { store.eventBus.removeCancelListener(token) }
        // A worker that died while waiting must not be handed jobs it will never see (they would sit
        // leased until their lease expired, and count an attempt).
        let goneWatch = Task {
            if await clientGone.wait() != nil { interrupt.set(()) }
        }
        defer { goneWatch.cancel() }
        let capacity = min(wanted, worker.maxConcurrentJobs - running.count)
        let labels = worker.labelTerms
        let store = self.store
        // Jobs to stop answer at once (with whatever free capacity can lease now); otherwise wait for work.
        let waitFor: Duration = cancel.isEmpty ? wait : .zero
        let jobs = try await LeaseWait(store: store, metrics: metrics).lease(wait: waitFor, interrupt: interrupt) { now in
            // Read again at each wake-up: an admin may pause (or resume) the worker meanwhile.
            guard capacity > 0, clientGone.value == nil, try await store.worker(id: workerId)?.status == .active else {
                return nil
            }
            return LeaseRequest(
                workerId: workerId, processingTypes: worker.processingTypes, limit: capacity,
                leaseDuration: leaseSeconds, now: now, labels: labels)
        }
        if cancel.isEmpty, interrupt.value != nil, clientGone.value == nil {
            cancel = try await store.heartbeat(workerId: workerId, jobIds: running, until: Date().addingTimeInterval(leaseSeconds))
        }
        guard !jobs.isEmpty || !cancel.isEmpty else { return Response(status: .noContent) }
        return HTTPJSON.response(json: ["jobs": .array(jobs.map(\.jsonValue)), "cancel": .array(cancel.map(JSONValue.string))])
    }

    private static func jobIds(_ body: JSONValue) throws -> [String] {
        guard let given = body["jobIds"], !given.isNull else { return [] }
        guard let list = given.arrayValue, list.count <= 10_000 else {
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
        guard body.objectValue != nil else { throw OffloadError.badRequest("the body must be a JSON object") }
        var workerId = ids.make(prefix: "wrk_", at: now)
        if let given = body["workerId"], !given.isNull {
            guard let text = given.stringValue, text.hasPrefix("wrk_"), (5...64).contains(text.count),
                text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
            else { throw OffloadError.unprocessable("workerId must be an id this server gave out (wrk_…)") }
            workerId = text
        }
        guard let name = body["name"]?.stringValue, (1...128).contains(name.count) else {
            throw OffloadError.unprocessable("name must be a string of 1 to 128 characters")
        }
        guard let typeList = body["processingTypes"]?.arrayValue, (1...200).contains(typeList.count) else {
            throw OffloadError.unprocessable("processingTypes must be an array of 1 to 200 processing types")
        }
        let types = try typeList.map { item in
            guard let type = item.stringValue, (1...64).contains(type.count) else {
                throw OffloadError.unprocessable("each processing type must be a string of 1 to 64 characters")
            }
            return type
        }
        var labels: [String: String] = [:]
        if let given = body["labels"], !given.isNull { labels = try JobLabels.parse(given, field: "labels") }
        labels.merge(JobLabels.distributed) { _, mode in mode }
        var maxJobs = 1
        if let given = body["maxConcurrentJobs"], !given.isNull {
            guard let value = given.intValue, (1...1_000).contains(value) else {
                throw OffloadError.unprocessable("maxConcurrentJobs must be an integer in 1...1000")
            }
            maxJobs = Int(value)
        }
        return WorkerRecord(
            workerId: workerId, name: name, processingTypes: Array(Set(types)).sorted(), labels: labels,
            maxConcurrentJobs: maxJobs, registeredAt: now, lastHeartbeatAt: now)
    }
}
