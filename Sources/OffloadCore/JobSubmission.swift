import Foundation

/// The body of `POST /api/jobs`: what a client asks for.
public struct JobSubmission: Sendable {
    public var processingType: String
    public var data: JSONValue?
    public var options: JSONValue?

    /// A submission body with a template's fields filled in where the body leaves them out (options merge
    /// key by key, the body's win). `template` names are resolved by the caller.
    public static func applying(template: JSONValue, to body: JSONValue) throws -> JSONValue {
        guard var fields = body.objectValue else { throw OffloadError.badRequest("the body must be a JSON object") }
        let defaults = template.objectValue ?? [:]
        for key in ["processingType", "data"] where fields[key] == nil {
            if let value = defaults[key] { fields[key] = value }
        }
        var options = defaults["options"]?.objectValue ?? [:]
        if let queue = defaults["queue"], options["queue"] == nil { options["queue"] = queue }
        if let given = fields["options"] {
            guard let givenOptions = given.objectValue else { throw OffloadError.badRequest("options must be a JSON object") }
            options.merge(givenOptions) { _, given in given }
        }
        fields["options"] = .object(options)
        fields.removeValue(forKey: "template")
        return .object(fields)
    }

    /// The fields of a submission body besides `template`, which is applied before this reads it.
    public static let fieldNames: Set<String> = ["processingType", "data", "options"]

    /// Reads a submission from a parsed body; a missing or mistyped field is a 400.
    public init(json: JSONValue) throws {
        guard let fields = json.objectValue else { throw OffloadError.badRequest("the body must be a JSON object") }
        if let unknown = firstKey(of: fields, notIn: Self.fieldNames) {
            throw OffloadError.unprocessable(
                "unknown field '\(unknown)'; a submission holds processingType, data, options and template")
        }
        guard let type = fields["processingType"] else { throw OffloadError.badRequest("missing field 'processingType'") }
        guard let typeName = type.stringValue else { throw OffloadError.badRequest("wrong type for field 'processingType'") }
        self.init(processingType: typeName, data: fields["data"], options: fields["options"])
    }

    public init(processingType: String, data: JSONValue? = nil, options: JSONValue? = nil) {
        self.processingType = processingType
        self.data = data
        self.options = options
    }
}

/// A validated job, ready to be stored.
public struct NewJob: Sendable, Equatable {
    public var jobId: String
    public var processingType: String
    public var queue: String
    public var data: JSONValue
    public var options: JSONValue
    public var maxAttempts: Int
    public var priority: Int
    public var runAt: Date
    public var timeoutSeconds: Int?
    public var idempotencyKey: String?
    public var tenant: String
    public var createdAt: Date
    /// With `options.cache`: how old a completed job with the same type and data may be to be reused.
    public var cacheMaxAge: TimeInterval?
    /// Identifies equal type and data within the tenant (set by the server from a hash).
    public var cacheKey: String?
    /// Labels a worker must carry to lease the job (`options.labels`, and `options.mode` as the `mode` label).
    public var labels: [String: String] = [:]

    public static let defaultMaxAttempts = 3
    public static let defaultQueue = "default"

    public init(
        jobId: String, processingType: String, queue: String = NewJob.defaultQueue, data: JSONValue,
        options: JSONValue = .object([:]), maxAttempts: Int = NewJob.defaultMaxAttempts, priority: Int = 0,
        runAt: Date, timeoutSeconds: Int? = nil, idempotencyKey: String? = nil, tenant: String, createdAt: Date
    ) {
        self.jobId = jobId
        self.processingType = processingType
        self.queue = queue
        self.data = data
        self.options = options
        self.maxAttempts = maxAttempts
        self.priority = priority
        self.runAt = runAt
        self.timeoutSeconds = timeoutSeconds
        self.idempotencyKey = idempotencyKey
        self.tenant = tenant
        self.createdAt = createdAt
    }

    /// The options a submission may give (`options.*`); any other name is refused, so a typo is not ignored.
    public static let optionNames: Set<String> = [
        "queue", "priority", "maxAttempts", "delaySeconds", "runAt", "timeoutSeconds", "idempotencyKey", "webhookUrl",
        "cache", "labels", "mode",
    ]
    /// How long `"cache": true` keeps a result reusable: one day.
    public static let defaultCacheSeconds = 86_400

