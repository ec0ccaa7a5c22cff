import Foundation

/// A unit of work and everything known about it. Its one JSON form, the API's, is `jsonValue` and
/// `init(json:)` (in JSONWriter.swift), through the fast parser and writer.
public struct Job: Sendable, Equatable {
    public var jobId: String
    public var processingType: String
    public var queue: String
    public var data: JSONValue
    public var options: JSONValue
    public var status: JobStatus
    public var progress: Int
    public var message: String?
    public var result: JSONValue?
    public var error: String?
    public var attempt: Int
    public var maxAttempts: Int
    public var priority: Int
    public var runAt: Date
    public var timeoutSeconds: Int?
    public var idempotencyKey: String?
    public var tenant: String
    public var workerId: String?
    public var cancelRequested: Bool
    public var createdAt: Date
    public var startedAt: Date?
    public var completedAt: Date?
    /// The error of every failed attempt, oldest first.
    public var errors: [AttemptError]
    /// Set when the result was served from the result cache: the job whose result this is.
    public var cachedFrom: String?

    public init(
        jobId: String, processingType: String, queue: String, data: JSONValue, options: JSONValue,
        status: JobStatus, progress: Int = 0, message: String? = nil, result: JSONValue? = nil,
        error: String? = nil, attempt: Int = 0, maxAttempts: Int, priority: Int, runAt: Date,
        timeoutSeconds: Int?, idempotencyKey: String?, tenant: String, workerId: String? = nil,
        cancelRequested: Bool = false, createdAt: Date, startedAt: Date? = nil, completedAt: Date? = nil,
        errors: [AttemptError] = [], cachedFrom: String? = nil
    ) {
        self.jobId = jobId
        self.processingType = processingType
        self.queue = queue
        self.data = data
        self.options = options
        self.status = status
        self.progress = progress
        self.message = message
        self.result = result
        self.error = error
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.runAt = runAt
        self.timeoutSeconds = timeoutSeconds
        self.idempotencyKey = idempotencyKey
        self.tenant = tenant
        self.workerId = workerId
        self.cancelRequested = cancelRequested
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.errors = errors
        self.cachedFrom = cachedFrom
    }
}

/// A job handed to one worker for one attempt; reports must carry `leaseToken`.
public struct LeasedJob: Sendable, Equatable {
    public var job: Job
    public var leaseToken: String
    public var leaseExpiresAt: Date

    public init(job: Job, leaseToken: String, leaseExpiresAt: Date) {
        self.job = job
        self.leaseToken = leaseToken
        self.leaseExpiresAt = leaseExpiresAt
    }
}

/// Names one lease: the job and the token its worker must show in every report.
public struct LeaseRef: Sendable, Equatable {
    public var jobId: String
    public var leaseToken: String

    public init(jobId: String, leaseToken: String) {
        self.jobId = jobId
        self.leaseToken = leaseToken
    }
}

/// Why one attempt failed.
public struct AttemptError: Sendable, Equatable {
    public var attempt: Int
    public var error: String
    public var at: Date

    public init(attempt: Int, error: String, at: Date) {
        self.attempt = attempt
        self.error = error
        self.at = at
    }

    public var jsonValue: JSONValue {
        ["attempt": .int(Int64(attempt)), "error": .string(error), "at": .string(Timestamps.format(at))]
    }

    /// Reads the form the stores keep: `{"attempt", "error", "at"}` with `at` in milliseconds or ISO 8601.
    public init?(json: JSONValue) {
        guard let attempt = json["attempt"]?.intValue, let error = json["error"]?.stringValue else { return nil }
        let at = json["at"]?.intValue.map(Timestamps.date(millis:)) ?? json["at"]?.stringValue.flatMap(Timestamps.parse)
        self.init(attempt: Int(attempt), error: error, at: at ?? Date(timeIntervalSince1970: 0))
    }
}
