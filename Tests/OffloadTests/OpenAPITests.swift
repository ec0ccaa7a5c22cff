import Foundation
import OffloadCore
import OffloadServer
import Testing

/// Where schemathesis (PyPI) is installed, if it is.
private var schemathesis: String? {
    let candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/schemathesis" }
        + ["/usr/local/bin/schemathesis", "/root/.local/bin/schemathesis"]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("OpenAPI document", .serialized)
struct OpenAPITests {
    @Test("GET /openapi.json serves an OpenAPI 3.1 document of every route")
    func document() async throws {
        try await TestServer.with(configure: { $0.workers = 0 }) { server in
            let reply = try await server.call("GET", "/openapi.json", key: nil)
            #expect(reply.status == 200)
            #expect(reply.json["openapi"] == "3.1.0")
            let paths = reply.json["paths"]?.objectValue ?? [:]
            for path in [
                "/api/jobs", "/api/jobs/{id}", "/api/jobs/batch", "/api/sse/job-progress/{id}", "/api/workers/{id}/lease",
                "/api/workers/{id}/sync",
                "/api/files", "/api/stats", "/api/keys", "/metrics", "/health",
            ] {
                #expect(paths[path] != nil, "\(path) is not documented")
            }
        }
    }

    @Test("schemathesis against a live server: no request gets a 5xx or an answer that breaks the document")
    func schemathesisRun() async throws {
        let tool = try #require(schemathesis, "schemathesis is not installed (.ci/run installs it from PyPI)")
        try await TestServer.with(configure: { $0.workers = 2 }) { server in
            // schemathesis keeps a cache in its working directory: give it a temporary one, not the repository.
            let workDirectory = try TemporaryDirectory()
            defer { workDirectory.remove() }
            // The long polls are left out: a registered worker's lease and sync rightly wait up to 60 s
            // (WorkerAPITests covers them).
            let (status, output) = try await runProgram(tool, [
                "run", server.baseURL + "/openapi.json", "-H", "X-API-Key: \(TestServer.adminKey)",
                "--checks", "not_a_server_error,response_schema_conformance", "--phases", "examples,coverage,fuzzing",
                "-n", "10", "--request-timeout", "15", "--exclude-operation-id", "lease", "--exclude-operation-id", "syncWorker", "--no-color",
            ], directory: workDirectory.path)
            #expect(status == 0, "\(output.suffix(6_000))")
            #expect(output.contains("passed"))
        }
    }
}
