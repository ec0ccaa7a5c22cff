import Foundation
import OffloadClient
import OffloadCore
import Testing

@Suite("Job lifecycle and core values")
struct CoreTests {
    @Test("the lifecycle allows exactly the transitions of DESIGN.md")
    func transitions() {
        let allowed: Set<String> = [
            "PENDING>PROCESSING", "PENDING>CANCELLED", "PROCESSING>COMPLETED", "PROCESSING>FAILED",
            "PROCESSING>CANCELLED", "PROCESSING>PENDING", "FAILED>PENDING", "CANCELLED>PENDING",
        ]
        for from in JobStatus.allCases {
            for to in JobStatus.allCases {
                #expect(from.canTransition(to: to) == allowed.contains("\(from.rawValue)>\(to.rawValue)"), "\(from) → \(to)")
            }
        }
        #expect(JobStatus.allCases.filter(\.isFinal) == [.completed, .failed, .cancelled])
    }

    @Test("timestamps are written and read as Foundation's ISO 8601 style does, to the exact millisecond")
    func timestamps() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var rng = SystemRandomNumberGenerator()
        // Whole milliseconds (what the stores keep) from 1900 to 2400, and the edges of days, leap days and eras.
        var millis = (0..<2_000).map { _ in Int64.random(in: -2_208_988_800_000...13_569_465_600_000, using: &rng) }
        millis += ["1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "2000-02-29T12:00:00.500Z",
                   "2100-03-01T00:00:00.001Z", "1600-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"]
            .map { Timestamps.millis(try! style.parse($0)) }
        for ms in millis {
            let date = Timestamps.date(millis: ms)
            let text = Timestamps.format(date)
            // Foundation truncates the binary fraction (…07.648 can show as …07.647); the milliseconds here are
            // exact, the rest is Foundation's text.
            let whole = Timestamps.date(millis: ms - ((ms % 1000) + 1000) % 1000)
            #expect(text.prefix(20) == style.format(whole).prefix(20))
            #expect(text.dropFirst(20) == String(format: "%03dZ", ((ms % 1000) + 1000) % 1000))
            #expect(Timestamps.parse(text) == date, "\(text)")
            #expect(abs(try style.parse(text).timeIntervalSince(date)) < 0.000_001)
        }
        #expect(Timestamps.parse("2026-12-01T15:55:37Z") == Date(timeIntervalSince1970: 1_796_140_537))
        #expect(Timestamps.parse("2026-12-01T15:55:37.25Z") == Date(timeIntervalSince1970: 1_796_140_537.25))
        #expect(Timestamps.parse("2026-12-01T17:55:37.250+02:00") == Date(timeIntervalSince1970: 1_796_140_537.25))
        for bad in ["2026-13-01T00:00:00Z", "2026-12-01 15:55:37Z",
                    "2026-12-01T15:55:37.Z", "2026-12-01T15:55:37.1234567890Z", "soon"] {
            #expect(Timestamps.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("a job read back from its API shape is the job, as Codable reads it; a job without a required field is refused")
    func jobFromJSON() throws {
        let at = Date(timeIntervalSince1970: 1_764_000_000.123)
        let full = Job(
            jobId: "job_1", processingType: "noop", queue: "q", data: ["a": [1, 2]], options: ["priority": 3],
            status: .processing, progress: 40, message: "half", result: ["r": true], error: "earlier", attempt: 2,
            maxAttempts: 5, priority: 3, runAt: at, timeoutSeconds: 60, idempotencyKey: "k", tenant: "t", workerId: "wrk_1",
            cancelRequested: true, createdAt: at, startedAt: at.addingTimeInterval(1), completedAt: nil,
            errors: [AttemptError(attempt: 1, error: "boom", at: at)], cachedFrom: "job_0")
        let bare = Job(
            jobId: "job_2", processingType: "noop", queue: "default", data: .null, options: [:], status: .pending,
            maxAttempts: 3, priority: 0, runAt: at, timeoutSeconds: nil, idempotencyKey: nil, tenant: "default", createdAt: at)
        for job in [full, bare] {
            #expect(try Job(json: job.jsonValue) == job)
            #expect(try Job(json: JSONValue.parse(job.jsonValue.jsonBytes())) == job, "through the bytes of the wire too")
        }
        guard case .object(var fields) = bare.jsonValue else { Issue.record("a job is an object"); return }
        fields["createdAt"] = nil
        #expect(throws: OffloadError.self) { try Job(json: .object(fields)) }
        fields["createdAt"] = "yesterday"
        #expect(throws: OffloadError.self) { try Job(json: .object(fields)) }
    }

    @Test("job ids sort by creation time")
    func idsSort() {
        let ids = IDGenerator()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let made = (0..<200).map { ids.jobId(at: start.addingTimeInterval(Double($0) * 0.002)) }
        #expect(made == made.sorted())
        #expect(Set(made).count == made.count)
        #expect(made.allSatisfy { $0.hasPrefix("job_") && $0.count == 30 })
    }

    @Test("retry backoff grows exponentially, stays within its jitter and its cap")
    func backoff() {
        let policy = RetryPolicy(base: 1, cap: 60, jitter: 0.25)
        #expect(policy.delay(afterAttempt: 1, random: 0.5) == 1)
        #expect(policy.delay(afterAttempt: 3, random: 0.5) == 4)
        #expect(policy.delay(afterAttempt: 3, random: 0) == 3)
        #expect(policy.delay(afterAttempt: 3, random: 1) == 5)
        #expect(policy.delay(afterAttempt: 40, random: 0.5) == 60)
    }

    @Test("submit options are checked and turned into job fields")
    func options() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let job = try NewJob(
            submission: JobSubmission(
                processingType: "type1", data: [["id": 1]],
                options: ["priority": 5, "delaySeconds": 10, "maxAttempts": 7, "queue": "emails", "idempotencyKey": "k1"]),
            tenant: "t", jobId: "job_1", now: now)
        #expect(job.priority == 5)
        #expect(job.runAt == now.addingTimeInterval(10))
        #expect(job.maxAttempts == 7)
        #expect(job.queue == "emails")
        #expect(job.idempotencyKey == "k1")
        #expect(throws: OffloadError.self) {
            try NewJob(submission: JobSubmission(processingType: "noop", options: ["priority": "high"]), tenant: "t", jobId: "j", now: now)
        }
        #expect(throws: OffloadError.self) {
            try NewJob(submission: JobSubmission(processingType: "noop", options: ["queue": "a b"]), tenant: "t", jobId: "j", now: now)
        }
        #expect(throws: OffloadError.self) {
            try NewJob(submission: JobSubmission(processingType: "noop", options: [1, 2]), tenant: "t", jobId: "j", now: now)
        }
    }

    @Test("a template fills in what a submission leaves out; the submission's own fields and options win")
    func templates() throws {
        let template: JSONValue = [
            "processingType": "type1", "queue": "reports", "data": [["id": 1]], "options": ["priority": 5, "maxAttempts": 2],
        ]
        let filled = try JobSubmission.applying(template: template, to: ["template": "t", "options": ["priority": 9]])
        #expect(filled == [
            "processingType": "type1", "data": [["id": 1]], "options": ["priority": 9, "maxAttempts": 2, "queue": "reports"],
        ])
        let own = try JobSubmission.applying(template: template, to: ["processingType": "noop", "data": 7])
        #expect(own["processingType"] == "noop")
        #expect(own["data"] == 7)
    }

    @Test("JSON values keep integers as integers and round-trip")
    func jsonValues() throws {
        let value = try JSONValue.parse(#"{"a":1,"b":1.5,"c":[true,null,"x"],"d":{"e":-3}}"#)
        #expect(value["a"] == .int(1))
        #expect(value["b"] == .double(1.5))
        #expect(try JSONValue.parse(value.jsonString()) == value)
        #expect(throws: OffloadError.self) { try JSONValue.parse("{nope") }
        #expect(throws: OffloadError.self) { try JSONValue.parse("[1e400]") }
        #expect(throws: OffloadError.self) { try JSONValue.parse(String(repeating: "[", count: 300) + String(repeating: "]", count: 300)) }
        #expect(try JSONValue.parse(#"{"s":"a\"b\u00e9\ud83d\ude00\n"}"#)["s"] == "a\"bé😀\n")
    }

    @Test("the SSE parser joins data lines, keeps ids and skips comments, across chunk boundaries")
    func sseParser() {
        var parser = SSEParser()
        var events = parser.feed(Array("id: 1\nevent: progress\ndata: {\"progress\"".utf8))
        #expect(events.isEmpty)
        events = parser.feed(Array(": 50}\n\n: keep-alive\n\nevent: snapshot\ndata: a\ndata: b\n\n".utf8))
        #expect(events == [
            ServerSentEvent(id: "1", event: "progress", data: "{\"progress\": 50}"),
            ServerSentEvent(id: "1", event: "snapshot", data: "a\nb"),
        ])
    }
}
