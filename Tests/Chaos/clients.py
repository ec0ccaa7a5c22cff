"""What the soak's clients do and remember: a submitter, a canceller, SSE followers and a webhook receiver.

Everything a client saw goes into the `Ledger`; the invariants are checked against it and the store at the end.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import random
import sys
import threading
import time
import zlib

from processes import http_json

FINAL_KINDS = {"completed", "failed", "cancelled"}
FINAL_STATUSES = {"COMPLETED", "FAILED", "CANCELLED"}


class Ledger:
    """Thread-safe record of what the clients were told."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acknowledged = {}  # idempotency key -> (jobId, expectation)
        self.attempted = set()  # every idempotency key sent at least once
        self.to_cancel = []  # job ids the canceller works on
        self.follows = []  # one dict per followed job
        self.followed = set()
        self.webhooks = {}  # jobId -> [(status, signature valid)]
        self.answers = {}  # HTTP status (or "connection") -> count, of submits
        self.server_errors = []  # (route, status, body) of every 500 a client got
        self.during_full = {}  # submit answers while the disk was full
        self.disk_full = False

    def count(self, answer):
        with self.lock:
            self.answers[answer] = self.answers.get(answer, 0) + 1
            if self.disk_full:
                self.during_full[answer] = self.during_full.get(answer, 0) + 1

    def acknowledge(self, key, job_id, expectation):
        with self.lock:
            earlier = self.acknowledged.get(key)
            if earlier and earlier[0] != job_id:
                # The same key answered with two jobs: a doubled submit.
                self.server_errors.append(("idempotency", key, f"{earlier[0]} then {job_id}"))
            self.acknowledged[key] = (job_id, expectation)
            if expectation["status"] == "CANCELLED":
                self.to_cancel.append(job_id)

    def next_to_follow(self, rng):
        with self.lock:
            recent = [job for job, _ in list(self.acknowledged.values())[-200:] if job not in self.followed]
            if not recent:
                return None
            job_id = rng.choice(recent)
            self.followed.add(job_id)
            return job_id


class Servers:
    """The API servers a client may call; a client that fails on one moves to the next, as an LB would."""

    def __init__(self, bases, key):
        self.bases = bases
        self.key = key

    def call(self, method, path, body=None, index=0, timeout=15.0):
        return http_json(method, self.bases[index % len(self.bases)] + path, body, key=self.key, timeout=timeout)


def job_body(kind, key, n, receiver, marks):
    """A submit body for `kind` and what its job must end as."""
    options = {"idempotencyKey": key, "maxAttempts": 5, "webhookUrl": receiver}
    if kind == "noop":
        data = {"key": key, "n": n}
        return {"processingType": "noop", "data": data, "options": options}, {"status": "COMPLETED", "result": data}
    if kind == "delayed":
        data = {"key": key, "delayed": True}
        options["delaySeconds"] = 1 + n % 3
        return {"processingType": "noop", "data": data, "options": options}, {"status": "COMPLETED", "result": data}
    if kind == "type1":
        items = [{"id": i, "name": f"item{i}"} for i in range(1, 2 + n % 2)]
        return {"processingType": "type1", "data": items, "options": options}, {"status": "COMPLETED"}
    if kind == "shell":
        data = {"commands": [f"echo chaos-{key}"]}
        return {"processingType": "shell", "data": data, "options": options}, {"status": "COMPLETED", "exitCode": 0}
    if kind == "flaky":
        # Fails its first attempt, then passes: retried by the server with backoff.
        mark = f"{marks}/{key}"
        data = {"commands": [f"test -e {mark} || {{ touch {mark}; exit 3; }}"]}
        return {"processingType": "shell", "data": data, "options": options}, {"status": "COMPLETED", "retried": True}
    if kind == "failing":
        options["maxAttempts"] = 2
        data = {"commands": ["exit 7"]}
        return {"processingType": "shell", "data": data, "options": options}, {"status": "FAILED"}
    if kind == "cancel":
        data = {"commands": ["sleep 20"]}
        return {"processingType": "shell", "data": data, "options": options}, {"status": "CANCELLED"}
    raise ValueError(kind)


