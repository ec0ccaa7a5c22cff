import Foundation
import OffloadCore
import OffloadProcessing

/// The `shell` processing type (004): unpacks the job's ZIP bundle into a fresh directory, runs its commands
/// there one after another with `sh -c`, streams their stdout and stderr as `log` events line by line, and
/// answers each command's exit code and duration. The directory is removed afterwards, whatever happened.
///
/// Commands run with a small environment of their own (PATH, HOME, LANG, the job's `env`), never the
/// worker's, so the worker's secrets stay out of their reach.
public struct ShellProcessor: Processor {
    public let processingType = "shell"
    /// Where job directories are made.
    public var workRoot: URL

    public init(workRoot: URL = FileManager.default.temporaryDirectory) {
        self.workRoot = workRoot
    }

    struct Spec {
        var bundleId: String?
        var commands: [String]
        var continueOnError: Bool
        var env: [String: String]

        init(_ data: JSONValue) throws {
            guard let fields = data.objectValue else {
                throw OffloadError.unprocessable("shell data must be {\"commands\": [...], \"bundleId\"?, \"continueOnError\"?, \"env\"?}")
            }
            guard let list = fields["commands"]?.arrayValue, !list.isEmpty, list.count <= 100 else {
                throw OffloadError.unprocessable("data.commands must be an array of 1 to 100 commands")
            }
            commands = try list.map { item in
                guard let text = item.stringValue, !text.trimmingCharacters(in: .whitespaces).isEmpty,
                    text.utf8.count <= 16_384, !text.contains("\0")
                else { throw OffloadError.unprocessable("each of data.commands must be a non-empty string") }
                return text
            }
            if let id = fields["bundleId"], !id.isNull {
                guard let text = id.stringValue, !text.isEmpty else {
                    throw OffloadError.unprocessable("data.bundleId must be a file id from POST /api/files")
                }
                bundleId = text
            }
            if let flag = fields["continueOnError"], !flag.isNull {
                guard let value = flag.boolValue else { throw OffloadError.unprocessable("data.continueOnError must be a boolean") }
                continueOnError = value
            } else {
                continueOnError = false
            }
            env = [:]
            if let given = fields["env"], !given.isNull {
                guard let object = given.objectValue else { throw OffloadError.unprocessable("data.env must be an object of strings") }
                for (key, value) in object {
                    guard let text = value.stringValue, !text.contains("\0"), !key.isEmpty,
                        key.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }), key.first?.isNumber == false
                    else { throw OffloadError.unprocessable("data.env.\(key) must be a string under a valid variable name") }
                    env[key] = text
                }
            }
        }
    }

    public func validate(_ data: JSONValue) throws {
        _ = try Spec(data)
    }

    public func run(_ job: JobContext) async throws -> JSONValue {
        let spec = try Spec(job.data)
        let directory = workRoot.appendingPathComponent("offload-\(job.job.jobId)-\(IDGenerator().secret(bytes: 6))")
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? fileManager.removeItem(at: directory) }
        if let bundleId = spec.bundleId {
            try BundleArchive.extract(try await job.file(bundleId), into: directory)
        }
        var environment = [
            "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": directory.path, "LANG": "C.UTF-8",
            "OFFLOAD_JOB_ID": job.job.jobId,
        ]
        environment.merge(spec.env) { _, given in given }

        var ran: [JSONValue] = []
        var firstFailure: Int32 = 0
        func result() -> JSONValue { ["commands": .array(ran), "exitCode": .int(Int64(firstFailure))] }
        for (index, command) in spec.commands.enumerated() {
            try await job.progress(index * 100 / spec.commands.count, message: "command \(index + 1) of \(spec.commands.count)")
            let started = ContinuousClock.now
            let code = try await EventForwarder.forward(to: job) { send in
                try await ShellCommand(command: command, directory: directory.path, environment: environment).run { line in
                    send(.log(line.text, stream: line.stream))
                }
            }
            let elapsed = ContinuousClock.now - started
            let milliseconds = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
            ran.append(["command": .string(command), "exitCode": .int(Int64(code)), "durationMs": .int(milliseconds)])
            guard code != 0 else { continue }
            if firstFailure == 0 { firstFailure = code }
            if !spec.continueOnError {
                throw JobFailure("command \(index + 1) exited with code \(code): \(command)", result: result())
            }
        }
        try await job.progress(100)
        return result()
    }
}
