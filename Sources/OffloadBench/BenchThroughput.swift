import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import OffloadCore

/// The end-to-end figure of `offload bench`: `noop` jobs per second from the first submit to the last
/// completion, submitted one per request and in batches.
extension Bench {
    func measureEndToEnd(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        guard endToEndJobs > 0 else { return }
        let single = try await endToEnd(http: http, baseURL: baseURL, key: key, batch: 1)
        let batched = try await endToEnd(http: http, baseURL: baseURL, key: key, batch: batchSize)
        print(String(format: "noop end to end, %d jobs, %d workers: %.0f jobs/s submitted one per request (%d clients), %.0f jobs/s in batches of %d",
                     endToEndJobs, workers, single, concurrency, batched, batchSize))
        report["endToEndJobsPerSecond"] = ["single": .double(single.rounded()), "batch": .double(batched.rounded())]
    }

    /// Runs `--history` noop jobs to the end (batches of 1,000, the workers running them), so that the figures
    /// after it are measured with that many finished jobs in the store.
    func fillHistory(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        guard history > 0 else { return }
        guard workers > 0 || server != nil else { throw ValidationError("--history needs workers to run the jobs") }
        let rate = try await endToEnd(http: http, baseURL: baseURL, key: key, jobs: history, batch: 1_000)
        print(String(format: "history: %d finished noop jobs in the store before the figures (filled in %.0f s)", history, Double(history) / rate))
        report["historyJobs"] = .int(Int64(history))
    }

    /// Jobs per second from the first of `jobs` submits (default `--end-to-end-jobs`) until no job is PENDING or
    /// PROCESSING.
    func endToEnd(
        http: HTTPClient, baseURL: String, key: String, jobs: Int? = nil, batch: Int, options: JSONValue = [:]
    ) async throws -> Double {
        let total = jobs ?? endToEndJobs
        try await waitUntilDone(http: http, baseURL: baseURL, key: key)
        let started = ContinuousClock.now
        let requests = (total + batch - 1) / batch
        let clients = batch == 1 ? concurrency : min(4, requests)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in 0..<clients {
                group.addTask {
                    for request in stride(from: client, to: requests, by: clients) {
                        let count = min(batch, total - request * batch)
                        if batch == 1 {
                            _ = try await send(http, "POST", baseURL + "/api/jobs", key: key, body: [
                                "processingType": "noop", "data": .int(Int64(request)), "options": options,
                            ])
                        } else {
                            let jobs = JSONValue.array((0..<count).map { n in
                                ["processingType": "noop", "data": .int(Int64(n)), "options": options]
                            })
                            _ = try await send(http, "POST", baseURL + "/api/jobs/batch", key: key, body: ["jobs": jobs])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        try await waitUntilDone(http: http, baseURL: baseURL, key: key)
        return Double(total) / seconds(ContinuousClock.now - started)
    }

    /// Returns once no job is PENDING or PROCESSING (checked every 5 ms: the figure is that much coarse).
    private func waitUntilDone(http: HTTPClient, baseURL: String, key: String) async throws {
        while true {
            var busy = false
            for status in ["PROCESSING", "PENDING"] {
                let page = try await send(http, "GET", baseURL + "/api/jobs?status=\(status)&limit=1", key: key)
                if page["jobs"] != [] { busy = true }
            }
            if !busy { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}
