import Logging
import PostgresNIO

/// Numbered migrations of the PostgreSQL store. They run at start-up in one transaction that first takes an
/// advisory lock, so servers starting together wait for each other instead of racing.
enum PostgresSchema {
    /// The advisory lock key that serialises migrations ("offload" in ASCII).
    static let lockKey: Int64 = 0x6f66666c6f6164

    /// Each migration is a list of single statements (the extended protocol runs one statement per query).
    static let migrations: [(name: String, statements: [String])] = [
        ("001_jobs_events_keys", [
            // A queue updates and deletes rows all the time: leave room on each page for updates that keep
            // the row on its page (HOT) and vacuum the table far more eagerly than the default 20 % of rows.
            """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                processing_type TEXT NOT NULL,
                queue TEXT NOT NULL,
                data TEXT NOT NULL,
                options TEXT NOT NULL,
                status TEXT NOT NULL,
                progress INTEGER NOT NULL DEFAULT 0,
                message TEXT,
                result TEXT,
                error TEXT,
                errors JSONB NOT NULL DEFAULT '[]',
                attempt INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                priority INTEGER NOT NULL DEFAULT 0,
                run_at BIGINT NOT NULL,
                timeout_seconds INTEGER,
                idempotency_key TEXT,
                tenant TEXT NOT NULL,
                worker_id TEXT,
                lease_token TEXT,
                lease_expires_at BIGINT,
                cancel_requested BOOLEAN NOT NULL DEFAULT false,
                created_at BIGINT NOT NULL,
                started_at BIGINT,
                completed_at BIGINT,
                last_seq BIGINT NOT NULL DEFAULT 0,
                cache_key TEXT,
                cached_from TEXT
            ) WITH (
                fillfactor = 70,
                autovacuum_vacuum_scale_factor = 0.01,
                autovacuum_vacuum_threshold = 500,
                autovacuum_analyze_scale_factor = 0.02,
                autovacuum_vacuum_cost_delay = 1
            )
            """,
            // The lease query walks this partial index in order; finished jobs never enter it.
            "CREATE INDEX jobs_ready ON jobs (priority DESC, run_at, id) WHERE status = 'PENDING'",
            // The next delayed or retrying job to wake up for.
            "CREATE INDEX jobs_pending_run_at ON jobs (run_at) WHERE status = 'PENDING'",
            // The lease sweeper reads only running jobs, by expiry.
            "CREATE INDEX jobs_running ON jobs (lease_expires_at) WHERE status = 'PROCESSING'",
            // History listings, newest first, per tenant and optionally per status.
            "CREATE INDEX jobs_tenant ON jobs (tenant, id)",
            "CREATE INDEX jobs_tenant_status ON jobs (tenant, status, id)",
            "CREATE INDEX jobs_status ON jobs (status, id)",
            "CREATE UNIQUE INDEX jobs_idempotency ON jobs (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL",
            // The pruner deletes the oldest finished jobs first.
            "CREATE INDEX jobs_finished ON jobs (completed_at) WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')",
            // The newest completed job with the same type and data, per tenant.
            """
            CREATE INDEX jobs_result_cache ON jobs (tenant, cache_key, completed_at)
                WHERE status = 'COMPLETED' AND cache_key IS NOT NULL
            """,
            """
            CREATE TABLE job_events (
                job_id TEXT NOT NULL,
                seq BIGINT NOT NULL,
                kind TEXT NOT NULL,
                data TEXT NOT NULL,
                at BIGINT NOT NULL,
                PRIMARY KEY (job_id, seq)
            ) WITH (autovacuum_vacuum_scale_factor = 0.05)
            """,
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                tenant TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE TABLE paused_queues (queue TEXT PRIMARY KEY, paused_at BIGINT NOT NULL)",
            "CREATE TABLE disabled_types (processing_type TEXT PRIMARY KEY, disabled_at BIGINT NOT NULL)",
            "CREATE TABLE job_templates (name TEXT PRIMARY KEY, body TEXT NOT NULL, updated_at BIGINT NOT NULL)",
        ]),
        ("002_schedules", [
            """
            CREATE TABLE schedules (
                name TEXT PRIMARY KEY,
                cron TEXT NOT NULL,
                processing_type TEXT NOT NULL,
                queue TEXT NOT NULL,
                data TEXT NOT NULL,
                options TEXT NOT NULL,
                tenant TEXT NOT NULL,
                next_run_at BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX schedules_due ON schedules (next_run_at)",
        ]),
        ("003_webhook_deliveries", [
            """
            CREATE TABLE webhook_deliveries (
                job_id TEXT PRIMARY KEY,
                url TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
        ]),
        ("004_type_fallback", [
            "ALTER TABLE disabled_types ADD COLUMN fallback TEXT NOT NULL DEFAULT 'refuse'",
        ]),
        ("005_workers_labels_files", [
            // The labels a worker must carry to lease the job, "key=value" each (empty: none).
            "ALTER TABLE jobs ADD COLUMN labels TEXT[] NOT NULL DEFAULT '{}'",
            """
            CREATE TABLE workers (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                processing_types TEXT[] NOT NULL,
                labels TEXT NOT NULL,
                max_concurrent_jobs INTEGER NOT NULL,
                status TEXT NOT NULL,
                registered_at BIGINT NOT NULL,
                last_heartbeat_at BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE files (
                id TEXT PRIMARY KEY,
                tenant TEXT NOT NULL,
                size BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                content BYTEA NOT NULL,
                created_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX files_created ON files (created_at)",
            "CREATE INDEX jobs_running_worker ON jobs (worker_id) WHERE status = 'PROCESSING'",
        ]),
        ("006_active_counts", [
            // Queue depth for stats and /metrics from a small index of waiting and running jobs.
            "CREATE INDEX jobs_active_counts ON jobs (status, queue, processing_type) WHERE status IN ('PENDING', 'PROCESSING')",
        ]),
        ("007_finished_covering", [
            // Stats, the per-minute series and the pruner read finished jobs from this index alone.
            "DROP INDEX jobs_finished",
            """
            CREATE INDEX jobs_finished ON jobs (completed_at) INCLUDE (status, queue, processing_type, started_at, created_at)
                WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED')
            """,
        ]),
        ("008_inline_status_events", [
            // A job's lifecycle events are read from its row (`InlineEvents`): a job that runs once writes no
            // event row. Rows from before stand for none of their events (their events are rows).
            "ALTER TABLE jobs ADD COLUMN inline_events BIGINT NOT NULL DEFAULT 0, ADD COLUMN processing_seq BIGINT",
        ]),
        ("009_hot_path_indexes", [
            // A status change is never a HOT update (status is indexed), so every index that holds all jobs
            // took a new entry at each of a job's three writes: 19 index entries per job cycle. Now waiting and
            // running jobs are in one small index (their listings, the counts, the sweeper, the registry), jobs
            // that ended badly in another, the wake-up timer's index holds only jobs due later (as SQLite's
            // migration 015): 7 entries per cycle. Completed jobs and per-tenant listings walk the primary key.
            "DROP INDEX jobs_tenant",
            "DROP INDEX jobs_tenant_status",
            "DROP INDEX jobs_status",
            "DROP INDEX jobs_active_counts",
            "DROP INDEX jobs_running_worker",
            "DROP INDEX jobs_running",
            "DROP INDEX jobs_pending_run_at",
            "CREATE INDEX jobs_active ON jobs (status, id) INCLUDE (queue, processing_type) WHERE status IN ('PENDING', 'PROCESSING')",
            "CREATE INDEX jobs_ended_badly ON jobs (status, id) WHERE status IN ('FAILED', 'CANCELLED')",
            "CREATE INDEX jobs_delayed_run_at ON jobs (run_at) WHERE status = 'PENDING' AND run_at > created_at",
        ]),
    ]

    /// Runs the migrations this database has not seen, under the advisory lock; answers how many ran.
    @discardableResult
    static func migrate(_ connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS offload_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger)
            var applied = Set<String>()
            for try await name in try await connection.query("SELECT name FROM offload_migrations", logger: logger)
                .decode(String.self)
            {
                applied.insert(name)
            }
            var ran = 0
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("INSERT INTO offload_migrations (name) VALUES (\(migration.name))", logger: logger)
                ran += 1
            }
            try await connection.query("COMMIT", logger: logger)
            return ran
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}
