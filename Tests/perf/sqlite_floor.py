"""SQLite's own cost of one job cycle with Offload's schema, without Offload.

Copies the database of a freshly started server (the schema after every migration, no jobs), then runs
the statements the SQLite store runs for each job through Python's sqlite3 module, `batch` writes per
transaction, each write in its own savepoint: a submit (the job row; its first event is the row's), leases of
up to 50 jobs (one `UPDATE … RETURNING`; the PROCESSING event is the row's), and the transaction's completions
as the writer groups them (one `UPDATE … FROM (VALUES …)` per 64; the final event is the row's). Prints the
time per job of each step; Python's own cost per call (a few µs) is included.

    OFFLOAD_ADMIN_KEY=… .build/release/offload serve --workers 0 --database sqlite:/tmp/schema/offload.sqlite &
    # then stop it
    python3 Tests/perf/sqlite_floor.py /tmp/schema/offload.sqlite 500 [INDEX_TO_DROP | SQL_FILE_TO_RUN …]

An argument naming a file runs that file's SQL on the copy first (a candidate schema); any other drops that index.

Wall time on a shared VM varies by ±25 % between runs; instruction counts do not. To weigh an index, compare
`valgrind --tool=callgrind --callgrind-out-file=/dev/null $(pyenv which python3) Tests/perf/sqlite_floor.py …`
with and without it (the "Collected" total; run the real interpreter, not a shim, or valgrind counts the shim).
"""
import os
import shutil
import sqlite3
import sys
import tempfile
import time

source, batch, drop = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
path = os.path.join(tempfile.mkdtemp(), "floor.sqlite")
shutil.copy(source, path)
db = sqlite3.connect(path, isolation_level=None)
for change in drop:
    if os.path.isfile(change):
        db.executescript(open(change).read())
    else:
        db.execute(f"DROP INDEX {change}")
db.execute("PRAGMA journal_mode = WAL")
db.execute("PRAGMA synchronous = NORMAL")
db.execute("PRAGMA cache_size = -16384")  # as the store sets it
columns = ("id, processing_type, queue, data, options, status, progress, message, result, error, attempt, "
           "max_attempts, priority, run_at, timeout_seconds, idempotency_key, tenant, worker_id, cancel_requested, "
           "created_at, started_at, completed_at, last_seq, lease_token, lease_expires_at, errors, cached_from, "
           "inline_events, processing_seq")
jobs = 20_000
now = int(time.time() * 1000)
ids = [f"job_{n:012d}" for n in range(jobs)]
spent = {"submit": 0.0, "lease": 0.0, "complete": 0.0}


def transaction(step, writes):
    started = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for write in writes:
        db.execute("SAVEPOINT op")
        write()
        db.execute("RELEASE op")
    db.execute("COMMIT")
    spent[step] += time.perf_counter() - started


def submit(job_id):
    db.execute("INSERT INTO jobs (id, processing_type, queue, data, options, status, max_attempts, priority, run_at, "
               "timeout_seconds, idempotency_key, tenant, created_at, last_seq, cache_key, labels, inline_events) VALUES "
               "(?, 'noop', 'default', '1', '{}', 'PENDING', 3, 0, ?, NULL, NULL, 'default', ?, 1, NULL, NULL, 1)",
               (job_id, now, now))


def lease(limit):
    def run():
        db.execute(
            "UPDATE jobs SET status = 'PROCESSING', attempt = attempt + 1, worker_id = 'w1', "
            "lease_token = lower(hex(randomblob(16))), lease_expires_at = ?, started_at = ?, progress = 0, "
            "message = NULL, last_seq = last_seq + 1, processing_seq = last_seq + 1 WHERE id IN (SELECT id FROM jobs INDEXED BY jobs_ready "
            "WHERE status = 'PENDING' AND run_at <= ? AND queue NOT IN (SELECT queue FROM paused_queues) "
            "AND processing_type IN ('noop', 'type1') AND (labels IS NULL OR NOT EXISTS (SELECT 1 FROM "
            "json_each(labels) WHERE value NOT IN ('mode=direct'))) ORDER BY priority DESC, run_at, id LIMIT ?) "
            f"RETURNING {columns}", (now + 30_000, now, now, limit)).fetchall()
    return run


def complete(leases):
    """The completions of one transaction, as the writer's WriteGroup runs them."""
    def run():
        for start in range(0, len(leases), 64):
            chunk = leases[start:start + 64]
            db.execute(
                f"WITH done (job_id, token, value, at_ms) AS (VALUES {', '.join(['(?, ?, ?, ?)'] * len(chunk))}) "
                "UPDATE jobs SET status = 'COMPLETED', completed_at = done.at_ms, lease_token = NULL, "
                "lease_expires_at = NULL, cancel_requested = 0, last_seq = last_seq + 1, progress = 100, "
                "result = done.value, error = NULL, inline_events = inline_events | 2 FROM done WHERE jobs.id = done.job_id "
                f"AND jobs.status IN ('PROCESSING') AND jobs.lease_token = done.token RETURNING {columns}",
                [v for job_id, token in chunk for v in (job_id, token, "1", now)]).fetchall()
    return run


for start in range(0, jobs, batch):
    chunk = ids[start:start + batch]
    transaction("submit", [lambda j=j: submit(j) for j in chunk])
    per_lease = min(50, len(chunk))
    transaction("lease", [lease(per_lease) for _ in range(max(1, len(chunk) // per_lease))])
    tokens = dict(db.execute("SELECT id, lease_token FROM jobs WHERE status = 'PROCESSING'").fetchall())
    transaction("complete", [complete([(j, tokens[j]) for j in chunk])])
total = sum(spent.values())
print(f"{batch} writes per transaction: " + ", ".join(f"{k} {v / jobs * 1e6:.1f} µs" for k, v in spent.items())
      + f", a whole cycle {total / jobs * 1e6:.1f} µs per job ({jobs / total:,.0f} jobs/s on one core)")
