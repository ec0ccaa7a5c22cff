import Foundation
import OffloadCore

/// A job as a store reads it, with the bookkeeping beside it that the API does not show.
struct JobRow {
    var job: Job
    /// The seq of the job's newest event.
    var lastSeq: Int64
    var leaseToken: String?
    var leaseExpiresAt: Date?
    /// The status events this row stands for instead of event rows (see `InlineEvents`).
    var inline: InlineEvents = []
    /// The seq of the current attempt's PROCESSING event when the row stands for it (nil: none, or stored).
    var processingSeq: Int64?
}
