"""After the faults: let the work drain, then hold what the store says against what the clients were told."""

import http.client
import json
import time

import clients
from processes import http_json


class Reader:
    """GETs on one kept-alive connection (the check reads thousands of event logs)."""

    def __init__(self, base, key):
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)
        self.key = key

    def get(self, path):
        for attempt in range(2):
            try:
                self.connection.request("GET", path, headers={"X-API-Key": self.key})
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (OSError, http.client.HTTPException):
                self.connection.close()
                if attempt:
                    raise

FINAL = clients.FINAL_STATUSES


def all_jobs(base, key):
    """Every job in the store, page by page (an admin key sees every tenant)."""
    jobs, cursor = [], None
    while True:
        path = "/api/jobs?limit=500" + (f"&cursor={cursor}" if cursor else "")
        status, page = http_json("GET", base + path, key=key, timeout=30)
        assert status == 200, (status, page)
        jobs += page["jobs"]
        cursor = page.get("nextCursor")
        if not cursor:
            return jobs


def events(reader, job_id):
    found, after = [], 0
    while True:
        status, page = reader.get(f"/api/jobs/{job_id}/events?after={after}")
        assert status == 200, (status, page)
        found += page["events"]
        if not page.get("nextCursor"):
            return found
        after = int(page["nextCursor"])


def unfinished(base, key):
    left = []
    for status in ("PENDING", "PROCESSING"):
        code, page = http_json("GET", f"{base}/api/jobs?status={status}&limit=500", key=key, timeout=30)
        assert code == 200, (code, page)
        left += page["jobs"]
    return left


