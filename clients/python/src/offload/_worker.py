from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ._client import AsyncOffload
from ._errors import OffloadError
from ._models import Job

log = logging.getLogger("offload.worker")

#: A processor: ``async def f(job, ctx)`` runs on the worker's event loop, a plain ``def f(job, ctx)`` in a
#: thread. Its return value (JSON) is the result; an exception fails the attempt with its message.
Processor = Callable[[Job, "JobContext"], Any]


class _Sent:
    """What a context method answers: already done, and awaitable so ``await ctx.progress(...)`` reads well."""

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


class JobContext:
    """What a processor gets beside its job: report progress, log lines and tokens (each goes to the server at
    once, batched with the other jobs' reports), and whether the job's cancel was requested."""

    def __init__(self, worker: Worker, job: Job, lease_token: str) -> None:
        self.job = job
        self.lease_token = lease_token
        #: Set when the job's cancel was requested; an async processor also gets ``asyncio.CancelledError``.
        self.cancelled = False
        self._worker = worker

    def progress(self, percent: int, message: str | None = None) -> _Sent:
        data: dict[str, Any] = {"progress": int(percent)}
        if message is not None:
            data["message"] = message
        return self._event("progress", data)

    def log(self, line: str, stream: str = "stdout") -> _Sent:
        return self._event("log", {"stream": stream, "line": line})

    def token(self, text: str) -> _Sent:
        return self._event("token", {"text": text})

    def _event(self, kind: str, data: dict[str, Any]) -> _Sent:
        self._worker._post(lambda: self._worker._report(self.job.id, self.lease_token, {"kind": kind, "data": data}))
        return _Sent()


@dataclass
class _Held:
    """A lease this worker holds: until the server has taken its end."""

    job: Job
    context: JobContext
    task: asyncio.Task[None] | None = None
    ended: bool = False


@dataclass
class _Report:
    job_id: str
    lease_token: str
    events: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"jobId": self.job_id, "leaseToken": self.lease_token, "events": self.events}
        if self.end is not None:
            body.update(self.end)
        return body


