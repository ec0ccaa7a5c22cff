import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import OffloadClient
import OffloadCore
import Synchronization

/// The SSE fan-out figure of `offload bench`: how long one event takes to reach every one of many open
/// streams following the same job, and what those streams cost in memory.
extension Bench {
    func measureFanOut(baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        guard streams > 0 else { return }
        // Its own client: the shared one keeps only `concurrency` connections per host.
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: streams + 8)))
        do {
            try await fanOut(http: http, baseURL: baseURL, key: key, report: &report)
            try await http.shutdown()
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    private func fanOut(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        // A job held in a paused queue while the streams open; resuming the queue makes its one new event.
        let queue = "bench-fanout-\(Int(Date().timeIntervalSince1970))"
        _ = try await send(http, "POST", baseURL + "/api/queues/\(queue)/pause", key: key)
        let job = try await send(http, "POST", baseURL + "/api/jobs", key: key, body: [
            "processingType": "noop", "data": 1, "options": ["queue": .string(queue)],
        ])
        guard let id = job["jobId"]?.stringValue else { throw ValidationError("the fan-out job was not accepted") }
        let rssBefore = Self.residentMegabytes()
        let opened = OpenStreams()
        let released = Latch<ContinuousClock.Instant>()
        let streams = self.streams
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var rssOpen: Double?
        try await withThrowingTaskGroup(of: Duration?.self) { group in
            for _ in 0..<streams {
                group.addTask {
                    var request = HTTPClientRequest(url: baseURL + "/api/sse/job-progress/\(id)")
                    request.headers.add(name: "X-API-Key", value: key)
                    let response = try await http.execute(request, timeout: .seconds(120))
                    var parser = SSEParser()
                    for try await chunk in response.body {
                        for event in parser.feed(chunk.readableBytesView) {
                            if event.event == "snapshot" { opened.count.add(1, ordering: .relaxed) }
                            if event.event == "status", let start = await released.wait() {
                                return ContinuousClock.now - start
                            }
                        }
                    }
                    return nil
                }
            }
            let deadline = ContinuousClock.now + .seconds(60)
            while opened.count.load(ordering: .relaxed) < streams {
                guard ContinuousClock.now < deadline else { throw ValidationError("the SSE streams did not all open") }
                try await Task.sleep(for: .milliseconds(10))
            }
            rssOpen = Self.residentMegabytes()
            released.set(ContinuousClock.now)
            _ = try await send(http, "POST", baseURL + "/api/queues/\(queue)/resume", key: key)
            for try await arrival in group {
                if let arrival { latency.record(micros(arrival)) }
            }
        }
        print(String(format: "SSE fan-out, one event to %d open streams on one job: p50 %.2f ms  p99 %.2f ms  last %.2f ms",
                     latency.totalCount, ms(latency, 50), ms(latency, 99), Double(latency.max) / 1000))
        report["fanOutMs"] = summary(latency)
        if let rssBefore, let rssOpen {
            print(String(format: "process RSS (embedded server and load generator): %.0f MB before, %.0f MB with %d streams open",
                         rssBefore, rssOpen, streams))
            report["rssMegabytes"] = ["before": .double(rssBefore), "streamsOpen": .double(rssOpen)]
        }
    }

    /// This process's resident memory (Linux), in MB.
    static func residentMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return kilobytes / 1024
    }
}

/// How many fan-out streams have their snapshot (shared by the stream tasks).
private final class OpenStreams: Sendable {
    let count = Atomic<Int>(0)
}
