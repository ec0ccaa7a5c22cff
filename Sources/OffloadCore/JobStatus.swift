/// Where a job is in its life: `PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED`.
public enum JobStatus: String, Sendable, CaseIterable {
    case pending = "PENDING"
    case processing = "PROCESSING"
    case completed = "COMPLETED"
    case failed = "FAILED"
    case cancelled = "CANCELLED"

    /// A final status never changes again (except through an explicit retry).
    public var isFinal: Bool {
        switch self {
        case .completed, .failed, .cancelled: return true
        case .pending, .processing: return false
        }
    }

    /// Whether the lifecycle allows going from this status to `next`.
    ///
    /// `PROCESSING → PENDING` is a failed attempt with attempts left, an expired lease or a job handed
    /// back on shutdown; `FAILED | CANCELLED → PENDING` is an explicit retry.
    public func canTransition(to next: JobStatus) -> Bool {
        switch (self, next) {
        case (.pending, .processing), (.pending, .cancelled):
            return true
        case (.processing, .completed), (.processing, .failed), (.processing, .cancelled), (.processing, .pending):
            return true
        case (.failed, .pending), (.cancelled, .pending):
            return true
        default:
            return false
        }
    }
}
