"""One Python worker process against one `offload worker` agent on the same `noop` jobs, in one run.

    python clients/python/bench/noop_throughput.py --offload .build/release/offload --jobs 10000

For each agent: a fresh server (SQLite, no in-process workers), the jobs submitted in batches of 1,000 first,
then the agent started; the figure is jobs / seconds from the agent's start to the last job COMPLETED (seen
by polling the completed count), and the agent's CPU seconds per 1,000 jobs.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any

ADMIN = "adm_bench_0123456789abcdef0123456789"


def call(url: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"X-API-Key": ADMIN, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
        return json.loads(text) if text else None


def serve(binary: str, directory: str) -> tuple[subprocess.Popen[bytes], str]:
    process = subprocess.Popen([binary, "serve", "--port", "0", "--data-dir", directory, "--workers", "0"],
                               env=dict(os.environ, OFFLOAD_ADMIN_KEY=ADMIN), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    while True:
        line = process.stdout.readline()
        found = re.search(rb"listening on (http://[0-9.]+:[0-9]+)", line)
        if found:
            return process, found.group(1).decode()
        if not line:
            raise RuntimeError("offload serve did not start")


def run(binary: str, agent: str, jobs: int, concurrency: int) -> tuple[float, float]:
    directory = tempfile.mkdtemp(prefix="offload-bench-")
    server, url = serve(binary, directory)
    try:
        key = call(url, "POST", "/api/keys", {"name": "bench", "role": "worker", "tenant": "default"})["secret"]
        for start in range(0, jobs, 1000):
            call(url, "POST", "/api/jobs/batch",
                 {"jobs": [{"processingType": "noop", "data": {"n": n}} for n in range(start, min(jobs, start + 1000))]})
        env = dict(os.environ, OFFLOAD_WORKER_KEY=key, OFFLOAD_URL=url)
        if agent == "python":
            command = [sys.executable, "-c", PYTHON_WORKER, str(concurrency), os.path.join(directory, "py.json")]
        else:
            command = [binary, "worker", "--server", url, "--concurrency", str(concurrency), "--types", "noop",
                       "--state-file", os.path.join(directory, "agent.json")]
        began = time.monotonic()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while completed_jobs(url) < jobs:
            time.sleep(0.05)
        elapsed = time.monotonic() - began
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        return jobs / elapsed, cpu / jobs * 1000
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def completed_jobs(url: str) -> int:
    """The COMPLETED jobs of the dashboard's stats (finished within its window)."""
    stats = call(url, "GET", "/api/stats")
    return sum(int(queue.get("completed", 0)) for queue in stats.get("queues", []))


PYTHON_WORKER = """
import sys
from offload import Worker
worker = Worker(__import__("os").environ["OFFLOAD_URL"], concurrency=int(sys.argv[1]), name="bench-py", state_file=sys.argv[2])
@worker.processor("noop")
async def noop(job, ctx):
    return None
worker.run()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offload", default=".build/release/offload")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    print("| agent | jobs/s | agent CPU s per 1,000 jobs |\n|---|---|---|")
    for _ in range(options.rounds):
        for agent in ("offload-worker", "python"):
            rate, cpu = run(options.offload, agent, options.jobs, options.concurrency)
            print(f"| {agent} | {rate:,.0f} | {cpu:.2f} |", flush=True)


if __name__ == "__main__":
    main()