KINDS = ["noop"] * 8 + ["type1"] * 3 + ["shell"] * 3 + ["delayed"] * 2 + ["flaky", "failing", "cancel"]


class Submitter(threading.Thread):
    """Submits at a fixed rate, single and batch, each job with an idempotency key; retries like a client."""

    def __init__(self, name, servers, ledger, rate, seed, receiver, marks, stop):
        super().__init__(name=name, daemon=True)
        self.servers, self.ledger, self.rate, self.stop = servers, ledger, rate, stop
        self.rng = random.Random(seed)
        self.receiver, self.marks = receiver, marks
        self.n = 0
        self.target = self.rng.randrange(len(servers.bases))

    def make(self):
        self.n += 1
        key = f"{self.name}-{self.n}"
        body, expectation = job_body(self.rng.choice(KINDS), key, self.n, self.receiver, self.marks)
        return key, body, expectation

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            if self.rng.random() < 0.2:
                jobs = [self.make() for _ in range(self.rng.randint(5, 40))]
            else:
                jobs = [self.make()]
            submit(self.servers, self.ledger, jobs, self.target, self.stop)
            next_at += len(jobs) / self.rate
            time.sleep(max(0.0, next_at - time.monotonic()))


def submit(servers, ledger, jobs, target, stop, deadline_seconds=120.0):
    """Sends `jobs` (single or batch) until answered, moving to the next server on any failure."""
    with ledger.lock:
        ledger.attempted.update(key for key, _, _ in jobs)
    single = len(jobs) == 1
    path = "/api/jobs" if single else "/api/jobs/batch"
    body = jobs[0][1] if single else {"jobs": [job for _, job, _ in jobs]}
    deadline = time.monotonic() + deadline_seconds
    pause = 0.05
    while time.monotonic() < deadline:
        try:
            status, answer = servers.call("POST", path, body, index=target, timeout=20.0)
        except OSError:
            ledger.count("connection")
            status, answer = None, None
        if status is not None:
            ledger.count(status)
        # 201: stored now; 200: the key's job was stored by an earlier attempt whose answer was lost.
        if status in (200, 201):
            answered = [answer] if single else answer["jobs"]
            for (key, _, expectation), job in zip(jobs, answered):
                ledger.acknowledge(key, job["jobId"], expectation)
            return True
        if status is not None and status >= 500 and status not in (503, 507):
            with ledger.lock:
                ledger.server_errors.append((path, status, json.dumps(answer)[:300]))
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            with ledger.lock:
                ledger.server_errors.append((path, status, json.dumps(answer)[:300]))
            return False
        target += 1
        time.sleep(pause)
        pause = min(1.0, pause * 2)
    return False


class Canceller(threading.Thread):
    """Cancels the `cancel` jobs once they run (or after 3 s of waiting), retrying until a server answers."""

    def __init__(self, servers, ledger, stop):
        super().__init__(name="canceller", daemon=True)
        self.servers, self.ledger, self.stop = servers, ledger, stop
        self.seen = {}

    def run(self):
        index = 0
        while not self.stop.is_set():
            with self.ledger.lock:
                waiting = list(self.ledger.to_cancel)
            for job_id in waiting:
                index += 1
                try:
                    status, job = self.servers.call("GET", f"/api/jobs/{job_id}", index=index, timeout=5.0)
                    if status != 200:
                        continue
                    first = self.seen.setdefault(job_id, time.monotonic())
                    if job["status"] == "PROCESSING" or time.monotonic() - first > 3:
                        status, _ = self.servers.call("POST", f"/api/jobs/{job_id}/cancel", index=index, timeout=5.0)
                        if status == 200:
                            with self.ledger.lock:
                                self.ledger.to_cancel.remove(job_id)
                except OSError:
                    pass
            time.sleep(0.2)


