import Foundation
import Logging
import OffloadCore
@testable import OffloadServer
import OffloadStore
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

    @Test("every route the router answers is documented, and every documented operation is routed")
    func everyRouteDocumented() async throws {
        let routes = try await withStore(.sqlite) { store in
            await OffloadServerApp(configuration: ServerConfiguration(), logger: Logger(label: "test")).routes(store: store)
        }
        let document = try OpenAPIContract()
        // The dashboard's page and its two assets are a web page, not the API.
        let pages: Set<String> = ["GET /", "GET /dashboard/app.js", "GET /dashboard/app.css"]
        let routed = Set(routes).subtracting(pages)
        #expect(routed.count == routes.count - pages.count, "the dashboard's routes moved: \(routes.sorted())")
        #expect(routed.subtracting(document.operations).sorted() == [], "routed but not documented")
        #expect(document.operations.subtracting(routed).sorted() == [], "documented but not routed")
    }

    @Test("every bound in Limits is the one the document states, at every place it is stated")
    func limitsDocumented() throws {
        let document = try OpenAPIContract()
        for limit in Limits.all {
            for place in limit.documentedAt {
                let schema = try document.schema(at: place)
                let (low, high): (String, String) =
                    switch limit.measure {
                    case .value: ("minimum", "maximum")
                    case .length: ("minLength", "maxLength")
                    case .items: ("minItems", "maxItems")
                    case .properties: ("minProperties", "maxProperties")
                    }
                let floor = limit.bounds.lowerBound
                let documentedLow = schema[low]?.intValue.map(Int.init) ?? 0
                #expect(documentedLow == floor, "\(place): \(low) is \(documentedLow), Limits says \(floor)")
                #expect(
                    schema[high]?.intValue.map(Int.init) == limit.bounds.upperBound,
                    "\(place): \(high) is \(schema[high].map { "\($0)" } ?? "missing"), Limits says \(limit.bounds.upperBound)")
            }
        }
    }

    @Test("the documented job options and submission fields are exactly the ones the server reads, and no others")
    func optionsDocumented() throws {
        let document = try OpenAPIContract()
        let options = try document.schema(at: "JobOptions")
        #expect(Set(options["properties"]?.objectValue?.keys ?? [:].keys) == NewJob.optionNames)
        #expect(options["additionalProperties"] == false)
        let submission = try document.schema(at: "JobSubmission")
        #expect(Set(submission["properties"]?.objectValue?.keys ?? [:].keys) == JobSubmission.fieldNames.union(["template"]))
        #expect(submission["additionalProperties"] == false)
    }

    @Test("offload --version prints the release and the commit it was built from; the document has the same release")
    func version() async throws {
        #expect(try OpenAPIContract().root["info"]?["version"] == .string(Release.version))
        let (status, output) = try await OffloadProcess.run(["--version"])
        #expect(status == 0)
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let (gitStatus, commit) = try await runProgram("/usr/bin/git", ["-C", root, "rev-parse", "--short=12", "HEAD"])
        let expected = gitStatus == 0 ? commit.trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
        #expect(output.hasPrefix("offload \(Release.version) (\(expected)"), "\(output)")
    }

    /// What schemathesis may expect beyond the document: where a schema-valid body may rightly get a 422.
    static let schemathesisConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schemathesis.toml")

    @Test(
        "schemathesis against a live server: no 5xx, no answer that breaks the document, every schema-valid request accepted and every invalid one refused"
    )
    func schemathesisRun() async throws {
        let tool = try #require(schemathesis, "schemathesis is not installed (.ci/run installs it from PyPI)")
        try await TestServer.with(configure: { $0.workers = 2 }) { server in
            // schemathesis keeps a cache in its working directory: give it a temporary one, not the repository.
            let workDirectory = try TemporaryDirectory()
            defer { workDirectory.remove() }
            // The long polls are left out: a registered worker's lease and sync rightly wait up to 60 s
            // (WorkerAPITests covers them).
            let (status, output) = try await runProgram(tool, [
                "--config-file", Self.schemathesisConfig.path,
                "run", server.baseURL + "/openapi.json", "-H", "X-API-Key: \(TestServer.adminKey)",
                "--checks", "not_a_server_error,response_schema_conformance,positive_data_acceptance,negative_data_rejection",
                "--phases", "examples,coverage,fuzzing",
                "-n", "10", "--request-timeout", "15", "--exclude-operation-id", "lease", "--exclude-operation-id", "syncWorker", "--no-color",
            ], directory: workDirectory.path)
            #expect(status == 0, "\(output.suffix(6_000))")
            #expect(output.contains("passed"))
        }
    }
}

