import Crypto
import Foundation
import OffloadCore
import OffloadProcessing
import OffloadStore

/// Everything a submit does around the store, in one place: the named template filled in, the submission
/// checked (`JobSubmission`, `NewJob`), the data checked by its processor (or the type found among those
/// registered workers declared), a shell job's bundle found in its tenant, the cache key and the type's
/// default timeout set, the type's switch looked up; then the jobs stored and counted. The job routes (one
/// job, a batch, a stream, the synchronous fallback) and the scheduler submit through it; the schedule routes
/// check a schedule's job with it.
struct JobSubmitter: Sendable {
    let store: any JobStore
    let processors: ProcessorRegistry
    let switches: TypeSwitches
    /// A processing type's timeout when its job names none.
    let typeTimeouts: [String: Int]
    let metrics: ServerMetrics
    let ids = IDGenerator()

    /// A submission ready to store, and what its type's switch says.
    struct Prepared: Sendable {
        var job: NewJob
        /// nil while the type is switched on; `sync` when it runs here, inside the request.
        var fallback: TypeFallback?
    }

    /// One submission body (`{processingType | template, data, options}`), ready to store. A type switched
    /// off with `refuse` is refused (422); one switched off with `sync` comes back with that fallback.
    func prepare(_ body: JSONValue, tenant: String, now: Date) async throws -> Prepared {
        var workerTypes = WorkerTypes()
        let prepared = try await prepare(body, tenant: tenant, jobId: ids.jobId(at: now), now: now, workerTypes: &workerTypes)
        if prepared.fallback == .refuse { throw Self.switchedOff(prepared.job.processingType) }
        return prepared
    }

    /// A batch's submissions, all valid or none: an invalid item is named by its index in one 422
    /// (`invalidItems`), a switched-off type is an invalid item. The registered workers are read at most once.
    func prepareBatch(_ items: [JSONValue], tenant: String, now: Date) async throws -> [NewJob] {
        guard Limits.batchSize.allows(items.count) else {
            throw OffloadError.unprocessable("a batch holds \(Limits.batchSize.range) jobs, not \(items.count)")
        }
        let jobIds = ids.jobIds(items.count, at: now)
        var workerTypes = WorkerTypes()
        var jobs: [NewJob] = []
        var problems: [JSONValue] = []
        for (index, item) in items.enumerated() {
            do {
                let prepared = try await prepare(item, tenant: tenant, jobId: jobIds[index], now: now, workerTypes: &workerTypes)
                if prepared.fallback != nil { throw Self.switchedOff(prepared.job.processingType) }
                jobs.append(prepared.job)
            } catch let error as OffloadError {
                // A lookup in the store failed: the whole batch is worth retrying, no item is invalid.
                if case .unavailable = error { throw error }
                problems.append(["index": .int(Int64(index)), "code": .string(error.code), "message": .string(error.message)])
            }
        }
        guard problems.isEmpty else {
            throw OffloadError.invalidItems("\(problems.count) of \(items.count) jobs are invalid; none was stored", problems)
        }
        return jobs
    }

    /// Stores prepared jobs in one transaction and counts the new ones.
    func submit(_ jobs: [NewJob]) async throws -> [SubmitOutcome] {
        let outcomes = try await store.submit(jobs)
        metrics.submitted(outcomes.filter(\.created).map(\.job))
        return outcomes
    }

    /// Stores one prepared job.
    func submit(_ job: NewJob) async throws -> SubmitOutcome {
        guard let outcome = try await submit([job]).first else {
            throw OffloadError.unavailable("the store did not answer the submit")
        }
        return outcome
    }

    private static func switchedOff(_ type: String) -> OffloadError {
        OffloadError.unprocessable("processing type '\(type)' is switched off")
    }

    private func prepare(
        _ body: JSONValue, tenant: String, jobId: String, now: Date, workerTypes: inout WorkerTypes
    ) async throws -> Prepared {
        var job = try NewJob(submission: try JobSubmission(json: try await withTemplate(body)), tenant: tenant, jobId: jobId, now: now)
        try await checkData(of: job.processingType, job.data, workerTypes: &workerTypes)
        if job.processingType == "shell", let bundle = job.data["bundleId"]?.stringValue {
            guard try await store.fileExists(id: bundle, tenant: job.tenant) else {
                throw OffloadError.unprocessable("no bundle \(bundle): upload it first with POST /api/files")
            }
        }
        if job.cacheMaxAge != nil {
            // SHA-256 of type and canonical data identifies equal work.
            job.cacheKey = Hex.encode(SHA256.hash(data: job.cacheMaterial))
        }
        job.timeoutSeconds = job.timeoutSeconds ?? typeTimeouts[job.processingType]
        return Prepared(job: job, fallback: try await switches.fallback(for: job.processingType))
    }

    /// A job's data, checked by the processor of its type; a type no processor here knows is accepted when a
    /// registered worker declared it (a worker written by the user, in any language): its data is that
    /// worker's to check. A schedule's job is checked so too.
    func checkData(of processingType: String, _ data: JSONValue) async throws {
        var workerTypes = WorkerTypes()
        try await checkData(of: processingType, data, workerTypes: &workerTypes)
    }

    private func checkData(of processingType: String, _ data: JSONValue, workerTypes: inout WorkerTypes) async throws {
        var declaredByWorker = false
        if processors[processingType] == nil {
            declaredByWorker = try await workerTypes.contains(processingType, store: store)
        }
        if !declaredByWorker { try processors.validate(type: processingType, data: data) }
    }

    /// The body with its named template's fields filled in (404 for an unknown template).
    private func withTemplate(_ body: JSONValue) async throws -> JSONValue {
        guard let name = body["template"] else { return body }
        guard let text = name.stringValue else { throw OffloadError.badRequest("template must be a template name") }
        guard let template = try await store.template(name: text) else { throw OffloadError.notFound("no template \(text)") }
        return try JobSubmission.applying(template: template, to: body)
    }
}

/// The processing types registered workers declared, read from the store the first time one is asked for.
private struct WorkerTypes {
    private var types: Set<String>?

    mutating func contains(_ type: String, store: any JobStore) async throws -> Bool {
        if let types { return types.contains(type) }
        let declared = Set(try await store.workers().flatMap(\.processingTypes))
        types = declared
        return declared.contains(type)
    }
}