class Worker:
    """A worker process for Offload's session protocol (``POST /api/workers/{id}/sync``).

    It registers under an id kept in ``state_file`` (a restart is the same worker), long-polls for jobs of the
    types its processors handle, runs at most ``concurrency`` at once, and sends their events and ends batched:
    what queues while one sync is on its way goes in the next. While the server is away it keeps its reports and
    tries again (100 ms doubling to 5 s), never dropping one. A cancel reaches it within one heartbeat (every
    ``heartbeatIntervalSeconds`` the server gives) or at once through a waiting lease. ``run()`` ends on SIGTERM
    or SIGINT after draining: no new jobs, the running ones get ``shutdown_grace`` seconds, the rest go back to
    the server, then it leaves the registry.
    """

    def __init__(
        self, base_url: str, key: str | None = None, *, concurrency: int = 8, name: str | None = None,
        labels: dict[str, str] | None = None, state_file: str | None = None, shutdown_grace: float = 30,
        lease_wait: int = 20,
    ) -> None:
        key = key or os.environ.get("OFFLOAD_WORKER_KEY")
        if not key:
            raise ValueError("a worker needs a worker key (key= or OFFLOAD_WORKER_KEY)")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.concurrency = max(1, concurrency)
        self.name = name or socket.gethostname()
        self.labels = dict(labels or {})
        self.state_file = state_file or f"offload-worker-{self.name}.json"
        self.shutdown_grace = shutdown_grace
        self.lease_wait = max(0, min(60, lease_wait))
        self.worker_id: str | None = None
        self._processors: dict[str, Processor] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._client: AsyncOffload | None = None
        self._held: dict[str, _Held] = {}
        self._outbox: list[_Report] = []
        self._wake_reports = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._stop = asyncio.Event()
        self._draining = False
        self._heartbeat_interval = 10.0

    def processor(self, processing_type: str) -> Callable[[Processor], Processor]:
        """Registers the decorated function for jobs of ``processing_type``."""
        def register(function: Processor) -> Processor:
            self._processors[processing_type] = function
            return function
        return register

    def run(self) -> None:
        """Runs until SIGTERM or SIGINT, then drains (blocks)."""
        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
            await self.serve()

        # A process inherits its parent's blocked signals (a supervisor or a test runner may block them): the
        # drain must still see SIGTERM.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        asyncio.run(main())

    def stop(self) -> None:
        """Asks the worker to drain and end (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    async def serve(self) -> None:
        """``run()`` for a program that has its own event loop: returns after ``stop()`` and the drain."""
        if not self._processors:
            raise ValueError("the worker has no processor: decorate one with @worker.processor(type)")
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stop = asyncio.Event()
        self._wake_reports = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._client = AsyncOffload(self.base_url, self._key)
        try:
            if not await self._register_until_stopped():
                return
            lease = asyncio.create_task(self._lease_loop())
            reports = asyncio.create_task(self._report_loop())
            heartbeats = asyncio.create_task(self._heartbeat_loop())
            await self._stop.wait()
            await self._drain(lease, reports, heartbeats)
        finally:
            await self._client.aclose()

    # Registration

    async def _register_until_stopped(self) -> bool:
        delay = 0.1
        while not self._stop.is_set():
            try:
                await self._register()
                return True
            except OffloadError as error:
                if not error.retryable:
                    raise
                log.warning("cannot register, retrying: %s", error.message)
                await self._sleep(delay)
                delay = min(delay * 2, 5)
        return False

    async def _register(self) -> None:
        assert self._client is not None
        saved = self._saved_id()
        body: dict[str, Any] = {
            "name": self.name, "processingTypes": sorted(self._processors), "labels": self.labels,
            "maxConcurrentJobs": self.concurrency,
        }
        if saved:
            body["workerId"] = saved
        answer = await self._client.request("POST", "/api/workers/register", body)
        self.worker_id = str(answer["workerId"])
        self._heartbeat_interval = float(answer.get("heartbeatIntervalSeconds", 10))
        if self.worker_id != saved:
            self._save_id(self.worker_id)
        log.info("worker registered", extra={"workerId": self.worker_id})

    def _saved_id(self) -> str | None:
        try:
            with open(self.state_file, encoding="utf-8") as file:
                value = json.load(file).get("workerId")
                return value if isinstance(value, str) else None
        except (OSError, ValueError, AttributeError):
            return None

    def _save_id(self, worker_id: str) -> None:
        descriptor = os.open(self.state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump({"workerId": worker_id}, file)

    # The session

    async def _sync(self, reports: list[_Report], lease: int, wait: int) -> dict[str, Any]:
        assert self._client is not None and self.worker_id is not None
        body = {"reports": [report.json() for report in reports], "running": sorted(self._held), "lease": lease}
        answer = await self._client.request(
            "POST", f"/api/workers/{quote(self.worker_id, safe='')}/sync?wait={wait}", body, retryable=False,
            timeout=wait + 30)
        for leased in answer.get("jobs", []):
            self._start(leased)
        for job_id in answer.get("cancel", []):
            self._cancel(job_id)
        return answer if isinstance(answer, dict) else {}

    async def _lease_loop(self) -> None:
        delay = 0.1
        while not self._draining:
            free = self.concurrency - len(self._held)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                await self._sync([], free, self.lease_wait)
                delay = 0.1
            except OffloadError as error:
                delay = await self._after_failure(error, delay)

    async def _report_loop(self) -> None:
        delay = 0.1
        while True:
            await self._wake_reports.wait()
            self._wake_reports.clear()
            if not self._outbox:
                continue
            batch, self._outbox = self._outbox, []
            try:
                answer = await self._sync(batch, 0, 0)
                delay = 0.1
            except OffloadError as error:
                if error.status == 400:
                    # Not a report the server could ever take (a worker bug): kept, it would block the others.
                    log.error("the server refused reports: %s", error.message)
                    self._settle(batch, [])
                    continue
                self._outbox = batch + self._outbox
                self._wake_reports.set()
                ends = sum(1 for report in batch if report.end is not None)
                log.warning("reports wait for the server (%d, %d ending a job): %s", len(batch), ends, error.message)
                delay = await self._after_failure(error, delay)
                continue
            self._settle(batch, answer.get("reports", []))

    def _settle(self, batch: list[_Report], outcomes: list[Any]) -> None:
        """The server took (or refused for good) these reports: cancels it answered reach their jobs, and a job
        whose end went in frees its slot. A report the store could not take now (`unavailable`) goes again."""
        again: list[_Report] = []
        for index, report in enumerate(batch):
            outcome = outcomes[index] if index < len(outcomes) else {}
            if isinstance(outcome, dict) and not outcome.get("ok", True):
                error = outcome.get("error") or {}
                if error.get("code") == "unavailable":
                    again.append(report)
                    continue
                # A stale lease (`conflict`: the job was handed to another worker) or a report the server
                # refuses for good: nothing to send again.
                log.warning("a report was refused: %s", error.get("message"), extra={"jobId": report.job_id})
            elif isinstance(outcome, dict) and outcome.get("cancelRequested"):
                self._cancel(report.job_id)
            if report.end is not None:
                self._held.pop(report.job_id, None)
                self._slot_freed.set()
        if again and self._loop is not None:
            self._outbox = again + self._outbox
            self._loop.call_later(0.1, self._wake_reports.set)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_interval)
            if not self._held:
                continue
            try:
                await self._sync([], 0, 0)
            except OffloadError as error:
                log.warning("heartbeat failed: %s", error.message)

    async def _after_failure(self, error: OffloadError, delay: float) -> float:
        """Waits before the next try; registers again when the server no longer knows this worker."""
        if error.status == 404:
            try:
                await self._register()
                return 0.1
            except OffloadError as again:
                error = again
        log.warning("the server is unavailable, retrying: %s", error.message)
        await self._sleep(delay)
        return min(delay * 2, 5)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    # Jobs

    def _start(self, leased: dict[str, Any]) -> None:
        job = Job.from_json(leased)
        if job.id in self._held:
            return
        held = _Held(job, JobContext(self, job, str(leased["leaseToken"])))
        self._held[job.id] = held
        held.task = asyncio.create_task(self._execute(held))

    def _cancel(self, job_id: str) -> None:
        held = self._held.get(job_id)
        if held is None or held.ended:
            return
        held.context.cancelled = True
        if held.task is not None:
            held.task.cancel()

    async def _execute(self, held: _Held) -> None:
        job, context = held.job, held.context
        end: dict[str, Any]
        try:
            function = self._processors.get(job.processing_type)
            if function is None:
                raise RuntimeError(f"this worker has no processor for {job.processing_type}")
            if inspect.iscoroutinefunction(function):
                running = function(job, context)
            else:
                running = asyncio.to_thread(function, job, context)
            if job.timeout_seconds:
                result = await asyncio.wait_for(running, job.timeout_seconds)
            else:
                result = await running
            try:
                json.dumps(result)
                end = {"end": "complete", "result": result}
            except (TypeError, ValueError) as error:
                end = {"end": "fail", "error": f"the result is not JSON: {error}"}
        except asyncio.CancelledError:
            if not (context.cancelled or self._draining):
                raise
            # Acknowledges a cancel (the job ends CANCELLED), or hands the job back at shutdown.
            end = {"end": "release"}
        except asyncio.TimeoutError:
            end = {"end": "fail", "error": f"timed out after {job.timeout_seconds} s"}
        except Exception as error:
            end = {"end": "fail", "error": str(error) or type(error).__name__}
        held.ended = True
        self._report(job.id, context.lease_token, None, end)

    # Reports

    def _post(self, action: Callable[[], None]) -> None:
        """Runs ``action`` on the worker's event loop (a thread processor's context calls come from elsewhere)."""
        if self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            action()
        else:
            self._loop.call_soon_threadsafe(action)

    def _report(self, job_id: str, lease_token: str, event: dict[str, Any] | None, end: dict[str, Any] | None = None) -> None:
        last = self._outbox[-1] if self._outbox else None
        if last is not None and last.job_id == job_id and last.end is None:
            report = last
        else:
            report = _Report(job_id, lease_token)
            self._outbox.append(report)
        if event is not None:
            report.events.append(event)
        if end is not None:
            report.end = end
        self._wake_reports.set()

    # Shutdown

    async def _drain(self, lease: asyncio.Task[None], reports: asyncio.Task[None], heartbeats: asyncio.Task[None]) -> None:
        assert self._client is not None and self.worker_id is not None
        self._draining = True
        lease.cancel()
        self._slot_freed.set()
        path = f"/api/workers/{quote(self.worker_id, safe='')}"
        try:
            await self._client.request("POST", path + "/heartbeat", {"jobIds": sorted(self._held), "status": "draining"})
        except OffloadError as error:
            log.warning("could not tell the server this worker drains: %s", error.message)
        tasks = [held.task for held in self._held.values() if held.task is not None and not held.task.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        deadline = time.monotonic() + self.shutdown_grace
        while self._held and time.monotonic() < deadline:
            self._wake_reports.set()
            await asyncio.sleep(0.05)
        for task in (reports, heartbeats):
            task.cancel()
        if self._held:
            log.warning("reports that could not be delivered are left to the lease expiry: %s", sorted(self._held))
        try:
            await self._client.request("DELETE", path)
        except OffloadError as error:
            log.warning("could not leave the registry: %s", error.message)
