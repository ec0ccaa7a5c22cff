import Foundation
import OffloadClient
import OffloadCore
import OffloadServer
import OffloadWorker
import Testing

/// Whether a process is gone (or only a zombie waiting for a parent that is not ours to reap).
func processIsGone(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // The state follows the parenthesised command name.
    guard let close = stat.lastIndex(of: ")") else { return true }
    return stat[stat.index(close, offsetBy: 2)] == "Z"
}

/// Waits (bounded) until `pid` is gone.
func waitUntilGone(_ pid: Int32, timeout: Duration = .seconds(10)) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if processIsGone(pid) { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return processIsGone(pid)
}

/// Submits a shell job with a bundle to a server whose in-process workers may run shell.
private func shellJob(_ server: TestServer, files: [ZipEntry], data: JSONValue, options: JSONValue = [:]) async throws -> String {
    var fields = data.objectValue ?? [:]
    if !files.isEmpty {
        let client = OffloadClient(baseURL: server.baseURL, apiKey: TestServer.adminKey)
        fields["bundleId"] = .string(try await client.uploadFile(try makeZip(files)).fileId)
    }
    let job = try await server.submit("shell", data: .object(fields), options: options)
    return try #require(job["jobId"]?.stringValue)
}

@Suite("Shell processor on the server's own workers (--allow-shell)")
struct ShellProcessorTests {
    @Test("commands run in order in the unpacked bundle; stdout and stderr arrive as log lines; exit codes and durations are kept")
    func runsCommands() async throws {
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            let id = try await shellJob(
                server,
                files: [ZipEntry(path: "scripts/hello.sh", content: "#!/bin/sh\necho \"hello $1\"\necho oops >&2\n"), ZipEntry(path: "data.txt", content: "a\nb\nc\n")],
                data: ["commands": ["sh scripts/hello.sh world", "wc -l < data.txt", "echo \"$GREETING from $OFFLOAD_JOB_ID\""], "env": ["GREETING": "hi"]])
            let done = try await server.waitFor(id) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
            #expect(done["status"] == "COMPLETED", "\(done.jsonString())")
            let commands = done["result"]?["commands"]?.arrayValue ?? []
            #expect(commands.map { $0["exitCode"] } == [0, 0, 0])
            #expect(commands.allSatisfy { ($0["durationMs"]?.intValue ?? -1) >= 0 })
            #expect(done["result"]?["exitCode"] == 0)
            let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            let logs = events.filter { $0["kind"] == "log" }.map { "\($0["data"]?["stream"]?.stringValue ?? ""):\($0["data"]?["line"]?.stringValue ?? "")" }
            #expect(logs.contains("stdout:hello world"))
            #expect(logs.contains("stderr:oops"))
            #expect(logs.contains("stdout:3"))
            #expect(logs.contains("stdout:hi from \(id)"))
        }
    }

    @Test("commands get a small environment of their own, not the worker's")
    func environment() async throws {
        setenv("OFFLOAD_TEST_SECRET", "must-not-leak", 1)
        defer { unsetenv("OFFLOAD_TEST_SECRET") }
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            let id = try await shellJob(server, files: [], data: ["commands": ["env"]])
            _ = try await server.waitFor(id) { $0["status"] == "COMPLETED" }
            let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            let lines = events.compactMap { $0["data"]?["line"]?.stringValue }
            #expect(lines.contains { $0.hasPrefix("PATH=") })
            #expect(!lines.contains { $0.contains("must-not-leak") })
        }
    }

    @Test("a failing command ends the attempt (keeping the commands that ran) unless continueOnError")
    func failure() async throws {
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            let failing = try await shellJob(
                server, files: [], data: ["commands": ["echo one", "exit 3", "echo never"]], options: ["maxAttempts": 1])
            let failed = try await server.waitFor(failing) { $0["status"] == "FAILED" }
            #expect(failed["error"]?.stringValue == "command 2 exited with code 3: exit 3")
            #expect(failed["result"]?["commands"]?.arrayValue?.map { $0["exitCode"] } == [0, 3])
            #expect(failed["result"]?["exitCode"] == 3)

            let tolerant = try await shellJob(
                server, files: [], data: ["commands": ["false", "echo after"], "continueOnError": true])
            let done = try await server.waitFor(tolerant) { $0["status"] == "COMPLETED" }
            #expect(done["result"]?["exitCode"] == 1)
            #expect(done["result"]?["commands"]?.arrayValue?.count == 2)
        }
    }

    @Test("a timeout kills the command's whole process group")
    func timeout() async throws {
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            let id = try await shellJob(
                server, files: [], data: ["commands": ["sleep 300 & echo \"child $!\"; wait"]],
                options: ["maxAttempts": 1, "timeoutSeconds": 1])
            let failed = try await server.waitFor(id) { $0["status"] == "FAILED" }
            #expect(failed["error"]?.stringValue?.contains("timed out") == true)
            let events = try await server.call("GET", "/api/jobs/\(id)/events").json["events"]?.arrayValue ?? []
            let line = try #require(events.compactMap { $0["data"]?["line"]?.stringValue }.first { $0.hasPrefix("child ") })
            let pid = try #require(Int32(line.dropFirst("child ".count)))
            #expect(try await waitUntilGone(pid), "the background sleep \(pid) survived the timeout")
        }
    }

    @Test("a command inherits no descriptor of the worker beyond stdin, stdout and stderr")
    func noInheritedDescriptors() async throws {
        // A descriptor the worker's process holds open without close-on-exec, as its listening socket was.
        let held = open("/dev/null", O_RDONLY)
        try #require(held > 2)
        defer { close(held) }
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            let id = try await shellJob(server, files: [], data: [
                "commands": .array([.string("test ! -e /proc/$$/fd/\(held) || { echo leaked; exit 1; }")]),
            ], options: ["maxAttempts": 1])
            let done = try await server.waitFor(id) { $0["status"] == "COMPLETED" || $0["status"] == "FAILED" }
            #expect(done["status"] == "COMPLETED", "the command saw descriptor \(held): \(done.jsonString())")
        }
    }

    @Test("bad shell data is refused at submit with 422")
    func validation() async throws {
        try await TestServer.with(configure: { $0.inProcessWorkers = .builtIn(BuiltInOptions(allowShell: true)) }) { server in
            for data: JSONValue in [["commands": []], ["commands": [""]], ["commands": "ls"], ["commands": ["ls"], "env": ["1X": "a"]], 5] {
                let reply = try await server.call("POST", "/api/jobs", json: ["processingType": "shell", "data": data])
                #expect(reply.status == 422, "\(data.jsonString())")
            }
        }
    }
}
