import OffloadCore

/// Where a worker gets its jobs and sends its reports: the store directly (in-process workers) or the
/// server's worker HTTP API (remote agents).
public protocol JobSource: Sendable {
    /// Leases up to `limit` jobs, waiting up to `wait` for one to become ready; empty when none came.
    func lease(limit: Int, wait: Duration) async throws -> [LeasedJob]

    /// Sends events; answers whether the job's cancel was requested.
    func report(_ lease: LeaseRef, events: [EventReport]) async throws -> Bool

    func complete(_ lease: LeaseRef, result: JSONValue) async throws

    /// Ends the attempt with an error (and what the attempt produced before it, if anything); the server
    /// decides whether and when the job runs again, within what `retry` allows.
    func fail(_ lease: LeaseRef, error: String, result: JSONValue?, retry: RetryHint) async throws

    /// The job stopped because its cancel was requested.
    func acknowledgeCancel(_ lease: LeaseRef) async throws

    /// Hands the job back without counting the attempt (shutdown).
    func release(_ lease: LeaseRef) async throws

    /// Keeps the leases alive; answers the ids of jobs to stop (cancel requested, or lease lost).
    func heartbeat(_ leases: [LeaseRef]) async throws -> [String]

    /// Ids of running jobs whose cancel was requested, as soon as the source hears of it.
    func cancellations() -> AsyncStream<String>

    /// The content of an uploaded file (a shell job's bundle).
    func file(_ fileId: String) async throws -> [UInt8]
}
