import Foundation
import NIOHTTP1
import OffloadCore
import OffloadServer
import Testing

/// The value of one sample line (`name{labels} value`) in a Prometheus text scrape.
@Suite("Prometheus metrics")
struct MetricsTests {
    @Test("GET /metrics counts jobs by type and queue, HTTP answers by route, and shows depth, workers and streams")
    func scrape() async throws {
        try await TestServer.with(configure: { $0.workers = 2 }) { server in
            var ids: [String] = []
            for n in 0..<3 { ids.append(try #require(try await server.submit("noop", data: .int(Int64(n)))["jobId"]?.stringValue)) }
            for id in ids { _ = try await server.waitFor(id) { $0["status"] == "COMPLETED" } }
            let mail = try #require(try await server.submit("noop", data: 1, options: ["queue": "mail", "delaySeconds": 600])["jobId"]?.stringValue)
            _ = try await server.call("POST", "/api/jobs/\(mail)/cancel")
            _ = try await server.call("GET", "/api/jobs/job_missing")
            _ = try await server.call("POST", "/api/jobs", json: ["processingType": "noop", "options": ["queue": "mail", "delaySeconds": 600]])

            let reply = try await server.call("GET", "/metrics", key: nil)
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
            let text = reply.json.stringValue ?? ""
            #expect(metricSample(text, #"offload_jobs_submitted_total{type="noop",queue="default"}"#) == 3)
            #expect(metricSample(text, #"offload_jobs_submitted_total{type="noop",queue="mail"}"#) == 2)
            #expect(metricSample(text, #"offload_jobs_completed_total{type="noop",queue="default"}"#) == 3)
            #expect(metricSample(text, #"offload_jobs_cancelled_total{type="noop",queue="mail"}"#) == 1)
            #expect(metricSample(text, "offload_job_run_seconds_count") == 3)
            #expect(metricSample(text, "offload_job_wait_seconds_count") == 3)
            #expect((metricSample(text, "offload_lease_duration_seconds_count") ?? 0) >= 1)
            #expect(metricSample(text, #"offload_http_requests_total{route="/api/jobs",method="POST",status="201"}"#) == 5)
            #expect(metricSample(text, #"offload_http_requests_total{route="/api/jobs/{id}",method="GET",status="404"}"#) == 1)
            #expect(metricSample(text, #"offload_queue_depth{queue="mail",status="pending"}"#) == 1)
            #expect(metricSample(text, #"offload_queue_depth{queue="default",status="pending"}"#) == 0)
            #expect(metricSample(text, #"offload_workers{status="active"}"#) == 1, "the in-process workers")
            #expect(metricSample(text, "offload_sse_streams_open") == 0)
            #expect(text.contains("# TYPE offload_job_run_seconds histogram"))
        }
    }
}
