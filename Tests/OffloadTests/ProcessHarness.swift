import Foundation
import OffloadCore
import Synchronization

/// An `offload` process started by a test, stopped only by its pid.
final class OffloadProcess: Sendable {
    let process: Process
    let baseURL: String
    private let output: Locked<String>

    /// The `offload` binary built beside the test bundle.
    static var binary: String {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var directory = exe.deletingLastPathComponent()
        // The test bundle may be a directory (…/OffloadPackageTests.xctest) or a file in the build folder.
        while !FileManager.default.isExecutableFile(atPath: directory.appendingPathComponent("offload").path),
            directory.pathComponents.count > 2
        {
            directory = directory.deletingLastPathComponent()
        }
        return directory.appendingPathComponent("offload").path
    }

    private init(process: Process, baseURL: String, output: Locked<String>, logPath: String) {
        self.process = process
        self.baseURL = baseURL
        self.output = output
        self.logPath = logPath
    }

    private let logPath: String

    /// What the server logged so far (its standard error).
    var logText: String {
        String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self)
    }

    /// A test that fails half-way must not leave its server running: kill it by its pid.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var outputText: String { output.withLock { $0 } }

    /// Starts `offload serve` on a free port in `dataDir` and waits until it listens.
    static func serve(dataDir: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> OffloadProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0", "--data-dir", dataDir] + arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "OFFLOAD_ADMIN_KEY")
        env.removeValue(forKey: "OFFLOAD_JWT_SECRET")
        env.merge(environment) { _, new in new }
        process.environment = env
        let pipe = Pipe()
        process.standardOutput = pipe
        // The server's log lines, for a test that fails to show.
        let logPath = dataDir + "/offload.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let output = Locked("")
        let lines = text(of: pipe) { text, _ in output.withLock { $0 += text } }
        try process.run()
        let url = try await firstMatch(in: lines) { seen in
            seen.range(of: #"listening on (http://[0-9.]+:[0-9]+)"#, options: .regularExpression)
                .map { String(seen[$0].dropFirst("listening on ".count)) }
        }
        guard let url else {
            process.terminate()
            throw TestFailure("offload serve did not start: \(output.withLock { $0 })")
        }
        return OffloadProcess(process: process, baseURL: url, output: output, logPath: logPath)
    }

    /// Starts `offload worker` against `server` with a worker key; waits until it has registered.
    static func worker(
        server: String, key: String, directory: String, name: String, arguments: [String] = [],
        environment: [String: String] = [:]
    ) async throws -> OffloadProcess {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["worker", "--server", server, "--name", name, "--state-file", "\(directory)/\(name).json"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["OFFLOAD_WORKER_KEY"] = key
        env.merge(environment) { _, new in new }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        let logPath = "\(directory)/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let pipe = Pipe()
        process.standardError = pipe
        let lines = text(of: pipe) { _, data in log.write(data) }
        try process.run()
        let registered = try await firstMatch(in: lines) { $0.contains("worker registered") ? true : nil }
        let started = OffloadProcess(process: process, baseURL: server, output: Locked(""), logPath: logPath)
        guard registered == true else { throw TestFailure("offload worker did not register: \(started.logText)") }
        return started
    }

    /// The worker id an `offload worker` keeps in its state file.
    static func workerId(directory: String, name: String) -> String? {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name).json") else { return nil }
        return (try? JSONValue.parse(Array(data)))?["workerId"]?.stringValue
    }

    /// What a process writes to `pipe`, chunk by chunk as it comes; `also` sees each chunk first.
    private static func text(of pipe: Pipe, also: @escaping @Sendable (String, Data) -> Void) -> AsyncStream<String> {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                continuation.finish()
                return
            }
            let text = String(decoding: data, as: UTF8.self)
            also(text, data)
            continuation.yield(text)
        }
        return lines
    }

    /// What `match` finds in the text read so far from `lines`, waiting for it at most 60 s (nil: never).
    private static func firstMatch<T: Sendable>(
        in lines: AsyncStream<String>, _ match: @escaping @Sendable (String) -> T?
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                var seen = ""
                for await chunk in lines {
                    seen += chunk
                    if let found = match(seen) { return found }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    /// Runs `offload ARGUMENTS` to its end (a client command); answers its exit status and stdout.
    static func run(_ arguments: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Locked("")
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
            } else {
                output.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        try process.run()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("offload \(arguments.first ?? "") did not end in time")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let rest = pipe.fileHandleForReading.readDataToEndOfFile()
        pipe.fileHandleForReading.readabilityHandler = nil
        output.withLock { $0 += String(decoding: rest, as: UTF8.self) }
        return (process.terminationStatus, output.withLock { $0 })
    }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to exit (bounded) and answers its exit status.
    func waitForExit(timeout: Duration = .seconds(30)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                throw TestFailure("offload did not exit in time; its log ends:\n\(logText.suffix(4_000))")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