/// The served OpenAPI document, read the way the contract tests walk it.
struct OpenAPIContract {
    let root: JSONValue

    init() throws { root = try JSONValue.parse(OpenAPIDocument.bytes) }

    /// `METHOD /path` for every documented operation.
    var operations: Set<String> {
        var all: Set<String> = []
        for (path, item) in root["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys { all.insert("\(method.uppercased()) \(path)") }
        }
        return all
    }

    /// The schema at a `Limit.documentedAt` place (see there for the syntax), `$ref`s followed.
    func schema(at place: String) throws -> JSONValue {
        var steps = place.split(separator: ".").map(String.init)
        var (head, marks) = Self.marks(steps.removeFirst())
        var query: String?
        if let mark = head.firstIndex(of: "?") {
            query = String(head[head.index(after: mark)...])
            head = String(head[..<mark])
        }
        var node: JSONValue
        if let schema = root["components"]?["schemas"]?[head] {
            node = schema
        } else if let parameter = root["components"]?["parameters"]?[head] {
            node = parameter["schema"] ?? .null
        } else if let operation = operation(head) {
            if let query {
                let parameters = operation["parameters"]?.arrayValue ?? []
                guard let parameter = parameters.map(resolve).first(where: { $0["name"]?.stringValue == query }) else {
                    throw TestFailure("\(place): \(head) has no parameter \(query)")
                }
                node = parameter["schema"] ?? .null
            } else {
                node = operation["requestBody"]?["content"]?["application/json"]?["schema"] ?? .null
            }
        } else {
            throw TestFailure("\(place): no schema or operation \(head)")
        }
        node = try descend(resolve(node), marks, place)
        for step in steps {
            let (name, marks) = Self.marks(step)
            guard let property = node["properties"]?[name] else { throw TestFailure("\(place): no property \(name)") }
            node = try descend(resolve(property), marks, place)
        }
        return node
    }

    /// A step's name and its trailing `[]`, `{}` and `<>` marks, in order.
    private static func marks(_ step: String) -> (String, [String]) {
        var name = step
        var marks: [String] = []
        while let mark = ["[]", "{}", "<>"].first(where: { name.hasSuffix($0) }) {
            marks.insert(mark, at: 0)
            name.removeLast(2)
        }
        return (name, marks)
    }

    private func descend(_ start: JSONValue, _ marks: [String], _ place: String) throws -> JSONValue {
        var node = start
        for mark in marks {
            let key = ["[]": "items", "{}": "additionalProperties", "<>": "propertyNames"][mark] ?? mark
            guard let next = node[key] else { throw TestFailure("\(place): no \(key)") }
            node = resolve(next)
        }
        return node
    }

    private func operation(_ id: String) -> JSONValue? {
        for item in (root["paths"]?.objectValue ?? [:]).values {
            for operation in (item.objectValue ?? [:]).values where operation["operationId"]?.stringValue == id {
                return operation
            }
        }
        return nil
    }

    private func resolve(_ node: JSONValue) -> JSONValue {
        guard let reference = node["$ref"]?.stringValue, reference.hasPrefix("#/") else { return node }
        var target = root
        for part in reference.dropFirst(2).split(separator: "/") { target = target[String(part)] ?? .null }
        return resolve(target)
    }
}
