import OffloadCore

/// Runs one processing type. The built-in processors live in OffloadWorker; apps add their own.
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
    private let files: @Sendable (String) async throws -> [UInt8]

    public init(
        job: Job, sink: @escaping @Sendable ([EventReport]) async throws -> Void,
        files: @escaping @Sendable (String) async throws -> [UInt8] = { _ in
            throw OffloadError.unavailable("this worker cannot fetch files")
        }
    ) {
        self.job = job
        self.sink = sink
        self.files = files
    }

    /// The content of an uploaded file (`POST /api/files`), fetched from wherever the worker gets its jobs.
    public func file(_ fileId: String) async throws -> [UInt8] {
        try await files(fileId)
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

/// Thrown by a processor whose attempt failed with something to say: what it produced before (the job
/// keeps `result` beside its error, as a shell job keeps the commands that ran), and whether a retry helps.
public struct JobFailure: Error, Sendable {
    public var message: String
    public var result: JSONValue?
    /// Whether (and when) running the job again can help.
    public var retry: RetryHint

    public init(_ message: String, result: JSONValue? = nil, retry: RetryHint = .backoff) {
        self.message = message
        self.result = result
        self.retry = retry
    }
}

/// The processors a worker or server knows, by processing type.
public struct ProcessorRegistry: Sendable {
    private var processors: [String: any Processor]

    public init(_ processors: [any Processor]) {
        self.processors = Dictionary(processors.map { ($0.processingType, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// This registry without the given processing types.
    public func removing(contentsOf types: Set<String>) -> ProcessorRegistry {
        var copy = self
        for type in types { copy.processors.removeValue(forKey: type) }
        return copy
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
