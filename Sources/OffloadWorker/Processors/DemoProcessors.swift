import Foundation
import OffloadCore
import OffloadProcessing

/// Validates the item list the demo types take: `[{"id": 1, "name": "item1"}, …]`.
enum ItemList {
    static let maxItems = 100_000

    static func items(_ data: JSONValue) throws -> [JSONValue] {
        guard let items = data.arrayValue else {
            throw OffloadError.unprocessable("data must be an array of items like {\"id\": 1, \"name\": \"item1\"}")
        }
        guard items.count <= maxItems else {
            throw OffloadError.unprocessable("data may hold at most \(maxItems) items")
        }
        for (index, item) in items.enumerated() where item.objectValue == nil {
            throw OffloadError.unprocessable("data[\(index)] must be an object")
        }
        return items
    }
}

/// `type1` (simple, 100 ms per item) and `type2` (complex, 200 ms per item, with timestamps): progress per item.
public struct ItemProcessor: Processor {
    public let processingType: String
    let perItem: Duration
    let stampsTime: Bool

    public static let type1 = ItemProcessor(processingType: "type1", perItem: .milliseconds(100), stampsTime: false)
    public static let type2 = ItemProcessor(processingType: "type2", perItem: .milliseconds(200), stampsTime: true)

    public func validate(_ data: JSONValue) throws { _ = try ItemList.items(data) }

    public func run(_ job: JobContext) async throws -> JSONValue {
        let items = try ItemList.items(job.data)
        var processed: [JSONValue] = []
        processed.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let started = Date()
            try await Task.sleep(for: perItem)
            var fields = item.objectValue ?? [:]
            fields["processed"] = true
            fields["processedBy"] = .string(processingType)
            if stampsTime {
                fields["startedAt"] = .string(Timestamps.format(started))
                fields["finishedAt"] = .string(Timestamps.format(Date()))
            }
            processed.append(.object(fields))
            try await job.progress((index + 1) * 100 / items.count, message: "processed item \(index + 1) of \(items.count)")
        }
        return .array(processed)
    }
}

/// `type3`: batches of 10 items, 500 ms per batch, progress per batch.
public struct BatchProcessor: Processor {
    public let processingType = "type3"
    let perBatch: Duration = .milliseconds(500)
    let batchSize = 10

    public init() {}

    public func validate(_ data: JSONValue) throws { _ = try ItemList.items(data) }

    public func run(_ job: JobContext) async throws -> JSONValue {
        let items = try ItemList.items(job.data)
        var processed: [JSONValue] = []
        let batches = items.chunks(of: batchSize)
        for (index, batch) in batches.enumerated() {
            try await Task.sleep(for: perBatch)
            for item in batch {
                var fields = item.objectValue ?? [:]
                fields["processed"] = true
                fields["batch"] = .int(Int64(index + 1))
                processed.append(.object(fields))
            }
            try await job.progress(
                (index + 1) * 100 / batches.count, message: "processed batch \(index + 1) of \(batches.count)")
        }
        return .array(processed)
    }
}

/// `noop`: completes at once with its data as the result (benchmarks measure the server, not the work).
public struct NoopProcessor: Processor {
    public let processingType = "noop"

    public init() {}

    public func validate(_ data: JSONValue) throws {}

    public func run(_ job: JobContext) async throws -> JSONValue { job.data }
}
