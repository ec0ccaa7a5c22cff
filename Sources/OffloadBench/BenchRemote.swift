import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import OffloadClient
import OffloadCore

/// The remote-worker figures of `offload bench`: `noop` throughput through 1…N `offload worker` processes
/// (this same binary, on the worker HTTP API, long-polling) and the idle pickup of a remote worker.
extension Bench {
    func measureRemote(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        guard remoteWorkers > 0 else { return }
        let created = try await send(http, "POST", baseURL + "/api/keys", key: key, body: [
            "name": "bench worker", "role": "worker", "tenant": "default",
        ])
        guard let workerKey = created["secret"]?.stringValue else { throw ValidationError("no worker key was created") }
        var processes: [Process] = []
        defer {
            for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
            for process in processes { process.waitUntilExit() }
        }
        // Only remote workers may take these jobs, whatever the embedded server runs itself.
        let remoteOnly: JSONValue = ["mode": "distributed"]
        var rates: [String: JSONValue] = [:]
        for count in 1...remoteWorkers {
            processes.append(try startWorker(baseURL: baseURL, key: workerKey, name: "bench-\(count)"))
            try await waitForWorkers(count, http: http, baseURL: baseURL, key: key)
            let rate = try await endToEnd(http: http, baseURL: baseURL, key: key, batch: batchSize, options: remoteOnly)
            print(String(format: "noop end to end through %d remote worker(s) × %d slots, %d jobs in batches of %d: %.0f jobs/s",
                         count, remoteConcurrency, endToEndJobs, batchSize, rate))
            rates["\(count)"] = .double(rate.rounded())
        }
        report["remoteEndToEndJobsPerSecond"] = .object(rates)

        var pickup = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var roundTrip = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        for _ in 0..<max(1, follows) {
            var sawStart = false
            try await submitAndFollow(http: http, baseURL: baseURL, key: key, type: "noop", data: 1, options: remoteOnly) {
                kind, data, elapsed in
                if !sawStart, Self.started(kind, data) {
                    sawStart = true
                    pickup.record(micros(elapsed))
                }
                if EventKind(rawValue: kind)?.isFinal == true { roundTrip.record(micros(elapsed)) }
            }
        }
        print(String(format: "idle remote pickup (submit → leased to a long-polling worker, PROCESSING read on the submit's SSE stream), %d jobs: p50 %.2f ms  p95 %.2f ms  p99 %.2f ms",
                     pickup.totalCount, ms(pickup, 50), ms(pickup, 95), ms(pickup, 99)))
        print(String(format: "remote noop round trip (submit → worker's result → final SSE event): p50 %.2f ms  p99 %.2f ms",
                     ms(roundTrip, 50), ms(roundTrip, 99)))
        report["remotePickupMs"] = summary(pickup)
        report["remoteRoundTripMs"] = summary(roundTrip)
    }

    /// Token latency with the `llm.chat` job on a remote worker (started here) that streams from the upstream.
    func measureRemoteTokens(
        http: HTTPClient, baseURL: String, key: String, llm: (url: String, clock: TokenClock), report: inout [String: JSONValue]
    ) async throws {
        let created = try await send(http, "POST", baseURL + "/api/keys", key: key, body: [
            "name": "bench llm worker", "role": "worker", "tenant": "default",
        ])
        guard let workerKey = created["secret"]?.stringValue else { throw ValidationError("no worker key was created") }
        let process = try startWorker(
            baseURL: baseURL, key: workerKey, name: "bench-llm",
            extra: ["--types", "llm.chat", "--llm-base-url", llm.url, "--llm-model", "bench"])
        defer {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try await waitForWorkers(1, http: http, baseURL: baseURL, key: key)
        try await measureTokens(
            http: http, baseURL: baseURL, key: key, clock: llm.clock, label: "remote worker", options: ["mode": "distributed"],
            report: &report)
    }

    /// Starts `offload worker` (this binary), for noop jobs unless `extra` says otherwise; its log lines go to
    /// this process's stderr.
    private func startWorker(baseURL: String, key: String, name: String, extra: [String]? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments = [
            "worker", "--server", baseURL, "--name", name, "--concurrency", "\(remoteConcurrency)",
            "--state-file", "", "--log-level", "warning",
        ] + (extra ?? ["--types", "noop"])
        var environment = ProcessInfo.processInfo.environment
        environment["OFFLOAD_WORKER_KEY"] = key
        process.environment = environment
        try process.run()
        return process
    }

    /// Returns once `count` workers are registered and active (checked every 20 ms, for at most 30 s).
    private func waitForWorkers(_ count: Int, http: HTTPClient, baseURL: String, key: String) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let listed = try await send(http, "GET", baseURL + "/api/workers", key: key)["workers"]?.arrayValue ?? []
            if listed.filter({ $0["status"] == "active" }).count >= count { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ValidationError("\(count) remote worker(s) did not register within 30 s")
    }
}
