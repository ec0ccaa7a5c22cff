"""Retries, Retry-After, the token's refresh and a real webhook delivery. A small HTTP server stands in for an
Offload server that fails on purpose (the real one cannot be made to answer 503 or 429 on demand); the webhook
comes from the real binary."""
from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import WEBHOOK_SECRET, Server
from offload import Offload, OffloadError, verify_webhook


class Flaky:
    """Answers `/api/auth/token` with a token of `lifetime` seconds, and `/api/jobs` first with `failures`
    answers of `status` (with `Retry-After: retry_after`), then with a job."""

    def __init__(self, status: int, failures: int, retry_after: int = 0, lifetime: int = 3600) -> None:
        self.status, self.failures, self.retry_after, self.lifetime = status, failures, retry_after, lifetime
        self.calls: list[tuple[str, float]] = []
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                flaky.calls.append((self.path, time.monotonic()))
                if self.path == "/api/auth/token":
                    self.answer(200, {"token": f"jwt-{len(flaky.calls)}", "expiresIn": flaky.lifetime})
                elif flaky.failures > 0:
                    flaky.failures -= 1
                    self.answer(flaky.status, {"error": {"code": "unavailable", "message": "try again"}},
                                {"Retry-After": str(flaky.retry_after)})
                else:
                    self.answer(201, {"jobId": "job_1", "status": "PENDING", "processingType": "noop"})

            do_GET = do_POST

            def answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def jobs_calls(self) -> list[float]:
        return [at for path, at in self.calls if path.startswith("/api/jobs")]

    def token_calls(self) -> int:
        return sum(1 for path, _ in self.calls if path == "/api/auth/token")


@pytest.fixture
def flaky_503() -> Iterator[Flaky]:
    flaky = Flaky(503, failures=2)
    yield flaky
    flaky.server.shutdown()


def test_a_plain_submit_is_never_retried(flaky_503: Flaky) -> None:
    with Offload(flaky_503.url, api_key="ok_test") as client:
        with pytest.raises(OffloadError) as refused:
            client.submit("noop", {})
        assert refused.value.status == 503 and refused.value.retryable
        assert len(flaky_503.jobs_calls()) == 1


def test_an_idempotent_submit_and_a_read_are_retried(flaky_503: Flaky) -> None:
    with Offload(flaky_503.url, api_key="ok_test") as client:
        assert client.submit("noop", {}, idempotency_key="k-1").id == "job_1"
        assert len(flaky_503.jobs_calls()) == 3


def test_retry_after_is_honoured() -> None:
    flaky = Flaky(429, failures=1, retry_after=1)
    try:
        with Offload(flaky.url, api_key="ok_test") as client:
            client.get("job_1")
            first, second = flaky.jobs_calls()
            assert second - first >= 0.95
    finally:
        flaky.server.shutdown()


def test_the_token_is_renewed_before_it_expires() -> None:
    # A token of 301 s with the 300 s margin is due for renewal a second after it was issued.
    flaky = Flaky(503, failures=0, lifetime=301)
    try:
        with Offload(flaky.url, api_key="ok_test") as client:
            client.get("job_1")
            client.get("job_1")
            assert flaky.token_calls() == 1
            time.sleep(1.1)
            client.get("job_1")
            assert flaky.token_calls() == 2
    finally:
        flaky.server.shutdown()


def test_a_real_webhook_delivery_verifies(server: Server, client_key: str) -> None:
    received: queue.Queue[tuple[bytes, str | None]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.put((self.rfile.read(int(self.headers["Content-Length"])), self.headers.get("X-Offload-Signature")))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with Offload(server.url, api_key=client_key) as client:
            job = client.submit("noop", {"hook": True}, webhook_url=f"http://127.0.0.1:{receiver.server_address[1]}/hook")
            body, signature = received.get(timeout=20)
            assert verify_webhook(body, signature, WEBHOOK_SECRET)
            assert not verify_webhook(body, signature, "another-secret-0123456789abcdef0123")
            assert json.loads(body)["jobId"] == job.id
    finally:
        receiver.shutdown()
