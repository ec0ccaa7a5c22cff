import PostgresNIO

/// The lease statement around its filters: up to `$3` ready jobs in lease order, locked with `SKIP LOCKED`,
/// marked PROCESSING and returned (`$1` now, `$4` the worker, `$5` the lease's expiry).
enum LeaseSQL {
    static func statement(filters: String) -> String {
        """
        WITH picked AS (
            SELECT id FROM jobs
            WHERE status = 'PENDING' AND run_at <= $1
                \(filters)
                AND queue NOT IN (SELECT queue FROM paused_queues)
            ORDER BY priority DESC, run_at, id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        ), leased AS (
            UPDATE jobs SET status = 'PROCESSING', attempt = jobs.attempt + 1, worker_id = $4,
                lease_token = md5(random()::text || clock_timestamp()::text || jobs.id), lease_expires_at = $5,
                started_at = $1, progress = 0, message = NULL, last_seq = jobs.last_seq + 1,
                processing_seq = jobs.last_seq + 1
            FROM picked WHERE jobs.id = picked.id
            RETURNING \(PostgresRows.jobColumns("jobs"))
        )
        SELECT * FROM leased
        """
    }
}

/// A worker's lease (its types and labels, no job named), as a prepared statement: each connection parses it
/// once and PostgreSQL reuses its plan. It has no `$n IS NULL OR …` filters: in the generic plan that
/// PostgreSQL switches to after five runs, those were estimated to keep one row, so with 10,000 jobs waiting
/// the planner read the whole table and sorted it on every lease instead of walking `jobs_ready` in lease
/// order to the limit (harness pickup 17–21 ms instead of 3). Planning was 1.4 ms of the 2.2 ms the lease took
/// unprepared.
struct WorkerLeaseStatement: PostgresPreparedStatement {
    static let sql = LeaseSQL.statement(filters: "AND processing_type = ANY($2::text[]) AND labels <@ $6::text[]")

    var now: Int64
    var processingTypes: [String]
    var limit: Int64
    var workerId: String
    var expiresAt: Int64
    var labels: [String]

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 6)
        bindings.append(now)
        try bindings.append(processingTypes)
        bindings.append(limit)
        bindings.append(workerId)
        bindings.append(expiresAt)
        try bindings.append(labels)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> JobRow {
        try PostgresRows.jobRow(row)
    }
}

/// Any other lease (named jobs, any type, labels unchecked), as a prepared statement.
struct LeaseStatement: PostgresPreparedStatement {
    static let sql = LeaseSQL.statement(filters: """
        AND ($2::text[] IS NULL OR processing_type = ANY($2::text[]))
                AND ($6::text[] IS NULL OR id = ANY($6::text[]))
                AND ($7::text[] IS NULL OR labels <@ $7::text[])
        """)

    var now: Int64
    /// nil: any type.
    var processingTypes: [String]?
    var limit: Int64
    var workerId: String
    var expiresAt: Int64
    /// nil: any ready job.
    var jobIds: [String]?
    /// The worker's labels: only jobs whose labels are all among them; nil: labels are not checked.
    var labels: [String]?

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(now)
        try bindings.append(processingTypes)
        bindings.append(limit)
        bindings.append(workerId)
        bindings.append(expiresAt)
        try bindings.append(jobIds)
        try bindings.append(labels)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> JobRow {
        try PostgresRows.jobRow(row)
    }
}