def drain(base, key, seconds):
    """Waits until no job is PENDING or PROCESSING (at most `seconds`); answers those left."""
    deadline = time.monotonic() + seconds
    while True:
        left = unfinished(base, key)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def check(scenario, api, ledger, log):
    base, admin = scenario.servers[0].base, scenario.admin_key
    reader = Reader(base, admin)
    # Long enough for a job whose worker died at the end to be requeued and run (lease, backoff, a delay).
    left = drain(base, admin, 90)
    api.give_up.set()
    api.stop_following.set()
    for follower in api.followers:
        follower.join(timeout=30)
    api.canceller.join(timeout=10)
    log(f"chaos[{scenario.name}]: drained ({len(left)} left); checking")
    failures = []
    stuck = [job for job in left]
    for job in stuck[:5]:
        failures.append(f"stuck: {job['jobId']} still {job['status']} (attempt {job.get('attempt')})")

    jobs = {job["jobId"]: job for job in all_jobs(base, admin)}
    by_key = {}
    for job in jobs.values():
        by_key.setdefault(job.get("idempotencyKey"), []).append(job["jobId"])

    with ledger.lock:
        acknowledged = dict(ledger.acknowledged)
        attempted = set(ledger.attempted)
    lost = [key for key, (job_id, _) in acknowledged.items() if job_id not in jobs]
    for key in lost[:5]:
        failures.append(f"lost: {acknowledged[key][0]} (key {key}) was answered 201 and is not in the store")
    doubled = [key for key, ids in by_key.items() if key is not None and len(ids) > 1]
    for key in doubled[:5]:
        failures.append(f"doubled: key {key} has jobs {by_key[key]}")
    strangers = [key for key in by_key if key is not None and key not in attempted]
    for key in strangers[:5]:
        failures.append(f"doubled: key {key} is in the store but was never sent")

    counts = {"COMPLETED": 0, "FAILED": 0, "CANCELLED": 0}
    twice, wrong = [], []
    rerun = 0  # jobs that ran again after their worker died or froze (not the flaky and failing kinds)
    logs = {}
    for key, (job_id, expectation) in acknowledged.items():
        job = jobs.get(job_id)
        if job is None:
            continue
        if job["status"] in counts:
            counts[job["status"]] += 1
        if job.get("attempt", 1) > 1 and not expectation.get("retried") and expectation["status"] != "FAILED":
            rerun += 1
        log_events = events(reader, job_id)
        logs[job_id] = log_events
        finals = [event for event in log_events if event["kind"] in clients.FINAL_KINDS]
        if len(finals) > 1:
            twice.append(job_id)
            failures.append(f"doubled: {job_id} has {len(finals)} final events: {[e['seq'] for e in finals]}")
        problem = wrong_outcome(job, expectation, finals)
        if problem:
            wrong.append(job_id)
            if len(wrong) <= 5:
                failures.append(f"wrong: {job_id} (key {key}): {problem}")

    gaps = duplicates = unfinished_follows = 0
    with ledger.lock:
        follows = list(ledger.follows)
    for record in follows:
        job_id = record["jobId"]
        stored = logs.get(job_id) or events(reader, job_id)
        expected = [event["seq"] for event in stored if record["start"] is not None and event["seq"] > record["start"]]
        seen = record["seqs"]
        dupes = len(seen) - len(set(seen))
        if record["done"] and seen:
            final_seq = seen[-1]
            expected = [seq for seq in expected if seq <= final_seq]
        missing = [seq for seq in expected if seq not in set(seen)] if record["done"] else []
        out_of_order = any(b <= a for a, b in zip(seen, seen[1:]))
        if not record["done"]:
            unfinished_follows += 1
            if jobs.get(job_id, {}).get("status") in FINAL:
                failures.append(f"sse: follower of {job_id} never saw its final event (seen {seen}, "
                                f"store {[e['seq'] for e in stored]}, {record['reconnects']} reconnects: {record['trail'][-8:]})")
                gaps += 1
        if missing or out_of_order:
            gaps += 1
            failures.append(f"sse gap: {job_id} seen {seen} from {record['start']}, store has {expected}")
        if dupes:
            duplicates += 1
            failures.append(f"sse duplicate: {job_id} seen {seen}")

    # Webhooks may still be on their way: a refused first attempt is tried again 2 s later, and one a killed
    # server had claimed waits for its claim (60 s) to run out.
    deadline = time.monotonic() + 75
    while True:
        with ledger.lock:
            delivered = {job_id: list(calls) for job_id, calls in ledger.webhooks.items()}
        missing_hooks = [job_id for job_id, _ in acknowledged.values()
                         if jobs.get(job_id, {}).get("status") in FINAL
                         and not any(valid and status == jobs[job_id]["status"]
                                     for status, valid in delivered.get(job_id, []))]
        if not missing_hooks or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for job_id in missing_hooks[:5]:
        failures.append(f"webhook missing: {job_id} ({jobs[job_id]['status']}) got {delivered.get(job_id)}")
    forged = sum(1 for calls in delivered.values() for _, valid in calls if not valid)
    if forged:
        failures.append(f"webhooks: {forged} deliveries with a wrong signature")

    with ledger.lock:
        server_errors = list(ledger.server_errors)
        answers = dict(ledger.answers)
        during_full = dict(ledger.during_full)
    for error in server_errors[:5]:
        failures.append(f"client got {error}")
    if scenario.tmpfs:
        refused = {answer for answer in during_full if answer not in (200, 201, 503, 507, "connection")}
        if refused:
            failures.append(f"disk full: submits were answered {during_full}")

    summary = {
        "acknowledged": len(acknowledged), "completed": counts["COMPLETED"], "failed": counts["FAILED"],
        "cancelled": counts["CANCELLED"], "lost": len(lost), "doubled": len(doubled) + len(strangers) + len(twice),
        "wrong": len(wrong), "stuck": len(stuck), "sse gaps": gaps, "sse duplicates": duplicates,
        "webhooks missing": len(missing_hooks),
        "rerun after a lost lease": rerun, "follows": len(follows), "reconnects": sum(r["reconnects"] for r in follows),
        "unfinished follows": unfinished_follows, "answers": answers, "while disk full": during_full,
        "faults": dict(scenario.injected), "server errors": len(server_errors),
    }
    return summary, failures


def wrong_outcome(job, expectation, finals):
    """What is wrong with a job's end against what its kind must give (None: nothing)."""
    status = job["status"]
    if status not in FINAL:
        return None  # counted as stuck
    if not finals or finals[-1]["kind"] != status.lower():
        return f"status {status} but final events {[e['kind'] for e in finals]}"
    # The final event carries the job as it was finished: a later stale report must not have changed it.
    finished = finals[-1]["data"]
    if finished.get("result") != job.get("result") or finished.get("status") != status:
        return f"the stored job differs from its final event: {finished.get('result')} vs {job.get('result')}"
    if status != expectation["status"]:
        # Five runs killed under it is a legitimate failure; anything else is not.
        if status == "FAILED" and "lease" in (job.get("error") or "") and job.get("attempt", 0) >= 5:
            return None
        return f"ended {status} ({job.get('error')}), expected {expectation['status']}"
    if "result" in expectation and job.get("result") != expectation["result"]:
        return f"result {job.get('result')} is not the data {expectation['result']}"
    if "exitCode" in expectation and (job.get("result") or {}).get("exitCode") != expectation["exitCode"]:
        return f"shell result {job.get('result')}"
    if expectation.get("retried") and job.get("attempt", 1) < 2:
        return f"a flaky job passed on attempt {job.get('attempt')}"
    return None
