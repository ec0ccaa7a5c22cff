from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import AsyncGenerator, Coroutine, Iterator
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

import httpx

from ._errors import OffloadError
from ._models import Event, Job, JobPage
from ._sse import SSEParser

T = TypeVar("T")

_KINDS = frozenset({"snapshot", "status", "progress", "log", "token", "completed", "failed", "cancelled"})


def _options(
    options: dict[str, Any] | None, *, idempotency_key: str | None = None, priority: int | None = None,
    delay_seconds: int | None = None, queue: str | None = None, max_attempts: int | None = None,
    timeout_seconds: int | None = None, run_at: str | None = None, labels: dict[str, str] | None = None,
    cache: bool | dict[str, int] | None = None, webhook_url: str | None = None,
) -> dict[str, Any]:
    """The submit's ``options`` object: the named ones in the API's spelling, over ``options``."""
    merged = dict(options or {})
    named: dict[str, Any] = {
        "idempotencyKey": idempotency_key, "priority": priority, "delaySeconds": delay_seconds, "queue": queue,
        "maxAttempts": max_attempts, "timeoutSeconds": timeout_seconds, "runAt": run_at, "labels": labels,
        "cache": cache, "webhookUrl": webhook_url,
    }
    merged.update({name: value for name, value in named.items() if value is not None})
    return merged


