"""Writes the fixture of UpgradeTests: a store made by a release binary, with jobs in every status and lifecycle path.

    python3 make_store_fixture.py OFFLOAD_BINARY DATA_DIR && sqlite3 DATA_DIR/offload.sqlite .dump > store-schema-NNN.sql
    python3 make_store_fixture.py OFFLOAD_BINARY DATA_DIR postgres://postgres@127.0.0.1:PORT/DB?sslmode=disable \
        && pg_dump --no-owner --no-privileges -h 127.0.0.1 -p PORT -U postgres DB > pg-store-schema-NNN.sql

store-schema-015.sql and pg-store-schema-007.sql were made with the binary of main f89381f (the last schema
before storage v2).
"""
import http.client, json, subprocess, sys, time, os, signal, socket
BIN, DATA = sys.argv[1], sys.argv[2]
DATABASE = ["--database", sys.argv[3]] if len(sys.argv) > 3 else []
KEY = "fixture-admin-key-0123456789abcdef"
s = socket.socket(); s.bind(("127.0.0.1", 0)); PORT = s.getsockname()[1]; s.close()
srv = subprocess.Popen([BIN, "serve", "--port", str(PORT), "--data-dir", DATA, "--workers", "0", "--log-level", "warning", *DATABASE],
                       env={**os.environ, "OFFLOAD_ADMIN_KEY": KEY})
def call(m, p, b=None, key=KEY):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
    c.request(m, p, body=json.dumps(b).encode() if b is not None else None, headers={"X-API-Key": key, "Content-Type": "application/json"})
    r = c.getresponse(); raw = r.read(); c.close()
    assert r.status < 300, (m, p, r.status, raw)
    return json.loads(raw) if raw else None
for _ in range(100):
    try: call("GET", "/health"); break
    except Exception: time.sleep(0.1)
wkey = call("POST", "/api/keys", {"name": "fixture-worker", "role": "worker", "tenant": "default"})["secret"]
call("POST", "/api/keys", {"name": "fixture-client", "role": "client", "tenant": "acme"})
call("POST", "/api/templates", {"name": "nightly", "processingType": "noop", "data": {"from": "template"}})
call("POST", "/api/schedules", {"name": "hourly", "cron": "0 * * * *", "processingType": "noop", "data": {"from": "schedule"}})
def submit(name, **options):
    return call("POST", "/api/jobs", {"processingType": "noop", "data": {"name": name}, "options": options})["jobId"]
ids = {n: submit(n, maxAttempts=1 if n in ("failed", "retried") else 3) for n in
       ["completed", "failed", "cancelled", "processing", "requeued", "retried", "pending"]}
ids["keyed"] = submit("keyed", idempotencyKey="order-17")
ids["delayed"] = submit("delayed", delaySeconds=3600)
call("POST", "/api/jobs/" + ids["cancelled"] + "/cancel")
w = call("POST", "/api/workers/register", {"name": "fixture-worker", "processingTypes": ["noop"], "maxConcurrentJobs": 8}, wkey)["workerId"]
leased = call("POST", f"/api/workers/{w}/lease?wait=1", {"limit": 5, "jobIds": []}, wkey)["jobs"]
token = {j["jobId"]: j["leaseToken"] for j in leased}
name = {v: k for k, v in ids.items()}
assert set(name[j] for j in token) == {"completed", "failed", "processing", "requeued", "retried"}, [name[j] for j in token]
def worker(path, b): return call("POST", path, b, wkey)
for jid, t in token.items():
    worker(f"/api/jobs/{jid}/events", {"leaseToken": t, "events": [{"kind": "progress", "data": {"progress": 50, "message": "half"}},
                                                                   {"kind": "log", "data": {"stream": "stdout", "line": "working " + name[jid]}}]})
worker(f"/api/jobs/{ids['completed']}/complete", {"leaseToken": token[ids["completed"]], "result": {"answer": 42}})
worker(f"/api/jobs/{ids['failed']}/fail", {"leaseToken": token[ids["failed"]], "error": "it broke"})
worker(f"/api/jobs/{ids['requeued']}/fail", {"leaseToken": token[ids["requeued"]], "error": "try again"})
worker(f"/api/jobs/{ids['retried']}/fail", {"leaseToken": token[ids["retried"]], "error": "broke once"})
call("POST", "/api/jobs/" + ids["retried"] + "/retry")
print(json.dumps(ids))
srv.send_signal(signal.SIGTERM); srv.wait(30)
