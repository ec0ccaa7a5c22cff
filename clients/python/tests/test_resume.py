from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest

from conftest import Server
from offload import Offload


class CuttingProxy:
    """A TCP proxy in front of the server that cuts the first `cuts` event streams after `after` bytes of their
    answer, so a client sees its stream end mid-way, as a proxy or a network would do."""

    def __init__(self, target: str, cuts: int, after: int) -> None:
        parsed = urlparse(target)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.cuts, self.after = cuts, after
        self.streams = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        self.ready.set()
        self.loop.run_forever()

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(self.host, self.port)
        # A kept-alive connection carries other requests before its event stream: the cut counts from the
        # event stream's request on.
        cut: dict[str, int | None] = {"limit": None, "sent": 0}

        async def upward() -> None:
            while data := await client_reader.read(65536):
                if data.startswith(b"GET /api/sse/"):
                    self.streams += 1
                    if self.streams <= self.cuts:
                        cut["limit"], cut["sent"] = self.after, 0
                upstream_writer.write(data)
                await upstream_writer.drain()

        async def downward() -> None:
            while data := await upstream_reader.read(65536):
                limit, sent = cut["limit"], cut["sent"] or 0
                if limit is not None and sent + len(data) >= limit:
                    client_writer.write(data[: max(0, limit - sent)])
                    await client_writer.drain()
                    return
                cut["sent"] = sent + len(data)
                client_writer.write(data)
                await client_writer.drain()

        up = asyncio.ensure_future(upward())
        try:
            await downward()
        finally:
            up.cancel()
            client_writer.close()
            upstream_writer.close()

    def close(self) -> None:
        async def cancel_connections() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cancel_connections(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def proxy(server: Server) -> Iterator[CuttingProxy]:
    started = CuttingProxy(server.url, cuts=2, after=1500)
    yield started
    started.close()


def test_a_cut_stream_resumes_exactly(server: Server, client_key: str, proxy: CuttingProxy) -> None:
    server.start_worker("py-cut")
    words = [f"w{n} " for n in range(150)]
    with Offload(server.url, api_key=client_key) as direct, Offload(proxy.url, api_key=client_key) as through:
        job = direct.submit("py.embed", {"words": words, "pause": 0.005})
        events = list(through.watch(job.id, last_event_id="0"))
        assert proxy.streams >= 3, "the stream was cut twice and resumed"
        ids = [int(e.id) for e in events if e.id is not None]
        assert ids == list(range(1, len(ids) + 1)), "no event lost or doubled"
        assert [e.data["text"] for e in events if e.kind == "token"] == words
        assert events[-1].kind == "completed"
