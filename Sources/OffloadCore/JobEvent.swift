import Foundation

/// The kinds of entries in a job's append-only event log.
public enum EventKind: String, Sendable, CaseIterable {
    case status, progress, log, token, completed, failed, cancelled

    /// The final kinds close an SSE stream.
    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }

    /// Kinds a worker may report; the others are written by the store on transitions.
    public var isReportable: Bool { self == .progress || self == .log || self == .token }
}

/// One entry of a job's event log; `seq` counts from 1 per job, without gaps.
public struct JobEvent: Sendable, Equatable {
    public var jobId: String
    public var seq: Int64
    public var kind: EventKind
    public var data: JSONValue
    public var at: Date

    public init(jobId: String, seq: Int64, kind: EventKind, data: JSONValue, at: Date) {
        self.jobId = jobId
        self.seq = seq
        self.kind = kind
        self.data = data
        self.at = at
    }
}

/// An event a worker reports, before the store gives it a sequence number.
public struct EventReport: Sendable, Equatable {
    public var kind: EventKind
    public var data: JSONValue

    public init(kind: EventKind, data: JSONValue) {
        self.kind = kind
        self.data = data
    }

    public static func progress(_ percent: Int, message: String? = nil) -> EventReport {
        var data: [String: JSONValue] = ["progress": .int(Int64(percent))]
        if let message { data["message"] = .string(message) }
        return EventReport(kind: .progress, data: .object(data))
    }

    public static func log(_ line: String, stream: String = "stdout") -> EventReport {
        EventReport(kind: .log, data: ["stream": .string(stream), "line": .string(line)])
    }

    public static func token(_ text: String) -> EventReport {
        EventReport(kind: .token, data: ["text": .string(text)])
    }
}