class AsyncOffload:
    """A client of an Offload server, for asyncio: submit jobs, read them, follow them live.

    With ``api_key`` it exchanges the key for a JWT on first use and renews it ``refresh_margin`` seconds before
    it expires (or at once after a 401). Calls that are safe to repeat (reads, cancel, and a submit that carries
    an ``idempotency_key``) are retried on network errors, 5xx and 429 (honouring ``Retry-After``) with backoff;
    a submit without one is never retried, since a retry could store the job twice.
    """

    def __init__(
        self, base_url: str, api_key: str | None = None, *, token: str | None = None, max_attempts: int = 4,
        refresh_margin: float = 300, timeout: float = 330, http: httpx.AsyncClient | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required")
        if api_key is not None and token is not None:
            raise ValueError("give api_key or token, not both")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._token = token
        self._max_attempts = max(1, max_attempts)
        self._refresh_margin = refresh_margin
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10))
        self._owns_http = http is None
        self._jwt: tuple[str, float] | None = None
        self._exchange_lock: asyncio.Lock | None = None

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncOffload:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # Jobs

    async def submit(
        self, processing_type: str, data: Any = None, *, idempotency_key: str | None = None,
        priority: int | None = None, delay_seconds: int | None = None, queue: str | None = None,
        max_attempts: int | None = None, timeout_seconds: int | None = None, run_at: str | None = None,
        labels: dict[str, str] | None = None, cache: bool | dict[str, int] | None = None,
        webhook_url: str | None = None, options: dict[str, Any] | None = None,
    ) -> Job:
        """Stores a job: answers it once it is durable (PENDING), or the earlier job of a repeated
        ``idempotency_key``. Other options of the API go in ``options`` (in its spelling)."""
        merged = _options(
            options, idempotency_key=idempotency_key, priority=priority, delay_seconds=delay_seconds, queue=queue,
            max_attempts=max_attempts, timeout_seconds=timeout_seconds, run_at=run_at, labels=labels, cache=cache,
            webhook_url=webhook_url)
        body = {"processingType": processing_type, "data": data, "options": merged}
        answer = await self.request("POST", "/api/jobs", body, retryable="idempotencyKey" in merged)
        return Job.from_json(answer)

    async def submit_batch(self, items: list[dict[str, Any]]) -> list[Job]:
        """Stores 1 to 1,000 jobs (``{"processingType", "data", "options"}`` each) in one transaction, all or
        none; answers them in order."""
        answer = await self.request("POST", "/api/jobs/batch", {"jobs": items}, retryable=False)
        return [Job.from_json(job) for job in answer["jobs"]]

    async def get(self, job_id: str) -> Job:
        """The job now."""
        return Job.from_json(await self.request("GET", f"/api/jobs/{quote(job_id, safe='')}"))

    async def cancel(self, job_id: str) -> Job:
        """Cancels a job: a pending one at once, a running one once its worker has stopped it."""
        return Job.from_json(await self.request("POST", f"/api/jobs/{quote(job_id, safe='')}/cancel"))

    async def retry(self, job_id: str) -> Job:
        """Runs a FAILED or CANCELLED job again."""
        return Job.from_json(await self.request("POST", f"/api/jobs/{quote(job_id, safe='')}/retry", retryable=False))

    async def stream_token(self, job_id: str) -> str:
        """A short-lived token (5 minutes) that reads only this job: hand it to a browser, which follows the job
        with it (the TypeScript SDK's `useJob`, or `/api/sse/job-progress/{id}?token=…`)."""
        answer = await self.request("POST", f"/api/jobs/{quote(job_id, safe='')}/stream-token")
        return str(answer["token"])

    async def events(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """The job's stored events after the seq `after`, oldest first (at most `limit`), without streaming."""
        query = {"after": after, "limit": limit}
        path = f"/api/jobs/{quote(job_id, safe='')}/events?" + urlencode(
            {name: value for name, value in query.items() if value is not None})
        answer = await self.request("GET", path)
        return [Event(str(event["seq"]), str(event["kind"]), event.get("data")) for event in answer["events"]]

    async def list(
        self, *, status: str | None = None, type: str | None = None, queue: str | None = None, limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        """A page of jobs, newest first, filtered by status, processing type and queue."""
        query = {"status": status, "type": type, "queue": queue, "limit": limit, "cursor": cursor}
        path = "/api/jobs?" + urlencode({name: value for name, value in query.items() if value is not None})
        answer = await self.request("GET", path)
        return JobPage([Job.from_json(job) for job in answer["jobs"]], answer.get("nextCursor"))

    async def wait(self, job_id: str, timeout: float = 60) -> Job:
        """Follows the job until it ends and answers it finished; after ``timeout`` seconds answers it as it
        is then (look at ``status``)."""
        async def follow() -> None:
            async for _ in self.watch(job_id):
                pass

        try:
            await asyncio.wait_for(follow(), timeout)
        except asyncio.TimeoutError:
            pass
        return await self.get(job_id)

    async def watch(
        self, job_id: str, last_event_id: str | None = None, *, max_reconnects: int = 5
    ) -> AsyncGenerator[Event, None]:
        """Follows a job over Server-Sent Events: its snapshot, then every event until the final one (then the
        loop ends). A cut connection is resumed with ``Last-Event-ID`` after backoff (at most ``max_reconnects``
        in a row), so no event comes twice and none goes missing. ``last_event_id`` starts after that event
        (``"0"``: the whole log) instead of at the snapshot."""
        url = f"{self.base_url}/api/sse/job-progress/{quote(job_id, safe='')}"
        failures = 0
        renew = False
        retry_ms: int | None = None
        while True:
            try:
                headers = {"Accept": "text/event-stream"}
                credential = await self._credential(renew)
                if credential:
                    headers["Authorization"] = f"Bearer {credential}"
                if last_event_id is not None:
                    headers["Last-Event-ID"] = last_event_id
                try:
                    async with self._http.stream("GET", url, headers=headers, timeout=httpx.Timeout(None, connect=10)) as response:
                        if response.status_code != 200:
                            await response.aread()
                            error = OffloadError.from_response(response)
                            if error.status == 401 and not renew and self._api_key is not None:
                                renew = True
                                continue
                            raise error
                        renew = False
                        parser = SSEParser()
                        ended_on_final_snapshot = False
                        async for chunk in response.aiter_raw():
                            messages = parser.feed(chunk)
                            if parser.retry is not None:
                                retry_ms = parser.retry
                            for message in messages:
                                failures = 0
                                if message.has_id:
                                    last_event_id = message.last_event_id
                                if message.event not in _KINDS:
                                    continue
                                try:
                                    data = json.loads(message.data)
                                except ValueError:
                                    raise OffloadError(0, "bad_event", f"the {message.event} event's data is not JSON")
                                event = Event(message.last_event_id if message.has_id else None, message.event, data)
                                yield event
                                if event.final:
                                    return
                                final_snapshot = event.kind == "snapshot" and data.get("status") in ("COMPLETED", "FAILED", "CANCELLED")
                                # A snapshot with an id starts the stream: a finished job's has nothing after it.
                                # One sent after a Last-Event-ID may have the events missed behind it.
                                if final_snapshot and event.id is not None:
                                    return
                                ended_on_final_snapshot = final_snapshot
                        if ended_on_final_snapshot:
                            return
                        raise OffloadError(0, "network_error", "the event stream ended before the job's final event")
                except httpx.HTTPError as cause:
                    raise OffloadError.network(cause) from cause
            except OffloadError as error:
                if not error.retryable:
                    raise
                failures += 1
                if failures > max_reconnects:
                    raise
                await asyncio.sleep((retry_ms or 250) / 1000 * 2 ** (failures - 1))

    # Transport

    async def request(self, method: str, path: str, body: Any = None, *, retryable: bool = True,
                      timeout: float | None = None) -> Any:
        """One call of the API with the bearer token (renewed once after a 401); answers its JSON (None when
        empty). ``retryable`` calls are repeated on network errors, 5xx and 429."""
        renewed = False
        while True:
            credential = await self._credential(renewed)
            headers = {"Authorization": f"Bearer {credential}"} if credential else {}
            try:
                return await self._send(method, path, headers, body, retryable, timeout)
            except OffloadError as error:
                if error.status == 401 and not renewed and self._api_key is not None:
                    renewed = True
                    continue
                raise

    async def _send(self, method: str, path: str, headers: dict[str, str], body: Any, retryable: bool,
                    timeout: float | None) -> Any:
        content = None if body is None else json.dumps(body).encode()
        if content is not None:
            headers = {**headers, "Content-Type": "application/json"}
        attempt = 1
        while True:
            try:
                response = await self._http.request(
                    method, self.base_url + path, content=content, headers={"Accept": "application/json", **headers},
                    timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout)
                if 200 <= response.status_code < 300:
                    if not response.content:
                        return None
                    try:
                        return json.loads(response.content)
                    except ValueError:
                        raise OffloadError(response.status_code, "bad_answer", "the answer was not JSON")
                error = OffloadError.from_response(response)
            except httpx.HTTPError as cause:
                error = OffloadError.network(cause)
            if not retryable or not error.retryable or attempt >= self._max_attempts:
                raise error
            backoff = 0.1 * 2 ** (attempt - 1) * (0.75 + random.random() / 2)
            await asyncio.sleep(min(error.retry_after, 60) if error.retry_after is not None else backoff)
            attempt += 1

    async def _credential(self, renew: bool) -> str | None:
        """The bearer token for the next request (None: none configured); ``renew`` drops a refused one."""
        if self._token is not None:
            return self._token
        if self._api_key is None:
            return None
        if self._exchange_lock is None:
            self._exchange_lock = asyncio.Lock()
        async with self._exchange_lock:
            if renew:
                self._jwt = None
            if self._jwt is not None and self._jwt[1] - self._refresh_margin > time.time():
                return self._jwt[0]
            answer = await self._send("POST", "/api/auth/token", {"X-API-Key": self._api_key}, None, True, None)
            if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
                raise OffloadError(200, "bad_answer", "the token answer had no token")
            self._jwt = (answer["token"], time.time() + float(answer.get("expiresIn", 0)))
            return self._jwt[0]


class Offload:
    """The same client without asyncio: every method of ``AsyncOffload`` as a plain call, ``watch`` as a plain
    iterator. Its calls run on an event loop of its own, in a daemon thread."""

    def __init__(
        self, base_url: str, api_key: str | None = None, *, token: str | None = None, max_attempts: int = 4,
        refresh_margin: float = 300, timeout: float = 330,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="offload-client", daemon=True)
        self._thread.start()

        async def make() -> AsyncOffload:
            return AsyncOffload(base_url, api_key, token=token, max_attempts=max_attempts,
                                refresh_margin=refresh_margin, timeout=timeout)

        self._client = self._run(make())
        self.base_url = self._client.base_url

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._run(self._client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> Offload:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def submit(
        self, processing_type: str, data: Any = None, *, idempotency_key: str | None = None,
        priority: int | None = None, delay_seconds: int | None = None, queue: str | None = None,
        max_attempts: int | None = None, timeout_seconds: int | None = None, run_at: str | None = None,
        labels: dict[str, str] | None = None, cache: bool | dict[str, int] | None = None,
        webhook_url: str | None = None, options: dict[str, Any] | None = None,
    ) -> Job:
        """See ``AsyncOffload.submit``."""
        return self._run(self._client.submit(
            processing_type, data, idempotency_key=idempotency_key, priority=priority, delay_seconds=delay_seconds,
            queue=queue, max_attempts=max_attempts, timeout_seconds=timeout_seconds, run_at=run_at, labels=labels,
            cache=cache, webhook_url=webhook_url, options=options))

    def submit_batch(self, items: list[dict[str, Any]]) -> list[Job]:
        return self._run(self._client.submit_batch(items))

    def get(self, job_id: str) -> Job:
        return self._run(self._client.get(job_id))

    def cancel(self, job_id: str) -> Job:
        return self._run(self._client.cancel(job_id))

    def retry(self, job_id: str) -> Job:
        return self._run(self._client.retry(job_id))

    def stream_token(self, job_id: str) -> str:
        return self._run(self._client.stream_token(job_id))

    def events(self, job_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        return self._run(self._client.events(job_id, after, limit))

    def list(
        self, *, status: str | None = None, type: str | None = None, queue: str | None = None, limit: int = 50,
        cursor: str | None = None,
    ) -> JobPage:
        return self._run(self._client.list(status=status, type=type, queue=queue, limit=limit, cursor=cursor))

    def wait(self, job_id: str, timeout: float = 60) -> Job:
        return self._run(self._client.wait(job_id, timeout))


    def watch(self, job_id: str, last_event_id: str | None = None, *, max_reconnects: int = 5) -> Iterator[Event]:
        """See ``AsyncOffload.watch``; closing the iterator ends the stream."""
        events = self._client.watch(job_id, last_event_id, max_reconnects=max_reconnects)

        async def step() -> Event | None:
            try:
                return await events.__anext__()
            except StopAsyncIteration:
                return None

        async def close() -> None:
            await events.aclose()

        try:
            while (event := self._run(step())) is not None:
                yield event
        finally:
            self._run(close())

    def request(self, method: str, path: str, body: Any = None, *, retryable: bool = True) -> Any:
        """One call of any route (see ``AsyncOffload.request``)."""
        return self._run(self._client.request(method, path, body, retryable=retryable))


