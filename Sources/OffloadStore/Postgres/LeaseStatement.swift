import PostgresNIO

/// What every lease binds first: `$1` now, `$2` how many jobs at most, `$3` the worker, `$4` the lease's expiry.
struct LeaseTerms: Sendable {
    var now: Int64
    var limit: Int64
    var workerId: String
    var expiresAt: Int64

    /// The lease statement around `filters` (which bind from `$5` on): up to `$2` ready jobs in lease order,
    /// locked with `SKIP LOCKED`, marked PROCESSING and returned.
    static func statement(filters: String) -> String {
        """
        WITH picked AS (
            SELECT id FROM jobs
            WHERE status = 'PENDING' AND run_at <= $1
                \(filters)
                AND queue NOT IN (SELECT queue FROM paused_queues)
            ORDER BY priority DESC, run_at, id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), leased AS (
            UPDATE jobs SET status = 'PROCESSING', attempt = jobs.attempt + 1, worker_id = $3,
                lease_token = md5(random()::text || clock_timestamp()::text || jobs.id), lease_expires_at = $4,
                started_at = $1, progress = 0, message = NULL, last_seq = jobs.last_seq + 1,
                processing_seq = jobs.last_seq + 1
            FROM picked WHERE jobs.id = picked.id
            RETURNING \(PostgresRows.jobColumns("jobs"))
        )
        SELECT * FROM leased
        """
    }

    /// `$1`–`$4`, with room for `filters` more.
    func bindings(filters: Int) -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4 + filters)
        bindings.append(now)
        bindings.append(limit)
        bindings.append(workerId)
        bindings.append(expiresAt)
        return bindings
    }
}

/// A lease statement: its rows are the leased jobs.
protocol LeasePreparedStatement: PostgresPreparedStatement where Row == JobRow {}

extension LeasePreparedStatement {
    func decodeRow(_ row: PostgresRow) throws -> JobRow {
        try PostgresRows.jobRow(row)
    }
}

/// A worker's lease (its types and labels, no job named), as a prepared statement: each connection parses it
/// once and PostgreSQL reuses its plan. It has no `$n IS NULL OR …` filters: in the generic plan that
/// PostgreSQL switches to after five runs, those were estimated to keep one row, so with 10,000 jobs waiting
/// the planner read the whole table and sorted it on every lease instead of walking `jobs_ready` in lease
/// order to the limit (harness pickup 17–21 ms instead of 3). Planning was 1.4 ms of the 2.2 ms the lease took
/// unprepared.
struct WorkerLeaseStatement: LeasePreparedStatement {
    static let sql = LeaseTerms.statement(filters: "AND processing_type = ANY($5::text[]) AND labels <@ $6::text[]")

    var terms: LeaseTerms
    var processingTypes: [String]
    var labels: [String]

    func makeBindings() -> PostgresBindings {
        var bindings = terms.bindings(filters: 2)
        bindings.append(processingTypes)
        bindings.append(labels)
        return bindings
    }
}

/// Any other lease (named jobs, any type, labels unchecked), as a prepared statement.
struct LeaseStatement: LeasePreparedStatement {
    static let sql = LeaseTerms.statement(filters: """
        AND ($5::text[] IS NULL OR processing_type = ANY($5::text[]))
                AND ($6::text[] IS NULL OR id = ANY($6::text[]))
                AND ($7::text[] IS NULL OR labels <@ $7::text[])
        """)

    var terms: LeaseTerms
    /// nil: any type.
    var processingTypes: [String]?
    /// nil: any ready job.
    var jobIds: [String]?
    /// The worker's labels: only jobs whose labels are all among them; nil: labels are not checked.
    var labels: [String]?

    func makeBindings() -> PostgresBindings {
        var bindings = terms.bindings(filters: 3)
        bindings.append(processingTypes)
        bindings.append(jobIds)
        bindings.append(labels)
        return bindings
    }
}
