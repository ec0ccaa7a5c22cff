import OffloadCore
@testable import OffloadStore
import Testing

@Suite("PostgreSQL notifications and database URLs")
struct PostgresNoticeTests {
    @Test("a notice survives its payload, and one too long for a NOTIFY is split without losing a range")
    func payloads() throws {
        var notice = Notice()
        notice.work = true
        notice.cancels = ["job_c"]
        for n in 0..<400 { notice.ranges["job_\(n)"] = Int64(n)...Int64(n + 2) }
        let payloads = notice.payloads(origin: "srv_a", limit: PostgresNotifier.maxPayload)
        #expect(payloads.count > 1)
        #expect(payloads.allSatisfy { $0.utf8.count < PostgresNotifier.maxPayload })
        var merged = Notice()
        for payload in payloads {
            let read = try #require(Notice(payload: payload))
            #expect(read.origin == "srv_a")
            merged.work = merged.work || read.work
            merged.cancels += read.cancels
            merged.ranges.merge(read.ranges) { a, _ in a }
        }
        #expect(merged.work)
        #expect(merged.cancels == ["job_c"])
        #expect(merged.ranges == notice.ranges)
        #expect(Notice(payload: "not json") == nil)
    }

    @Test("--database takes sqlite:PATH and postgres:// URLs, and refuses anything else clearly")
    func locations() throws {
        #expect(try DatabaseLocation(nil, dataDirectory: "/d") == .sqlite(path: "/d/offload.sqlite"))
        #expect(try DatabaseLocation("sqlite:/tmp/x.db", dataDirectory: "/d") == .sqlite(path: "/tmp/x.db"))
        let postgres = try DatabaseLocation("postgres://app:s%40cret@db.local:6543/jobs?sslmode=require", dataDirectory: "/d")
        #expect(postgres == .postgres(PostgresLocation(
            host: "db.local", port: 6543, username: "app", password: "s@cret", database: "jobs", tls: .require)))
        #expect(postgres.redacted == "postgres://app:***@db.local:6543/jobs")
        #expect(try DatabaseLocation("postgresql://app@db/jobs", dataDirectory: "/d")
            == .postgres(PostgresLocation(host: "db", username: "app", database: "jobs")))
        #expect(throws: OffloadError.self) { try DatabaseLocation("mysql://x", dataDirectory: "/d") }
        #expect(throws: OffloadError.self) { try DatabaseLocation("postgres://db/jobs", dataDirectory: "/d") }
        #expect(throws: OffloadError.self) { try DatabaseLocation("postgres://app@db/jobs?sslmode=maybe", dataDirectory: "/d") }
    }
}
