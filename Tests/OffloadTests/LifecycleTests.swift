import Foundation
import OffloadCore
@testable import OffloadStore
import Testing

@Suite("The lifecycle's decisions (one place for both stores)")
struct LifecycleTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func attempt(_ n: Int, of max: Int, cancel: Bool = false) -> Lifecycle.Attempt {
        Lifecycle.Attempt(attempt: n, maxAttempts: max, cancelRequested: cancel)
    }

    @Test("a failed attempt: a requested cancel wins, then a retry while attempts are left and the policy answers, else FAILED")
    func failed() {
        let later = now.addingTimeInterval(5)
        #expect(Lifecycle.failed(attempt(1, of: 3, cancel: true), error: "e", retryAt: { _ in later }) == .finish(.cancelled, error: "e"))
        #expect(Lifecycle.failed(attempt(1, of: 3), error: "e", retryAt: { _ in later })
            == .requeue(runAt: later, reason: "failed", error: "e", uncountAttempt: false))
        #expect(Lifecycle.failed(attempt(3, of: 3), error: "e", retryAt: { _ in later }) == .finish(.failed, error: "e"))
        #expect(Lifecycle.failed(attempt(1, of: 3), error: "e", retryAt: { _ in nil }) == .finish(.failed, error: "e"))
    }

    @Test("a handed-back attempt runs again at once, uncounted, unless its cancel was asked for")
    func released() {
        #expect(Lifecycle.released(attempt(3, of: 3), at: now)
            == .requeue(runAt: now, reason: "handed back", error: nil, uncountAttempt: true))
        #expect(Lifecycle.released(attempt(1, of: 3, cancel: true), at: now) == .finish(.cancelled, error: nil))
    }

    @Test("an expired lease: requeued with its error kept while attempts are left; FAILED on the last; CANCELLED when asked")
    func expired() {
        let message = "lease expired during attempt 1"
        #expect(Lifecycle.expired(attempt(1, of: 2), at: now)
            == (message, .requeue(runAt: now, reason: "lease expired", error: message, uncountAttempt: false)))
        #expect(Lifecycle.expired(attempt(2, of: 2), at: now)
            == ("lease expired during attempt 2", .finish(.failed, error: "lease expired during attempt 2, the last one")))
        #expect(Lifecycle.expired(attempt(1, of: 2, cancel: true), at: now) == (nil, .finish(.cancelled, error: nil)))
    }

    @Test("cancel ends a PENDING job, asks a running one's worker, and refuses a final one; only FAILED and CANCELLED retry")
    func cancelAndRetry() throws {
        var job = Job(
            jobId: "job_1", processingType: "noop", queue: "default", data: .null, options: [:], status: .pending,
            maxAttempts: 3, priority: 0, runAt: now, timeoutSeconds: nil, idempotencyKey: nil, tenant: "t", createdAt: now)
        #expect(try Lifecycle.cancel(job) == .now)
        #expect(throws: OffloadError.self) { try Lifecycle.checkRetry(job) }
        job.status = .processing
        #expect(try Lifecycle.cancel(job) == .askWorker)
        for status in [JobStatus.completed, .failed, .cancelled] {
            job.status = status
            #expect(throws: OffloadError.self) { try Lifecycle.cancel(job) }
            if status == .completed {
                #expect(throws: OffloadError.self) { try Lifecycle.checkRetry(job) }
            } else {
                try Lifecycle.checkRetry(job)
            }
        }
    }
}
