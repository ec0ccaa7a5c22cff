import Foundation
import OffloadCore

/// The job lifecycle's decisions, made once for every store: each store only reads the state a decision needs
/// and applies the outcome with its own statements (`JobStatus.canTransition` guards every one of them).
enum Lifecycle {
    /// What a decision about a running attempt needs to know of it.
    struct Attempt: Sendable, Equatable {
        var attempt: Int
        var maxAttempts: Int
        var cancelRequested: Bool
    }

    /// How an attempt that did not complete ends.
    enum Outcome: Sendable, Equatable {
        /// The job becomes final in `status` (FAILED or CANCELLED), with `error` kept when given.
        case finish(JobStatus, error: String?)
        /// The job waits again until `runAt`; a handed-back attempt does not count.
        case requeue(runAt: Date, reason: String, error: String?, uncountAttempt: Bool)
    }

    /// A lease sweep requeues at most this many expired leases per transaction.
    static let expiredPerSweep = 1_000

    /// A worker reported the attempt failed: its cancel wins, then a retry while attempts are left and the
    /// policy answers a date, else FAILED.
    static func failed(_ attempt: Attempt, error: String, retryAt: (Int) -> Date?) -> Outcome {
        if attempt.cancelRequested { return .finish(.cancelled, error: error) }
        if attempt.attempt < attempt.maxAttempts, let runAt = retryAt(attempt.attempt) {
            return .requeue(runAt: runAt, reason: "failed", error: error, uncountAttempt: false)
        }
        return .finish(.failed, error: error)
    }

    /// A worker handed the job back (it is shutting down): it runs again at once, the attempt uncounted.
    static func released(_ attempt: Attempt, at: Date) -> Outcome {
        attempt.cancelRequested
            ? .finish(.cancelled, error: nil)
            : .requeue(runAt: at, reason: "handed back", error: nil, uncountAttempt: true)
    }

    /// The attempt's lease expired: the error to keep in the job's list (nil: none), and what follows.
    static func expired(_ attempt: Attempt, at now: Date) -> (error: String?, outcome: Outcome) {
        if attempt.cancelRequested { return (nil, .finish(.cancelled, error: nil)) }
        let message = "lease expired during attempt \(attempt.attempt)"
        if attempt.attempt < attempt.maxAttempts {
            return (message, .requeue(runAt: now, reason: "lease expired", error: message, uncountAttempt: false))
        }
        return (message, .finish(.failed, error: "\(message), the last one"))
    }

    /// What a cancel does to a job in `job`'s status.
    enum Cancel: Sendable, Equatable {
        /// A PENDING job is CANCELLED at once.
        case now
        /// A running job is marked; its worker is told and acknowledges.
        case askWorker
    }

    static func cancel(_ job: Job) throws -> Cancel {
        switch job.status {
        case .pending: return .now
        case .processing: return .askWorker
        case .completed, .failed, .cancelled:
            throw OffloadError.conflict("job \(job.jobId) is already \(job.status.rawValue)")
        }
    }

    /// Only a FAILED or CANCELLED job may be run again by hand.
    static func checkRetry(_ job: Job) throws {
        guard job.status == .failed || job.status == .cancelled else {
            throw OffloadError.conflict(
                "only a FAILED or CANCELLED job can be retried; job \(job.jobId) is \(job.status.rawValue)")
        }
    }

    /// The data of the PENDING event of a job that goes back to waiting.
    static func requeueEventData(reason: String, attempt: Int, runAt: Date, error: String?) -> JSONValue {
        var data: [String: JSONValue] = [
            "status": "PENDING", "reason": .string(reason), "attempt": .int(Int64(attempt)),
            "runAt": .string(Timestamps.format(runAt)),
        ]
        if let error { data["error"] = .string(error) }
        return .object(data)
    }
}
