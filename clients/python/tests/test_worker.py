from __future__ import annotations

import signal
import time
from typing import Any

from conftest import Server
from offload import Job, Offload


def wait_until(client: Offload, job_id: str, done: Any, timeout: float = 20) -> Job:
    deadline = time.monotonic() + timeout
    job = client.get(job_id)
    while not done(job) and time.monotonic() < deadline:
        time.sleep(0.05)
        job = client.get(job_id)
    return job


def test_a_python_processor_streams_progress_logs_and_tokens(server: Server, client_key: str) -> None:
    server.start_worker("py-1")
    with Offload(server.url, api_key=client_key) as client:
        # The server knows no processor for py.embed: the registered worker declared it.
        job = client.submit("py.embed", {"words": ["partial ", "text", "!"]})
        events = list(client.watch(job.id, last_event_id="0"))
        kinds = [event.kind for event in events]
        assert kinds[-1] == "completed"
        assert [e.data["text"] for e in events if e.kind == "token"] == ["partial ", "text", "!"]
        assert {"stream": "stdout", "line": "loaded model"} in [e.data for e in events if e.kind == "log"]
        assert any(e.kind == "progress" and e.data.get("progress") == 50 for e in events)
        ids = [int(e.id) for e in events if e.id is not None]
        assert ids == list(range(1, len(ids) + 1))
        finished = client.get(job.id)
        assert finished.status == "COMPLETED" and finished.result == {"vector": [0.1, 0.2], "attempt": 1}
        # A plain def runs in a thread, and its context calls still report.
        threaded = client.wait(client.submit("py.block", {"seconds": 0.2}).id, timeout=20)
        assert threaded.status == "COMPLETED" and threaded.result == {"slept": 0.2}


def test_an_exception_fails_the_attempt_and_is_retried(server: Server, client_key: str) -> None:
    server.start_worker("py-2")
    with Offload(server.url, api_key=client_key) as client:
        job = client.submit("py.fail", {}, max_attempts=2, options={"delaySeconds": 0})
        failed = wait_until(client, job.id, lambda j: j.status == "FAILED", timeout=60)
        assert failed.status == "FAILED" and failed.attempt == 2
        assert [e["error"] for e in failed.errors] == ["model exploded", "model exploded"]


def test_a_cancel_stops_a_running_job(server: Server, client_key: str) -> None:
    server.start_worker("py-3")
    with Offload(server.url, api_key=client_key) as client:
        job = client.submit("py.slow", {"seconds": 30})
        assert wait_until(client, job.id, lambda j: j.status == "PROCESSING").status == "PROCESSING"
        started = time.monotonic()
        client.cancel(job.id)
        cancelled = wait_until(client, job.id, lambda j: j.finished)
        assert cancelled.status == "CANCELLED"
        assert time.monotonic() - started < 5


def test_sigterm_drains_the_worker(server: Server, client_key: str) -> None:
    process = server.start_worker("py-4", grace=20)
    with Offload(server.url, api_key=client_key) as client:
        job = client.submit("py.slow", {"seconds": 1.5})
        assert wait_until(client, job.id, lambda j: j.status == "PROCESSING").status == "PROCESSING"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        finished = client.get(job.id)
        assert finished.status == "COMPLETED" and finished.attempt == 1
        workers = server.call("GET", "/api/workers")
        assert isinstance(workers, dict)
        assert "py-4" not in [w["name"] for w in workers["workers"]], "a drained worker leaves the registry"


def test_kill_9_runs_the_job_again_elsewhere(server: Server, client_key: str) -> None:
    first = server.start_worker("py-5a", concurrency=1)
    with Offload(server.url, api_key=client_key) as client:
        job = client.submit("py.slow", {"seconds": 1})
        running = wait_until(client, job.id, lambda j: j.status == "PROCESSING")
        assert running.status == "PROCESSING"
        first.kill()
        first.wait()
        server.start_worker("py-5b", concurrency=1)
        done = wait_until(client, job.id, lambda j: j.finished, timeout=30)
        assert done.status == "COMPLETED" and done.attempt == 2
        assert done.result == {"slept": 1, "worker": "py-5b"}


def test_a_result_held_while_the_server_is_down_is_delivered_when_it_is_back() -> None:
    from urllib.parse import urlparse

    from conftest import start_server, stop

    first = start_server(["--lease-seconds", "60", "--workers", "0"])
    try:
        worker = first.start_worker("py-6")
        with Offload(first.url, api_key=first.key("client")) as client:
            job = client.submit("py.slow", {"seconds": 1.5})
            assert wait_until(client, job.id, lambda j: j.status == "PROCESSING").status == "PROCESSING"
        first.process.kill()
        first.process.wait()
        # The job ends while the server is away: its result waits in the worker.
        deadline = time.monotonic() + 20
        while "1 ending a job)" not in first.worker_log("py-6") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "1 ending a job)" in first.worker_log("py-6")
        port = urlparse(first.url).port or 0
        again = start_server(["--lease-seconds", "60", "--workers", "0"], directory=first.directory, port=port)
        again.workers.append(worker)
        try:
            with Offload(again.url, api_key=again.key("client")) as client:
                done = wait_until(client, job.id, lambda j: j.finished, timeout=30)
                assert done.status == "COMPLETED" and done.attempt == 1
                assert done.result == {"slept": 1.5, "worker": "py-6"}
        finally:
            stop(again)
    finally:
        if first.process.poll() is None:
            stop(first)
        for process in first.workers:
            if process.poll() is None:
                process.kill()
