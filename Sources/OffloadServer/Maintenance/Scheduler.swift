import Foundation
import Logging
import OffloadCore
import OffloadStore

/// Enqueues each schedule's job once per cron tick (leader only).
///
/// A tick's job carries the idempotency key `schedule:NAME:TICK`, so two servers that enqueue the same tick
/// at once (a leader that lost its lead and the one that took it) store one job; then each tries to move the
/// schedule to its next tick with a compare-and-set, which one of them wins. The tick to enqueue is kept in
/// the store, so a leader that was down at a tick enqueues it when it comes back (once, however many ticks
/// it missed).
struct Scheduler: Maintenance {
    /// Stores the ticks' jobs (and counts them in the metrics, as every submit is).
    let submitter: JobSubmitter
    /// How often due schedules are looked for (ticks are whole minutes).
    let interval: Duration
    let logger: Logger
    var name: String { "scheduler" }
    var leaderOnly: Bool { true }

    func round(now: Date) async throws -> Int {
        try await enqueueDue(now: now).filter(\.created).count
    }

    /// Enqueues the job of every schedule due at `now`; answers what each submit answered.
    @discardableResult
    func enqueueDue(now: Date) async throws -> [SubmitOutcome] {
        let store = submitter.store
        var outcomes: [SubmitOutcome] = []
        for schedule in try await store.dueSchedules(at: now) {
            let tick = schedule.nextRunAt
            var logger = self.logger
            logger[metadataKey: "schedule"] = "\(schedule.name)"
            do {
                var options = schedule.options.objectValue ?? [:]
                options["idempotencyKey"] = .string("schedule:\(schedule.name):\(Timestamps.millis(tick))")
                options["queue"] = .string(schedule.queue)
                let job = try NewJob(
                    submission: JobSubmission(processingType: schedule.processingType, data: schedule.data, options: .object(options)),
                    tenant: schedule.tenant, jobId: IDGenerator().jobId(at: now), now: now)
                let outcome = try await submitter.submit([job])
                outcomes += outcome
                if let created = outcome.first, created.created {
                    logger.info("enqueued a scheduled job", metadata: ["jobId": "\(created.job.jobId)"])
                }
            } catch let error as OffloadError where error.code != "unavailable" {
                // A schedule that cannot make a valid job still moves on, instead of failing every second.
                logger.warning("a schedule's job was refused", metadata: ["error": "\(error.message)"])
            }
            guard let next = try? CronExpression(schedule.cron).next(after: now) else {
                logger.warning("the schedule never runs again; it stays due until it is changed or deleted")
                continue
            }
            _ = try await store.advanceSchedule(name: schedule.name, from: tick, to: next)
        }
        return outcomes
    }
}
