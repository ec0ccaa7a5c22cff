import Foundation
import OffloadCore
import OffloadStore
import Testing

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

private func job(_ id: String, labels: [String: String] = [:], type: String = "noop") -> NewJob {
    var new = NewJob(jobId: id, processingType: type, data: .null, runAt: t0, tenant: "acme", createdAt: t0)
    new.labels = labels
    return new
}

private func lease(_ store: any JobStore, worker: String = "w1", labels: [String]?, limit: Int = 10) async throws -> [String] {
    try await store.lease(LeaseRequest(
        workerId: worker, processingTypes: nil, limit: limit, leaseDuration: 30, now: t0, labels: labels)
    ).map(\.job.jobId)
}

@Suite("Store conformance: workers, labels and files")
struct StoreWorkerTests {
    @Test("a job that asks for labels goes only to a worker carrying all of them", arguments: StoreKind.allCases)
    func labels(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([
                job("job_gpu", labels: ["gpu": "a100"]), job("job_gpu_eu", labels: ["gpu": "a100", "zone": "eu"]),
            ])
            #expect(try await lease(store, labels: []).isEmpty)
            #expect(try await lease(store, labels: ["gpu=t4"]).isEmpty)
            #expect(try await lease(store, labels: ["gpu=a100"]) == ["job_gpu"])
            #expect(try await lease(store, labels: ["gpu=a100", "mode=distributed", "zone=eu"]) == ["job_gpu_eu"])
            _ = try await store.submit([job("job_plain")])
            #expect(try await lease(store, labels: ["gpu=t4"]) == ["job_plain"])
        }
    }

    @Test("labels are not checked when the lease names its job", arguments: StoreKind.allCases)
    func uncheckedLabels(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([job("job_remote", labels: JobLabels.distributed)])
            #expect(try await lease(store, labels: JobLabels.terms(JobLabels.direct)).isEmpty)
            #expect(try await lease(store, labels: nil) == ["job_remote"])
        }
    }

    @Test("a heartbeat extends only the leases its worker holds", arguments: StoreKind.allCases)
    func heartbeatByWorker(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([job("job_a"), job("job_b")])
            #expect(try await lease(store, worker: "w1", labels: nil, limit: 1) == ["job_a"])
            #expect(try await lease(store, worker: "w2", labels: nil, limit: 1) == ["job_b"])
            let until = t0.addingTimeInterval(100)
            #expect(try await store.heartbeat(workerId: "w1", jobIds: ["job_a", "job_b"], until: until) == ["job_b"])
            #expect(try await store.requeueExpiredLeases(now: t0.addingTimeInterval(60)) == 1)
            #expect(try await store.job(id: "job_a", tenant: nil)?.status == .processing)
            #expect(try await store.job(id: "job_b", tenant: nil)?.status == .pending)
            #expect(try await store.runningJobs() == ["w1": ["job_a"]])
        }
    }

    @Test("a worker's held leases are its PROCESSING jobs with their tokens, oldest first, and end with the job", arguments: StoreKind.allCases)
    func heldLeasesByWorker(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit([job("job_a"), job("job_b"), job("job_c")])
            let first = try await store.lease(LeaseRequest(workerId: "w1", processingTypes: nil, limit: 1, leaseDuration: 30, now: t0))
            let second = try await store.lease(LeaseRequest(
                workerId: "w1", processingTypes: nil, limit: 1, leaseDuration: 30, now: t0.addingTimeInterval(1)))
            #expect(try await lease(store, worker: "w2", labels: nil, limit: 1) == ["job_c"])
            _ = try await store.cancel(jobId: second[0].job.jobId, tenant: nil, at: t0)
            let held = try await store.heldLeases(workerId: "w1")
            #expect(held.map(\.jobId) == (first + second).map(\.job.jobId))
            #expect(held.map(\.leaseToken) == (first + second).map(\.leaseToken))
            #expect(held.map(\.startedAt) == [t0, t0.addingTimeInterval(1)])
            #expect(held.map(\.expiresAt) == [t0.addingTimeInterval(30), t0.addingTimeInterval(31)])
            #expect(held.map(\.cancelRequested) == [false, true])
            _ = try await store.complete(jobId: first[0].job.jobId, leaseToken: first[0].leaseToken, result: .null, at: t0)
            #expect(try await store.heldLeases(workerId: "w1").map(\.jobId) == [second[0].job.jobId])
            #expect(try await store.heldLeases(workerId: "w3").isEmpty)
        }
    }

    @Test("a failed attempt keeps what it produced beside its error", arguments: StoreKind.allCases)
    func failWithResult(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var single = job("job_a")
            single.maxAttempts = 1
            _ = try await store.submit([single])
            let leased = try #require(try await store.lease(LeaseRequest(
                workerId: "w1", processingTypes: nil, limit: 1, leaseDuration: 30, now: t0)).first)
            let partial: JSONValue = ["commands": [["command": "false", "exitCode": 1]], "exitCode": 1]
            let failed = try await store.fail(
                jobId: "job_a", leaseToken: leased.leaseToken, error: "command 1 exited with code 1", result: partial,
                retryAt: { _ in t0 }, at: t0)
            #expect(failed.status == .failed)
            #expect(failed.result == partial)
            #expect(failed.error == "command 1 exited with code 1")
        }
    }

    @Test("the worker registry: register, register again, touch, pause, delete, prune", arguments: StoreKind.allCases)
    func registry(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let first = WorkerRecord(
                workerId: "wrk_1", name: "box-1", processingTypes: ["noop", "shell"], labels: ["mode": "distributed"],
                maxConcurrentJobs: 4, registeredAt: t0, lastHeartbeatAt: t0)
            try await store.registerWorker(first)
            #expect(try await store.worker(id: "wrk_1") == first)
            var again = first
            again.name = "box-1b"
            again.maxConcurrentJobs = 8
            again.status = .active
            try await store.setWorkerStatus(id: "wrk_1", status: .draining).map { #expect($0.status == .draining) }
            try await store.registerWorker(again)
            #expect(try await store.workers() == [again])
            #expect(try await store.touchWorker(id: "wrk_1", at: t0.addingTimeInterval(5)))
            #expect(try await !store.touchWorker(id: "wrk_nope", at: t0))
            let paused = try #require(try await store.setWorkerStatus(id: "wrk_1", status: .paused))
            #expect(paused.status == .paused)
            #expect(paused.lastHeartbeatAt == t0.addingTimeInterval(5))
            #expect(paused.status(at: t0.addingTimeInterval(20), offlineAfter: 30) == .paused)
            #expect(paused.status(at: t0.addingTimeInterval(40), offlineAfter: 30) == .offline)
            #expect(try await store.setWorkerStatus(id: "wrk_nope", status: .paused) == nil)
            try await store.registerWorker(WorkerRecord(
                workerId: "wrk_2", name: "box-2", processingTypes: ["noop"], labels: [:], maxConcurrentJobs: 1,
                registeredAt: t0.addingTimeInterval(10), lastHeartbeatAt: t0.addingTimeInterval(10)))
            #expect(try await store.pruneWorkers(lastSeenBefore: t0.addingTimeInterval(8)) == 1)
            #expect(try await store.workers().map(\.workerId) == ["wrk_2"])
            #expect(try await store.deleteWorker(id: "wrk_2"))
            #expect(try await !store.deleteWorker(id: "wrk_2"))
        }
    }

    @Test("an uploaded file is read back whole, only within its tenant, and pruned by age", arguments: StoreKind.allCases)
    func files(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            let content = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let file = StoredFile(fileId: "file_1", tenant: "acme", size: content.count, sha256: "abc", content: content, createdAt: t0)
            try await store.saveFile(file)
            #expect(try await store.file(id: "file_1", tenant: "acme") == file)
            #expect(try await store.file(id: "file_1", tenant: nil) == file)
            #expect(try await store.file(id: "file_1", tenant: "other") == nil)
            #expect(try await store.fileExists(id: "file_1", tenant: "acme"))
            #expect(try await !store.fileExists(id: "file_1", tenant: "other"))
            #expect(try await !store.fileExists(id: "file_2", tenant: nil))
            #expect(try await store.pruneFiles(createdBefore: t0, limit: 10) == 0)
            #expect(try await store.pruneFiles(createdBefore: t0.addingTimeInterval(1), limit: 10) == 1)
            #expect(try await store.file(id: "file_1", tenant: nil) == nil)
        }
    }

    @Test("stats count waiting and running jobs now, finished ones since the cut-off, with their timings", arguments: StoreKind.allCases)
    func stats(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            var mail = job("job_mail")
            mail.queue = "mail"
            _ = try await store.submit([job("job_a"), job("job_b"), mail])
            let leased = try await store.lease(LeaseRequest(
                workerId: "w1", processingTypes: nil, limit: 2, leaseDuration: 30, now: t0.addingTimeInterval(2)))
            #expect(leased.count == 2)
            _ = try await store.complete(
                jobId: leased[0].job.jobId, leaseToken: leased[0].leaseToken, result: .null, at: t0.addingTimeInterval(5))
            let stats = try await store.stats(finishedSince: t0, sampleLimit: 10)
            let pending = stats.active.filter { $0.key.status == .pending }.values.reduce(0, +)
            #expect(pending == 1)
            #expect(stats.active[StatsKey(queue: leased[1].job.queue, processingType: "noop", status: .processing)] == 1)
            #expect(stats.finished == [StatsKey(queue: leased[0].job.queue, processingType: "noop", status: .completed): 1])
            #expect(stats.waitMillis == [2_000])
            #expect(stats.runMillis == [3_000])
            #expect(try await store.stats(finishedSince: t0.addingTimeInterval(6), sampleLimit: 10).finished.isEmpty)
        }
    }

    @Test("the timeline counts finished jobs per bucket and samples the newest timings of each", arguments: StoreKind.allCases)
    func timeline(kind: StoreKind) async throws {
        try await withStore(kind) { store in
            _ = try await store.submit((0..<5).map { job("job_\($0)") })
            let leased = try await store.lease(LeaseRequest(
                workerId: "w1", processingTypes: nil, limit: 5, leaseDuration: 300, now: t0.addingTimeInterval(1)))
            #expect(leased.count == 5)
            // t0 is a whole minute: three jobs end in its first minute, two in the next one (one of them failed).
            for (index, lease) in leased.enumerated() {
                let end = t0.addingTimeInterval([10, 20, 30, 70, 80][index])
                if index == 4 {
                    _ = try await store.fail(
                        jobId: lease.job.jobId, leaseToken: lease.leaseToken, error: "boom", result: nil, retryAt: { _ in nil }, at: end)
                } else {
                    _ = try await store.complete(jobId: lease.job.jobId, leaseToken: lease.leaseToken, result: .null, at: end)
                }
            }
            let buckets = try await store.timeline(since: t0, bucketSeconds: 60, samplesPerBucket: 2)
            #expect(buckets.map(\.start) == [t0, t0.addingTimeInterval(60)])
            #expect(buckets.map(\.finished) == [[.completed: 3], [.completed: 1, .failed: 1]])
            #expect(buckets[0].waitMillis == [1_000, 1_000])
            #expect(buckets[0].runMillis.sorted() == [19_000, 29_000], "the two newest of the first minute")
            #expect(buckets[1].runMillis.sorted() == [69_000, 79_000])
            let late = try await store.timeline(since: t0.addingTimeInterval(75), bucketSeconds: 60, samplesPerBucket: 2)
            #expect(late.map(\.finished) == [[.failed: 1]])
        }
    }
}
