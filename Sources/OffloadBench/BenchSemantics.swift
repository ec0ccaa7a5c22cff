import ArgumentParser
import AsyncHTTPClient
import Foundation
import Histogram
import NIOCore
import NIOHTTP1
import OffloadCore

/// The job-semantics figures of `offload bench`: how late delayed jobs start, and `?wait=` against polling.
extension Bench {
    func measureSemantics(http: HTTPClient, baseURL: String, key: String, report: inout [String: JSONValue]) async throws {
        // Delayed jobs, due 300 ms after submit and 20 ms apart: lateness = start − runAt, both server clock.
        let base = Date().addingTimeInterval(0.3)
        var ids: [String] = []
        for index in 0..<follows {
            let runAt = Timestamps.format(base.addingTimeInterval(Double(index) * 0.02))
            let reply = try await send(http, "POST", baseURL + "/api/jobs", key: key, body: [
                "processingType": "noop", "data": .int(Int64(index)), "options": ["runAt": .string(runAt)],
            ])
            if let id = reply["jobId"]?.stringValue { ids.append(id) }
        }
        var lateness = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        for id in ids {
            var job = try await send(http, "GET", baseURL + "/api/jobs/\(id)", key: key)
            while job["status"] != "COMPLETED" {
                try await Task.sleep(for: .milliseconds(50))
                job = try await send(http, "GET", baseURL + "/api/jobs/\(id)", key: key)
            }
            if let runAt = job["runAt"]?.stringValue.flatMap(Timestamps.parse),
                let started = job["startedAt"]?.stringValue.flatMap(Timestamps.parse)
            {
                lateness.record(UInt64(max(0, started.timeIntervalSince(runAt)) * 1_000_000) + 1)
            }
        }
        print(String(format: "delayed start lateness (startedAt − runAt, ms resolution), %d noop jobs: p50 %.1f ms  p99 %.1f ms  max %.1f ms",
                     ids.count, ms(lateness, 50), ms(lateness, 99), Double(lateness.max) / 1000))
        report["delayLatenessMs"] = summary(lateness)

        // One 1-item type1 job (100 ms of work) answered by ?wait=, against submit and then GET every 10 ms.
        var waited = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var polled = Histogram<UInt64>(highestTrackableValue: 60_000_000)
        var polls = 0
        let body: JSONValue = ["processingType": "type1", "data": [["id": 1]]]
        for _ in 0..<follows {
            let started = ContinuousClock.now
            _ = try await send(http, "POST", baseURL + "/api/jobs?wait=10", key: key, body: body)
            waited.record(micros(ContinuousClock.now - started))

            let pollStart = ContinuousClock.now
            let job = try await send(http, "POST", baseURL + "/api/jobs", key: key, body: body)
            let id = job["jobId"]?.stringValue ?? ""
            while true {
                polls += 1
                if try await send(http, "GET", baseURL + "/api/jobs/\(id)", key: key)["status"] == "COMPLETED" { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            polled.record(micros(ContinuousClock.now - pollStart))
        }
        print(String(format: "1-item type1 answered by ?wait=10: p50 %.2f ms  p99 %.2f ms (1 request each)",
                     ms(waited, 50), ms(waited, 99)))
        print(String(format: "the same by submit + GET every 10 ms: p50 %.2f ms  p99 %.2f ms (%.1f requests each)",
                     ms(polled, 50), ms(polled, 99), Double(polls + follows) / Double(max(1, follows))))
        report["waitMs"] = summary(waited)
        report["pollMs"] = summary(polled)
    }

    func send(_ http: HTTPClient, _ method: String, _ url: String, key: String, body: JSONValue? = nil) async throws -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "X-API-Key", value: key)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.jsonBytes()))
        }
        let response = try await http.execute(request, timeout: .seconds(30))
        let buffer = try await response.body.collect(upTo: 16 << 20)
        guard response.status.code < 400 else {
            throw ValidationError("\(method) \(url) answered \(response.status.code): \(String(buffer: buffer))")
        }
        return try JSONValue.parse(Array(buffer.readableBytesView))
    }
}
