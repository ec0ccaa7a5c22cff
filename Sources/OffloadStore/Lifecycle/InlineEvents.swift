import Foundation
import OffloadCore

/// The status events a job row stands for itself, so that a job that runs once writes no event row at all.
///
/// A job's lifecycle events (its first PENDING, the PROCESSING of its current attempt, its final event with
/// the whole job) follow from columns the job row keeps anyway (`created_at`; `attempt`, `worker_id` and
/// `started_at`; the final status, `completed_at` and the row itself). The row marks which of them it stands
/// for, with their seqs, and a read of the job's events adds them to the stored ones in seq order. Before a
/// transition overwrites those columns (a retry, a requeue), the store writes the events they stand for as rows
/// (`materializedBeforeRequeue`), so replay stays exact. Reported events (progress, log, token) and requeue
/// events are always rows. Rows written before migration 016 stand for nothing (`[]`): their events are rows.
struct InlineEvents: OptionSet, Sendable, Equatable {
    let rawValue: Int64

    /// The job's first event, seq 1: `{"status": "PENDING"}` at `createdAt`.
    static let first = InlineEvents(rawValue: 1)
    /// The final event, seq `lastSeq`: the job as stored, at `completedAt`.
    static let final = InlineEvents(rawValue: 2)

    /// The assignments (the same SQL on both stores) of a transition back to PENDING: the row then stands for
    /// its first event alone, the others having been stored as rows just before (`materializedBeforeRequeue`).
    static let sqlStandingForFirstOnly = "processing_seq = NULL, inline_events = inline_events & \(first.rawValue)"
}

extension JobRow {
    /// The events this row stands for, in seq order.
    var inlineEvents: [JobEvent] {
        (inline.contains(.first) ? [firstEvent] : []) + materializedBeforeRequeue
    }

    /// The events a transition back to PENDING would lose the columns of (the current attempt's PROCESSING and
    /// the final event): the store writes them as rows first, and the transition leaves the row standing for its
    /// first event alone.
    var materializedBeforeRequeue: [JobEvent] {
        var events: [JobEvent] = []
        if let processingSeq, let startedAt = job.startedAt {
            events.append(JobEvent(
                jobId: job.jobId, seq: processingSeq, kind: .status,
                data: JSONValue.processing(attempt: job.attempt, workerId: job.workerId ?? ""), at: startedAt))
        }
        if inline.contains(.final), let kind = job.status.finalEventKind, let completedAt = job.completedAt {
            events.append(JobEvent(jobId: job.jobId, seq: lastSeq, kind: kind, data: job.jsonValue, at: completedAt))
        }
        return events
    }

    private var firstEvent: JobEvent {
        JobEvent(jobId: job.jobId, seq: 1, kind: .status, data: ["status": "PENDING"], at: job.createdAt)
    }

    /// The job's events after `after`, at most `limit`: `stored` (the event rows after `after`, in order, at most
    /// `limit`) and the ones this row stands for, in seq order.
    func events(merging stored: [JobEvent], after: Int64, limit: Int) -> [JobEvent] {
        let inline = inlineEvents.filter { $0.seq > after }
        guard !inline.isEmpty else { return stored }
        return Array((stored + inline).sorted { $0.seq < $1.seq }.prefix(max(1, limit)))
    }
}

extension JobStatus {
    /// The kind of the event that closes a job in this status; nil while it is not final.
    var finalEventKind: EventKind? {
        switch self {
        case .completed: .completed
        case .failed: .failed
        case .cancelled: .cancelled
        case .pending, .processing: nil
        }
    }
}

extension JSONValue {
    /// The data of the PROCESSING event that starts an attempt.
    static func processing(attempt: Int, workerId: String) -> JSONValue {
        ["status": "PROCESSING", "attempt": .int(Int64(attempt)), "workerId": .string(workerId)]
    }
}
