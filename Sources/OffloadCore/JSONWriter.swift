import Foundation

/// Serializes `JSONValue`s to compact JSON text with sorted keys, without Foundation's generic encoder
/// (the hot paths write a job or an event for every request).
enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let b): out.append(contentsOf: b ? Array("true".utf8) : Array("false".utf8))
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite {
                out.append(contentsOf: d.description.utf8)
            } else {
                out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            }
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(members[key]!, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    static func writeString(_ string: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0xF)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Compact JSON bytes, keys sorted.
    public func jsonBytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        JSONWriter.write(self, into: &out)
        return out
    }
}

extension Job {
    /// The job as the API shows it (the same fields `Codable` gives, built without the generic encoder).
    public var jsonValue: JSONValue {
        var fields: [String: JSONValue] = [
            "jobId": .string(jobId), "processingType": .string(processingType), "queue": .string(queue),
            "data": data, "options": options, "status": .string(status.rawValue), "progress": .int(Int64(progress)),
            "attempt": .int(Int64(attempt)), "maxAttempts": .int(Int64(maxAttempts)), "priority": .int(Int64(priority)),
            "runAt": .string(Timestamps.format(runAt)), "tenant": .string(tenant),
            "cancelRequested": .bool(cancelRequested), "createdAt": .string(Timestamps.format(createdAt)),
            "errors": .array(errors.map(\.jsonValue)),
        ]
        if let message { fields["message"] = .string(message) }
        if let result { fields["result"] = result }
        if let error { fields["error"] = .string(error) }
        if let timeoutSeconds { fields["timeoutSeconds"] = .int(Int64(timeoutSeconds)) }
        if let idempotencyKey { fields["idempotencyKey"] = .string(idempotencyKey) }
        if let workerId { fields["workerId"] = .string(workerId) }
        if let startedAt { fields["startedAt"] = .string(Timestamps.format(startedAt)) }
        if let completedAt { fields["completedAt"] = .string(Timestamps.format(completedAt)) }
        if let cachedFrom { fields["cachedFrom"] = .string(cachedFrom) }
        return .object(fields)
    }

    /// Reads the API shape back (what `jsonValue` writes), without the generic decoder: a worker reads every
    /// job it leases this way, and `JSONDecoder` was a third of a remote agent's CPU.
    public init(json: JSONValue) throws {
        func missing(_ field: String) -> OffloadError { .badRequest("a job needs \(field)") }
        func string(_ field: String) throws -> String {
            guard let value = json[field]?.stringValue else { throw missing(field) }
            return value
        }
        func int(_ field: String) throws -> Int {
            guard let value = json[field]?.intValue else { throw missing(field) }
            return Int(value)
        }
        func date(_ field: String) throws -> Date {
            guard let value = try optionalDate(field) else { throw missing(field) }
            return value
        }
        func optionalDate(_ field: String) throws -> Date? {
            guard let given = json[field], !given.isNull else { return nil }
            guard let text = given.stringValue, let value = Timestamps.parse(text) else {
                throw OffloadError.badRequest("\(field) must be an ISO 8601 date")
            }
            return value
        }
        func optional(_ field: String) -> JSONValue? {
            guard let value = json[field], !value.isNull else { return nil }
            return value
        }
        guard let status = JobStatus(rawValue: try string("status")) else { throw OffloadError.badRequest("a job needs a known status") }
        self.init(
            jobId: try string("jobId"), processingType: try string("processingType"), queue: try string("queue"),
            data: json["data"] ?? .null, options: json["options"] ?? .object([:]), status: status,
            progress: try int("progress"), message: optional("message")?.stringValue, result: optional("result"),
            error: optional("error")?.stringValue, attempt: try int("attempt"), maxAttempts: try int("maxAttempts"),
            priority: try int("priority"), runAt: try date("runAt"), timeoutSeconds: optional("timeoutSeconds")?.intValue.map(Int.init),
            idempotencyKey: optional("idempotencyKey")?.stringValue, tenant: try string("tenant"),
            workerId: optional("workerId")?.stringValue, cancelRequested: json["cancelRequested"]?.boolValue ?? false,
            createdAt: try date("createdAt"), startedAt: try optionalDate("startedAt"), completedAt: try optionalDate("completedAt"),
            errors: (json["errors"]?.arrayValue ?? []).compactMap(AttemptError.init(json:)),
            cachedFrom: optional("cachedFrom")?.stringValue)
    }
}

extension JobEvent {
    /// The event as the JSON event endpoint shows it.
    public var jsonValue: JSONValue {
        [
            "jobId": .string(jobId), "seq": .int(seq), "kind": .string(kind.rawValue), "data": data,
            "at": .string(Timestamps.format(at)),
        ]
    }
}

extension LeasedJob {
    /// A lease as the worker API answers it: the job's fields with `leaseToken` and `leaseExpiresAt` beside them.
    public var jsonValue: JSONValue {
        guard case .object(var fields) = job.jsonValue else { return job.jsonValue }
        fields["leaseToken"] = .string(leaseToken)
        fields["leaseExpiresAt"] = .string(Timestamps.format(leaseExpiresAt))
        return .object(fields)
    }

    /// Reads a lease from its API shape.
    public init(json: JSONValue) throws {
        guard let token = json["leaseToken"]?.stringValue,
            let expires = json["leaseExpiresAt"]?.stringValue.flatMap(Timestamps.parse)
        else { throw OffloadError.badRequest("a leased job needs leaseToken and leaseExpiresAt") }
        self.init(job: try Job(json: json), leaseToken: token, leaseExpiresAt: expires)
    }
}
