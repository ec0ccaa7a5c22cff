import ArgumentParser
import Foundation
import Logging

enum LogSetup {
    /// Sets up swift-log from `--log-format` and `--log-level`; a bad value is a usage error.
    static func bootstrap(format: String, level: String) throws {
        guard format == "text" || format == "json" else { throw ValidationError("--log-format must be text or json") }
        guard let parsed = Logger.Level(rawValue: level) else {
            throw ValidationError("--log-level must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        bootstrap(json: format == "json", level: parsed)
    }

    /// Sets up swift-log once: human-readable lines, or one JSON object per line.
    static func bootstrap(json: Bool, level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// One JSON object per log line: time, level, message, and the metadata (jobId, workerId, …) as fields.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields: [String: String] = [
            "time": Date().formatted(.iso8601), "level": event.level.rawValue, "message": event.message.description,
            "logger": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            fields[key] = value.description
        }
        if let error = event.error { fields["error"] = "\(error)" }
        if let data = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes]) {
            FileHandle.standardError.write(data + Data("\n".utf8))
        }
    }
}
