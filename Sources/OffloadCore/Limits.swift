/// A bound the HTTP API enforces, written once: the check that enforces it reads it here, its error message
/// is built from it, and a test finds the same bound in the OpenAPI document at each of `documentedAt`.
public struct Limit: Sendable {
    /// What the bound measures: a number's value, a string's length, an array's items or an object's properties.
    public enum Measure: Sendable {
        case value, length, items, properties
    }

    public let bounds: ClosedRange<Int>
    public let measure: Measure
    /// Where openapi.json states the bound. `Schema.property` is a property of a component schema (`Schema`
    /// alone is the schema itself), `operationId.property` one of an operation's JSON body, `operationId?name`
    /// a query parameter, `Name` alone also a shared parameter; `[]` steps into an array's items, `{}` into an
    /// object's values and `<>` into its keys.
    public let documentedAt: [String]

    public init(_ bounds: ClosedRange<Int>, _ measure: Measure, documentedAt: String...) {
        self.bounds = bounds
        self.measure = measure
        self.documentedAt = documentedAt
    }

    public func allows(_ value: Int) -> Bool { bounds.contains(value) }
    public func allows(_ value: Int64) -> Bool { value >= Int64(bounds.lowerBound) && value <= Int64(bounds.upperBound) }
    public func allows(_ value: Double) -> Bool { value >= Double(bounds.lowerBound) && value <= Double(bounds.upperBound) }
    public func allows(length text: String) -> Bool { bounds.contains(text.count) }

    /// `1...100`, as error messages write it.
    public var range: String { "\(bounds.lowerBound)...\(bounds.upperBound)" }
}

/// Every bound of the API. Validation code names them from here; `all` is what the contract test walks.
public enum Limits {
    // Job options
    public static let maxAttempts = Limit(1...100, .value, documentedAt: "JobOptions.maxAttempts")
    public static let priority = Limit(-1000...1000, .value, documentedAt: "JobOptions.priority")
    public static let delaySeconds = Limit(0...31_536_000, .value, documentedAt: "JobOptions.delaySeconds")
    public static let timeoutSeconds = Limit(1...604_800, .value, documentedAt: "JobOptions.timeoutSeconds")
    public static let cacheSeconds = Limit(1...2_592_000, .value, documentedAt: "CacheLifetime.ttlSeconds")
    public static let queueName = Limit(1...64, .length, documentedAt: "JobOptions.queue", "QueueName")
    public static let idempotencyKey = Limit(1...255, .length, documentedAt: "JobOptions.idempotencyKey")
    public static let webhookURL = Limit(1...2048, .length, documentedAt: "JobOptions.webhookUrl")
    public static let runAt = Limit(1...64, .length, documentedAt: "JobOptions.runAt")
    public static let processingType = Limit(
        1...64, .length,
        documentedAt: "JobSubmission.processingType", "saveTemplate.processingType", "saveSchedule.processingType",
        "registerWorker.processingTypes[]", "ProcessingType")
    // Labels, on jobs and on workers
    public static let labelCount = Limit(0...32, .properties, documentedAt: "Labels")
    public static let labelText = Limit(1...64, .length, documentedAt: "Labels<>", "LabelText")
    // Submitting and reading jobs
    public static let submitWait = Limit(0...300, .value, documentedAt: "submitJob?wait")
    public static let batchSize = Limit(1...1000, .items, documentedAt: "submitBatch.jobs")
    public static let jobPage = Limit(1...500, .value, documentedAt: "listJobs?limit")
    public static let eventPage = Limit(1...1000, .value, documentedAt: "listEvents?limit")
    public static let statsMinutes = Limit(1...1440, .value, documentedAt: "statsSeries?minutes")
    // Administration
    public static let keyName = Limit(1...200, .length, documentedAt: "createKey.name")
    public static let tenant = Limit(1...200, .length, documentedAt: "createKey.tenant")
    public static let templateName = Limit(1...100, .length, documentedAt: "saveTemplate.name")
    public static let scheduleName = Limit(1...100, .length, documentedAt: "saveSchedule.name")
    // Workers
    public static let workerId = Limit(5...64, .length, documentedAt: "registerWorker.workerId")
    public static let workerName = Limit(1...128, .length, documentedAt: "registerWorker.name")
    public static let workerTypes = Limit(1...200, .items, documentedAt: "registerWorker.processingTypes")
    public static let workerCapacity = Limit(1...1000, .value, documentedAt: "registerWorker.maxConcurrentJobs")
    public static let leaseWait = Limit(0...60, .value, documentedAt: "lease?wait", "syncWorker?wait")
    public static let leaseCount = Limit(0...1000, .value, documentedAt: "lease.limit", "syncWorker.lease")
    public static let jobIds = Limit(0...10_000, .items, documentedAt: "JobIds")
    public static let reports = Limit(0...10_000, .items, documentedAt: "syncWorker.reports")
    public static let eventReports = Limit(0...10_000, .items, documentedAt: "EventReports")

    public static let all: [Limit] = [
        maxAttempts, priority, delaySeconds, timeoutSeconds, cacheSeconds, queueName, idempotencyKey, webhookURL, runAt,
        processingType, labelCount, labelText, submitWait, batchSize, jobPage, eventPage, statsMinutes, keyName, tenant,
        templateName, scheduleName, workerId, workerName, workerTypes, workerCapacity, leaseWait, leaseCount, jobIds,
        reports, eventReports,
    ]
}
