"""Hostile clients against one real server: slow-loris connections, oversized headers and bodies, malformed
bodies on every route, and 10,000 idle SSE streams; the server must keep answering others meanwhile."""

import os
import secrets
import selectors
import socket
import statistics
import time

import processes
from processes import http_json

HEADER_TIMEOUT = 5
SLOW_CONNECTIONS = 1_000
IDLE_STREAMS = 10_000
# What 10,000 open SSE streams may add to the server's resident memory: ~29 KiB a stream measured with a
# debug build (NIO channel and its buffers, the response task, the bus subscription), 40 KiB allowed.
STREAMS_RSS_BOUND_MIB = 400


def latency(base, key, job_id, count=60):
    """p50 and p99 in ms of `count` reads of one job, each on a fresh connection."""
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        status, _ = http_json("GET", f"{base}/api/jobs/{job_id}", key=key, timeout=10)
        samples.append((time.perf_counter() - began) * 1000)
        assert status == 200, status
    samples.sort()
    return round(statistics.median(samples), 2), round(samples[int(len(samples) * 0.99) - 1], 2)


def raw(base, payload, timeout=5.0):
    """Sends raw bytes; answers the status of the reply (0: the server closed without one)."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        try:
            connection.sendall(payload)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass  # the server answered (and stopped reading) before the whole payload was sent
        reply = b""
        try:
            while b"\r\n" not in reply:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        if not reply.startswith(b"HTTP/1.1 "):
            return 0
        return int(reply.split(b" ")[1])


def request_bytes(method, path, key, body=b"", extra=""):
    return (f"{method} {path} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{extra}\r\n").encode() + body


def slow_loris(base, key, job_id, problems, figures):
    host, port = base.removeprefix("http://").split(":")
    request = f"POST /api/jobs HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Length: 2\r\n\r\n{{}}".encode()
    sockets, connected = [], []
    for _ in range(SLOW_CONNECTIONS):
        connection = socket.create_connection((host, int(port)), timeout=5)
        connection.setblocking(False)
        sockets.append(connection)
        connected.append(time.monotonic())
    opened = time.monotonic()
    closed_at = {}
    sent = 0
    during = None
    while len(closed_at) < len(sockets) and time.monotonic() - opened < HEADER_TIMEOUT + 10:
        for number, connection in enumerate(sockets):
            if number in closed_at:
                continue
            try:
                if connection.recv(4096) == b"":
                    closed_at[number] = time.monotonic() - connected[number]
                    continue
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed_at[number] = time.monotonic() - connected[number]
                continue
            try:
                connection.send(request[sent:sent + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed_at[number] = time.monotonic() - connected[number]
        sent += 1
        if during is None and time.monotonic() - opened > 2:
            during = latency(base, key, job_id)
        time.sleep(max(0.0, opened + sent - time.monotonic()))
    for connection in sockets:
        connection.close()
    figures["slow connections"] = SLOW_CONNECTIONS
    figures["latency with slow connections (p50/p99 ms)"] = during
    figures["slow connections closed"] = len(closed_at)
    figures["slowest close (s)"] = round(max(closed_at.values()), 1) if closed_at else None
    if len(closed_at) < SLOW_CONNECTIONS:
        problems.append(f"{SLOW_CONNECTIONS - len(closed_at)} slow connections were still open after "
                        f"{HEADER_TIMEOUT + 10} s (header timeout {HEADER_TIMEOUT} s)")
    early = [t for t in closed_at.values() if t < HEADER_TIMEOUT - 1]
    if early:
        problems.append(f"{len(early)} slow connections closed before the header timeout")
    return during


def idle_streams(base, key, job_id, server, problems, figures):
    host, port = base.removeprefix("http://").split(":")
    selector = selectors.DefaultSelector()
    request = (f"GET /api/sse/job-progress/{job_id} HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n"
               f"Accept: text/event-stream\r\n\r\n").encode()
    before = server.rss_kib()
    answered, refused = 0, 0
    sockets = []
    for number in range(IDLE_STREAMS):
        connection = socket.socket()
        connection.setblocking(False)
        connection.connect_ex((host, int(port)))
        selector.register(connection, selectors.EVENT_WRITE, [b""])
        sockets.append(connection)
        if number % 500 == 499 or number == IDLE_STREAMS - 1:
            # Let the batch connect, send and get its headers before opening more.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pending = [k for k in selector.get_map().values() if b"\r\n\r\n" not in k.data[0]]
                if not pending:
                    break
                for selected, mask in selector.select(timeout=1):
                    connection, state = selected.fileobj, selected.data
                    if mask & selectors.EVENT_WRITE:
                        connection.send(request)
                        selector.modify(connection, selectors.EVENT_READ, state)
                    else:
                        chunk = connection.recv(4096)
                        state[0] += chunk
                        if b"\r\n\r\n" in state[0]:
                            if state[0].startswith(b"HTTP/1.1 200"):
                                answered += 1
                            else:
                                refused += 1
                            selector.unregister(connection)
                        elif not chunk:
                            refused += 1
                            selector.unregister(connection)
    time.sleep(1)
    after = server.rss_kib()
    during = latency(base, key, job_id)
    for connection in sockets:
        connection.close()
    added = (after - before) / 1024
    figures["idle SSE streams answered"] = answered
    figures["server RSS before / with streams (MiB)"] = [round(before / 1024, 1), round(after / 1024, 1)]
    figures["latency with idle streams (p50/p99 ms)"] = during
    if answered < IDLE_STREAMS:
        problems.append(f"only {answered} of {IDLE_STREAMS} SSE streams were answered 200 ({refused} refused)")
    if added > STREAMS_RSS_BOUND_MIB:
        problems.append(f"{IDLE_STREAMS} idle streams added {added:.0f} MiB (bound {STREAMS_RSS_BOUND_MIB})")
    return during


# (method, path, whether it reads a body): a route that takes none may ignore a bad one and answer 2xx.
ROUTES = [
    ("POST", "/api/jobs", True), ("POST", "/api/jobs/batch", True), ("POST", "/api/jobs?wait=1", True),
    ("POST", "/api/jobs/{job}/events", True), ("POST", "/api/jobs/{job}/complete", True),
    ("POST", "/api/jobs/{job}/fail", True), ("POST", "/api/jobs/{job}/release", True), ("POST", "/api/files", True),
    ("POST", "/api/workers/register", True), ("POST", "/api/workers/w_none/heartbeat", True),
    ("POST", "/api/workers/w_none/lease?wait=0", True), ("POST", "/api/keys", True), ("POST", "/api/templates", True),
    ("POST", "/api/schedules", True), ("PUT", "/api/types/noop", True), ("POST", "/api/auth/token", False),
    ("POST", "/api/jobs/{job}/cancel", False), ("POST", "/api/jobs/{job}/retry", False),
    ("POST", "/api/jobs/{job}/stream-token", False), ("POST", "/api/workers/w_none/pause", False),
    ("POST", "/api/queues/q/pause", False), ("DELETE", "/api/workers/w_none", False),
    ("GET", "/api/jobs?limit=x", False), ("GET", "/api/jobs/{job}/events?after=-1", False),
]

BODIES = [
    b"{", b"[]", b"null", b'"text"', b"\xff\xfe\x00", b"[" * 50_000, b'{"a":' * 20_000,
    b'{"processingType": 5, "data": "x", "options": []}', b'{"leaseToken": 5, "result": {}}',
    b'{"jobs": "many"}', b'{"name": ["x"], "processingTypes": 3, "maxConcurrentJobs": "lots"}',
    b'{"role": "root", "name": 1}', b'{"events": [{"kind": 1}], "leaseToken": null}', b'{"jobIds": {}}',
    b'{"cron": 7, "name": null}', b'{"enabled": "yes"}', b'1e999999', b'{"a": "\\ud800"}',
]


def malformed(base, key, job_id, problems, figures):
    answers = {}
    for method, path, reads_body in ROUTES:
        for body in BODIES:
            target = path.replace("{job}", job_id)
            status = raw(base, request_bytes(method, target, key, body))
            answers[status] = answers.get(status, 0) + 1
            if status == 0 or status >= 500 or (reads_body and status < 400):
                problems.append(f"{method} {target} with {body[:40]!r} answered {status or 'nothing'}")
    figures["malformed requests by status"] = {str(k): v for k, v in sorted(answers.items())}


def oversized(base, key, problems, figures):
    cases = {
        "a 100 KB header": request_bytes("GET", "/api/jobs", key, extra="X-Big: " + "a" * 100_000 + "\r\n"),
        "2,000 headers": request_bytes("GET", "/api/jobs", key, extra="".join(f"X-H{n}: v\r\n" for n in range(2000))),
        "an 11 MB body": request_bytes("POST", "/api/jobs", key, b'{"processingType":"noop","data":"'
                                       + b"a" * (11 * 1024 * 1024) + b'"}'),
        "a 100 KB URL": f"GET /api/jobs?q={'a' * 100_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    }
    seen = {}
    for name, payload in cases.items():
        status = raw(base, payload)
        seen[name] = status
        # 413/431 or a closed connection are all refusals; 2xx or 5xx are not.
        if status and not 400 <= status < 500:
            problems.append(f"{name} answered {status}")
    if seen["an 11 MB body"] != 413:
        problems.append(f"an 11 MB body answered {seen['an 11 MB body']}, not 413")
    figures["oversized"] = seen


def run(binary, root, short, log):
    directory = os.path.join(root, "hostile")
    os.makedirs(directory)
    admin = "ok_chaos_" + secrets.token_hex(16)
    environment = dict(os.environ, OFFLOAD_ADMIN_KEY=admin, OFFLOAD_JWT_SECRET=secrets.token_hex(32))
    server = processes.server(binary, "server-hostile", processes.free_port(), directory, None, environment,
                              directory, ["--workers", "0", "--max-streams-per-key", str(IDLE_STREAMS + 100),
                                          "--header-timeout", str(HEADER_TIMEOUT)])
    server.start()
    problems, figures = [], {}
    try:
        status, job = http_json("POST", server.base + "/api/jobs",
                                {"processingType": "noop", "data": {}, "options": {"delaySeconds": 3600}}, key=admin)
        assert status == 201, (status, job)
        job_id = job["jobId"]
        usual = latency(server.base, admin, job_id)
        figures["usual latency (p50/p99 ms)"] = usual
        log(f"chaos[hostile]: usual latency p50/p99 {usual} ms; {SLOW_CONNECTIONS} slow connections")
        checks = [
            ("slow connections", lambda: slow_loris(server.base, admin, job_id, problems, figures)),
            ("idle streams", lambda: idle_streams(server.base, admin, job_id, server, problems, figures)),
        ]
        for name, check in checks:
            during = check()
            # "Within its usual latency": three times the quiet p99 plus 25 ms of this shared machine's noise.
            if during and during[1] > usual[1] * 3 + 25:
                problems.append(f"with {name} other requests took p99 {during[1]} ms (usual {usual[1]} ms)")
        log("chaos[hostile]: oversized and malformed requests")
        oversized(server.base, admin, problems, figures)
        malformed(server.base, admin, job_id, problems, figures)
        after = latency(server.base, admin, job_id)
        figures["latency afterwards (p50/p99 ms)"] = after
        if not server.running:
            problems.append("the server died: " + server.log_tail())
    finally:
        server.stop()
    return figures, problems