class Follower(threading.Thread):
    """Follows one job after another over SSE, reconnecting with Last-Event-ID whenever a stream breaks (and,
    now and then, cutting its own stream) until the job's final event."""

    def __init__(self, number, servers, ledger, stop, give_up, seed):
        super().__init__(name=f"follower-{number}", daemon=True)
        self.servers, self.ledger, self.stop, self.give_up = servers, ledger, stop, give_up
        self.rng = random.Random(seed)

    def run(self):
        while not self.stop.is_set():
            job_id = self.ledger.next_to_follow(self.rng)
            if job_id is None:
                time.sleep(0.1)
                continue
            record = {"jobId": job_id, "start": None, "seqs": [], "kinds": [], "reconnects": 0, "done": False,
                      "trail": []}
            self.follow(record)
            with self.ledger.lock:
                self.ledger.follows.append(record)

    def follow(self, record):
        last = None
        while not self.give_up.is_set():
            base = self.rng.choice(self.servers.bases)
            host, port = base.removeprefix("http://").split(":")
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            headers = {"X-API-Key": self.servers.key, "Accept": "text/event-stream"}
            if last is not None:
                headers["Last-Event-ID"] = str(last)
            try:
                connection.request("GET", f"/api/sse/job-progress/{record['jobId']}", headers=headers)
                response = connection.getresponse()
                record["trail"].append(f"{response.status}@{base[-5:]}")
                if response.status != 200:
                    response.read()
                    time.sleep(0.2)
                    continue
                snapshot_final = False
                for event in sse_events(response):
                    if event["event"] == "snapshot":
                        if last is None:
                            last = int(event["id"])
                            record["start"] = last
                        snapshot_final = json.loads(event["data"])["status"] in FINAL_STATUSES
                        record["trail"].append(f"snapshot {event.get('id')} {json.loads(event['data'])['status']}")
                        continue
                    seq = int(event["id"])
                    record["seqs"].append(seq)
                    record["kinds"].append(event["event"])
                    last = max(last, seq)
                    if event["event"] in FINAL_KINDS:
                        record["done"] = True
                        return
                    if self.rng.random() < 0.05:
                        break  # cut our own stream, as a flaky mobile network would
                if snapshot_final and not record["seqs"] and record["start"] == last:
                    record["done"] = True  # already final when first opened: the snapshot is all there is
                    return
            except (OSError, http.client.HTTPException, ValueError) as error:
                record["trail"].append(type(error).__name__)
                time.sleep(0.1 + self.rng.random() * 0.3)
            finally:
                connection.close()
            record["reconnects"] += 1


def sse_events(response):
    """Parses a text/event-stream: yields {"id", "event", "data"} per event; comments are skipped. Ends where the
    response body ends (its last chunk: the connection itself may stay open for the next request)."""
    event = {}
    while True:
        line = response.readline()
        if not line:
            return
        line = line.decode().rstrip("\r\n")
        if not line:
            if "event" in event:
                yield event
            event = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


class WebhookReceiver:
    """Takes webhook POSTs on loopback, checks each signature; fails the first attempt of one job in ten."""

    def __init__(self, secret, ledger):
        self.secret = secret.encode()
        self.ledger = ledger
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a receiver behind nginx or Node would

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    self.close_connection = True
                    return  # its sender was killed mid-body: nobody to answer, and no delivery
                signature = self.headers.get("X-Offload-Signature", "")
                expected = "sha256=" + hmac.new(receiver.secret, body, hashlib.sha256).hexdigest()
                job = json.loads(body)
                attempt = self.headers.get("X-Offload-Attempt", "1")
                refuse = attempt == "1" and zlib.crc32(job["jobId"].encode()) % 10 == 0
                if not refuse:
                    with receiver.ledger.lock:
                        receiver.ledger.webhooks.setdefault(job["jobId"], []).append(
                            (job["status"], hmac.compare_digest(signature, expected)))
                self.send_response(500 if refuse else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *arguments):
                pass

        class Server(http.server.ThreadingHTTPServer):
            # A sender posts 32 at once: with Python's listen backlog of 5 the rest of the SYNs were dropped and
            # resent a second later, which held deliveries to ~25/s (the kernel's ListenOverflows counted them).
            request_queue_size = 128

            def handle_error(self, request, client_address):
                # A server killed with kept-alive connections resets them: expected here, not worth a traceback.
                if not isinstance(sys.exc_info()[1], OSError):
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, name="webhooks", daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
