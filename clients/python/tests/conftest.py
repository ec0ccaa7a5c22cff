"""Starts real `offload serve` processes (the binary from OFFLOAD_BINARY, else the debug build) on a free port
with a fresh data directory, and stops them by pid."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
ADMIN_KEY = "adm_python_tests_0123456789abcdef0123"
WEBHOOK_SECRET = "python-tests-webhook-secret-0123456789abcdef"
WORKER_APP = Path(__file__).with_name("worker_app.py")


def binary() -> str:
    return os.environ.get("OFFLOAD_BINARY") or str(ROOT / ".build" / "debug" / "offload")


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    directory: str
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def call(self, method: str, path: str, body: object = None, key: str = ADMIN_KEY) -> object:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"X-API-Key": key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
            return json.loads(text) if text else None

    def key(self, role: str) -> str:
        answer = self.call("POST", "/api/keys", {"name": f"py-{role}", "role": role, "tenant": "default"})
        assert isinstance(answer, dict)
        return str(answer["secret"])

    def start_worker(self, name: str, *, concurrency: int = 4, grace: float = 30, extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """`tests/worker_app.py` in a process of its own, registered when this returns."""
        env = dict(os.environ, OFFLOAD_URL=self.url, OFFLOAD_WORKER_KEY=self.key("worker"), WORKER_NAME=name,
                   WORKER_CONCURRENCY=str(concurrency), WORKER_GRACE=str(grace),
                   WORKER_STATE=os.path.join(self.directory, f"{name}.json"), **(extra or {}))
        log = open(os.path.join(self.directory, f"{name}.log"), "wb")
        process = subprocess.Popen([sys.executable, str(WORKER_APP)], env=env, stdout=log, stderr=subprocess.STDOUT)
        self.workers.append(process)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            workers = self.call("GET", "/api/workers")
            assert isinstance(workers, dict)
            if any(w.get("name") == name and w.get("status") == "active" for w in workers.get("workers", [])):
                return process
            if process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"worker {name} did not register: {self.worker_log(name)}")

    def worker_log(self, name: str) -> str:
        return Path(self.directory, f"{name}.log").read_text(errors="replace")


def start_server(arguments: list[str], *, directory: str | None = None, port: int = 0) -> Server:
    """`offload serve` with `arguments`, in `directory` (a new one by default), on `port` (0: any free one)."""
    directory = directory or tempfile.mkdtemp(prefix="offload-py-")
    env = dict(os.environ, OFFLOAD_ADMIN_KEY=ADMIN_KEY, OFFLOAD_WEBHOOK_SECRET=WEBHOOK_SECRET)
    env.pop("OFFLOAD_JWT_SECRET", None)
    log = open(os.path.join(directory, "server.log"), "ab")
    process = subprocess.Popen(
        [binary(), "serve", "--port", str(port), "--data-dir", directory, *arguments], env=env, stdout=subprocess.PIPE,
        stderr=log)
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    seen = b""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        found = re.search(rb"listening on (http://[0-9.]+:[0-9]+)", line)
        if found:
            return Server(found.group(1).decode(), process, directory)
    process.kill()
    raise RuntimeError(f"offload serve did not start: {seen!r}")


def stop(server: Server) -> None:
    for worker in server.workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def server() -> Iterator[Server]:
    """A server with its in-process workers (they run `noop`, `type1`, ...) and 2-second leases."""
    started = start_server(["--lease-seconds", "2"])
    yield started
    stop(started)


@pytest.fixture
def client_key(server: Server) -> str:
    return server.key("client")
