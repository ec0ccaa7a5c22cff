import OffloadCore

/// Rules both stores apply the same way, written once.
extension JobStatus {
    /// The statuses the lifecycle allows `status` to be reached from, as an SQL list: every transition's
    /// UPDATE is guarded by `JobStatus.canTransition`, the one definition of the state machine.
    static func sqlPredecessors(of status: JobStatus) -> String {
        allCases.filter { $0.canTransition(to: status) }.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    }
}

extension LeasedJob {
    /// The order a lease answers its jobs in: priority (higher first), then FIFO by `runAt`, then id.
    static func leaseOrder(_ a: LeasedJob, _ b: LeasedJob) -> Bool {
        if a.job.priority != b.job.priority { return a.job.priority > b.job.priority }
        if a.job.runAt != b.job.runAt { return a.job.runAt < b.job.runAt }
        return a.job.jobId < b.job.jobId
    }
}

extension JobPage {
    /// A page from up to `limit + 1` jobs read newest first: the extra one only says another page exists.
    init(fetched: [Job], limit: Int) {
        var jobs = fetched
        var next: String?
        if jobs.count > limit {
            jobs.removeLast(jobs.count - limit)
            next = jobs.last?.jobId
        }
        self.init(jobs: jobs, nextCursor: next)
    }
}

/// The positions of a batch's first write to each job, and those of the writes to a job named again.
///
/// One `UPDATE … FROM` over a batch updates a job named twice only once, and its returned row cannot say
/// which of the two writes (which lease token) matched: both stores run the repeats after the others, each
/// then finding the job as the earlier write left it.
func firstsAndRepeats(_ jobIds: [String]) -> (firsts: [Int], repeats: [Int]) {
    var seen = Set<String>()
    var firsts: [Int] = []
    var repeats: [Int] = []
    for (index, id) in jobIds.enumerated() {
        if seen.insert(id).inserted { firsts.append(index) } else { repeats.append(index) }
    }
    return (firsts, repeats)
}

extension Job {
    /// This running job once its cancel was asked for, and the effect that tells its worker.
    func askedToCancel() -> (Job, WriteEffects) {
        var job = self
        job.cancelRequested = true
        return (job, WriteEffects(cancelRequests: [jobId]))
    }
}