    /// Checks a submission's options and turns it into a job; every problem is a 400 or 422 with a clear message.
    public init(submission: JobSubmission, tenant: String, jobId: String, now: Date) throws {
        let options = submission.options ?? .object([:])
        guard let fields = options.objectValue else {
            throw OffloadError.badRequest("options must be a JSON object")
        }
        if let unknown = firstKey(of: fields, notIn: Self.optionNames) {
            throw OffloadError.unprocessable(
                "unknown option '\(unknown)'; the options are \(Self.optionNames.sorted().joined(separator: ", "))")
        }
        func int(_ key: String, _ limit: Limit) throws -> Int? {
            guard let value = fields[key], !value.isNull else { return nil }
            guard let i = value.intValue, limit.allows(i) else {
                throw OffloadError.unprocessable("options.\(key) must be an integer in \(limit.range)")
            }
            return Int(i)
        }
        func string(_ key: String, _ limit: Limit) throws -> String? {
            guard let value = fields[key], !value.isNull else { return nil }
            guard let s = value.stringValue, limit.allows(length: s) else {
                throw OffloadError.unprocessable(
                    "options.\(key) must be a string of \(limit.bounds.lowerBound) to \(limit.bounds.upperBound) characters")
            }
            return s
        }
        let queue = try fields["queue"].flatMap { $0.isNull ? nil : $0 }.map { given in
            try Names.queue(given.stringValue ?? "", field: "options.queue")
        } ?? Self.defaultQueue
        var runAt = now
        if let delay = try int("delaySeconds", Limits.delaySeconds) {
            runAt = now.addingTimeInterval(Double(delay))
        }
        if let text = try string("runAt", Limits.runAt) {
            guard fields["delaySeconds"] == nil || fields["delaySeconds"] == .null else {
                throw OffloadError.unprocessable("give options.runAt or options.delaySeconds, not both")
            }
            guard let date = Timestamps.parse(text) else {
                throw OffloadError.unprocessable("options.runAt must be an ISO 8601 date")
            }
            runAt = max(now, date)
        }
        guard Limits.processingType.allows(length: submission.processingType) else {
            let bounds = Limits.processingType.bounds
            throw OffloadError.unprocessable("processingType must be a string of \(bounds.lowerBound) to \(bounds.upperBound) characters")
        }
        if let url = try string("webhookUrl", Limits.webhookURL) {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
                parsed.host?.isEmpty == false
            else {
                throw OffloadError.unprocessable("options.webhookUrl must be an http or https URL")
            }
        }
        self.init(
            jobId: jobId,
            processingType: submission.processingType,
            queue: queue,
            data: submission.data ?? .null,
            options: options,
            maxAttempts: try int("maxAttempts", Limits.maxAttempts) ?? Self.defaultMaxAttempts,
            priority: try int("priority", Limits.priority) ?? 0,
            runAt: runAt,
            timeoutSeconds: try int("timeoutSeconds", Limits.timeoutSeconds),
            idempotencyKey: try string("idempotencyKey", Limits.idempotencyKey),
            tenant: tenant,
            createdAt: now
        )
        self.cacheMaxAge = try Self.cacheLifetime(fields["cache"]).map(TimeInterval.init)
        if let given = fields["labels"], !given.isNull {
            labels = try JobLabels.parse(given, field: "options.labels")
        }
        switch fields["mode"] {
        case nil, .null, .string("any"): break
        case .string("direct"): labels.merge(JobLabels.direct) { _, mode in mode }
        case .string("distributed"): labels.merge(JobLabels.distributed) { _, mode in mode }
        default: throw OffloadError.unprocessable("options.mode must be direct, distributed or any")
        }
    }

    /// `options.cache`: `true` (one day), `false` or absent (no reuse), or `{"ttlSeconds": n}`.
    private static func cacheLifetime(_ given: JSONValue?) throws -> Int? {
        switch given {
        case nil, .null, .bool(false): return nil
        case .bool(true): return defaultCacheSeconds
        case .object(let fields) where fields.keys.allSatisfy({ $0 == "ttlSeconds" }):
            if let ttl = fields["ttlSeconds"]?.intValue, Limits.cacheSeconds.allows(ttl) { return Int(ttl) }
        default: break
        }
        throw OffloadError.unprocessable("options.cache must be true, false or {\"ttlSeconds\": \(Limits.cacheSeconds.range)}")
    }

    /// The text whose hash identifies equal work: the type and the data in canonical JSON (sorted keys).
    public var cacheMaterial: [UInt8] {
        Array(processingType.utf8) + [0] + data.jsonBytes()
    }
}

/// The first name (in sorted order, so the answer is stable) of `fields` that `names` does not allow.
private func firstKey(of fields: [String: JSONValue], notIn names: Set<String>) -> String? {
    fields.keys.filter { !names.contains($0) }.min()
}
