import Foundation

/// What a worker is doing, as the registry shows it.
public enum WorkerStatus: String, Codable, Sendable, CaseIterable {
    /// Leasing and running jobs.
    case active
    /// Paused by an admin: runs what it holds, leases nothing new.
    case paused
    /// Shutting down: finishes what it holds, leases nothing new.
    case draining
    /// Missed its heartbeats (shown, never stored: a worker that comes back is what it was).
    case offline
}

/// A worker as the registry keeps it: what it declared at registration and how it was last seen.
public struct WorkerRecord: Sendable, Equatable {
    public var workerId: String
    public var name: String
    /// The processing types it runs.
    public var processingTypes: [String]
    /// What it carries: a job that asks for labels goes only to a worker carrying all of them.
    public var labels: [String: String]
    public var maxConcurrentJobs: Int
    /// `active`, `paused` or `draining` as stored; `offline` is derived from `lastHeartbeatAt`.
    public var status: WorkerStatus
    public var registeredAt: Date
    public var lastHeartbeatAt: Date

    public init(
        workerId: String, name: String, processingTypes: [String], labels: [String: String], maxConcurrentJobs: Int,
        status: WorkerStatus = .active, registeredAt: Date, lastHeartbeatAt: Date
    ) {
        self.workerId = workerId
        self.name = name
        self.processingTypes = processingTypes
        self.labels = labels
        self.maxConcurrentJobs = maxConcurrentJobs
        self.status = status
        self.registeredAt = Timestamps.date(millis: Timestamps.millis(registeredAt))
        self.lastHeartbeatAt = Timestamps.date(millis: Timestamps.millis(lastHeartbeatAt))
    }

    /// The labels as the lease query matches them: `key=value`, sorted.
    public var labelTerms: [String] { JobLabels.terms(labels) }

    /// The status to show at `now`: offline once no heartbeat came for `offlineAfter`.
    public func status(at now: Date, offlineAfter: TimeInterval) -> WorkerStatus {
        now.timeIntervalSince(lastHeartbeatAt) > offlineAfter ? .offline : status
    }

    /// The registry's JSON shape, with the jobs it runs now.
    public func jsonValue(at now: Date, offlineAfter: TimeInterval, runningJobIds: [String]) -> JSONValue {
        [
            "workerId": .string(workerId), "name": .string(name),
            "processingTypes": .array(processingTypes.map(JSONValue.string)),
            "labels": .object(labels.mapValues(JSONValue.string)),
            "maxConcurrentJobs": .int(Int64(maxConcurrentJobs)),
            "status": .string(status(at: now, offlineAfter: offlineAfter).rawValue),
            "currentJobs": .array(runningJobIds.map(JSONValue.string)),
            "registeredAt": .string(Timestamps.format(registeredAt)),
            "lastHeartbeatAt": .string(Timestamps.format(lastHeartbeatAt)),
        ]
    }
}

/// Labels on jobs and workers: `options.labels` of a job (the worker must carry them all) and `options.mode`,
/// which picks the server's own workers (`direct`) or remote agents (`distributed`) through the `mode` label
/// that each kind carries.
public enum JobLabels {
    /// The label every in-process worker carries: `mode=direct`.
    public static let direct = ["mode": "direct"]
    /// The label every remote worker carries: `mode=distributed`.
    public static let distributed = ["mode": "distributed"]

    /// Labels as stored and matched: `key=value`, sorted.
    public static func terms(_ labels: [String: String]) -> [String] {
        labels.map { "\($0.key)=\($0.value)" }.sorted()
    }

    /// Reads and checks a label object (`{"gpu": "a100"}`); `field` names it in errors.
    public static func parse(_ value: JSONValue, field: String) throws -> [String: String] {
        guard let object = value.objectValue else {
            throw OffloadError.unprocessable("\(field) must be an object of string labels")
        }
        guard Limits.labelCount.allows(object.count) else {
            throw OffloadError.unprocessable("\(field) may hold at most \(Limits.labelCount.bounds.upperBound) labels")
        }
        var labels: [String: String] = [:]
        for (key, raw) in object {
            guard let text = raw.stringValue ?? raw.intValue.map(String.init) ?? raw.boolValue.map(String.init) else {
                throw OffloadError.unprocessable("\(field).\(key) must be a string")
            }
            guard valid(key), valid(text) else {
                throw OffloadError.unprocessable(
                    "\(field) keys and values must be 1 to 64 ASCII letters, digits, '-', '_', '.', '/' or ':'")
            }
            labels[key] = text
        }
        return labels
    }

    private static func valid(_ text: String) -> Bool {
        Limits.labelText.allows(length: text) && Names.isPlain(text, marks: "-_./:")
    }
}
