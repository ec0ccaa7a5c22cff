import OffloadCore

/// Runs one processing type. Built-in processors live in `Processors/`; apps add their own.
public protocol Processor: Sendable {
    /// The `processingType` this processor runs.
    var processingType: String { get }

    /// Throws `OffloadError.unprocessable` when `data` is not what this processor takes (checked at submit).
    func validate(_ data: JSONValue) throws

    /// Runs one attempt. Cancellation arrives as task cancellation: stop at the next suspension point.
    func run(_ job: JobContext) async throws -> JSONValue
}

/// What a processor sees of its job: the job, and a way to report progress, log lines and tokens.
public struct JobContext: Sendable {
    public let job: Job
    private let sink: @Sendable ([EventReport]) async throws -> Void

    public init(job: Job, sink: @escaping @Sendable ([EventReport]) async throws -> Void) {
        self.job = job
        self.sink = sink
    }

    public var data: JSONValue { job.data }

    /// Reports progress in percent (0–100), with an optional message.
    public func progress(_ percent: Int, message: String? = nil) async throws {
        try await sink([.progress(percent, message: message)])
    }

    public func log(_ line: String, stream: String = "stdout") async throws {
        try await sink([.log(line, stream: stream)])
    }

    public func token(_ text: String) async throws {
        try await sink([.token(text)])
    }

    public func report(_ events: [EventReport]) async throws {
        try await sink(events)
    }
}

/// The processors a worker or server knows, by processing type.
public struct ProcessorRegistry: Sendable {
    private var processors: [String: any Processor]

    public init(_ processors: [any Processor]) {
        self.processors = Dictionary(processors.map { ($0.processingType, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The built-in demo and benchmark processors: type1, type2, type3 and noop.
    public static var builtIn: ProcessorRegistry {
        ProcessorRegistry([ItemProcessor.type1, ItemProcessor.type2, BatchProcessor(), NoopProcessor()])
    }

    public subscript(type: String) -> (any Processor)? { processors[type] }

    public var types: [String] { processors.keys.sorted() }

    /// Checks a submission: the type must exist and accept the data.
    public func validate(type: String, data: JSONValue) throws {
        guard let processor = processors[type] else {
            throw OffloadError.unprocessable(
                "unknown processingType '\(type)'; known types: \(types.joined(separator: ", "))")
        }
        try processor.validate(data)
    }
}
