from __future__ import annotations

import asyncio
import hashlib
import hmac
import uuid

import pytest

from conftest import Server
from offload import AsyncOffload, Offload, OffloadError, verify_webhook


def test_submit_get_wait_list_cancel_retry(server: Server, client_key: str) -> None:
    with Offload(server.url, api_key=client_key) as client:
        key = f"order-{uuid.uuid4()}"
        job = client.submit("type1", [{"id": 1, "name": "a"}], idempotency_key=key, priority=5, delay_seconds=0)
        assert job.status == "PENDING" and job.processing_type == "type1" and job.priority == 5
        assert client.submit("type1", [{"id": 1, "name": "a"}], idempotency_key=key).id == job.id
        done = client.wait(job.id, timeout=30)
        assert done.status == "COMPLETED" and done.finished and done.progress == 100
        assert done.result is not None
        assert client.get(job.id).status == "COMPLETED"

        page = client.list(status="COMPLETED", type="type1", limit=50)
        assert job.id in [j.id for j in page.jobs]
        assert page.next_cursor is None

        batch = client.submit_batch([{"processingType": "noop", "data": {"n": n}} for n in range(3)])
        assert [j.data for j in batch] == [{"n": 0}, {"n": 1}, {"n": 2}]

        later = client.submit("noop", {"later": True}, delay_seconds=3600)
        cancelled = client.cancel(later.id)
        assert cancelled.status == "CANCELLED"
        again = client.retry(later.id)
        assert again.status == "PENDING"

        unfinished = client.wait(client.submit("noop", None, delay_seconds=3600).id, timeout=0.5)
        assert unfinished.status == "PENDING"


def test_errors_have_status_code_and_message(server: Server, client_key: str) -> None:
    with Offload(server.url, api_key=client_key) as client:
        with pytest.raises(OffloadError) as missing:
            client.get("job_does_not_exist")
        assert missing.value.status == 404 and missing.value.code == "not_found" and "job_does_not_exist" in missing.value.message
        with pytest.raises(OffloadError) as unknown:
            client.submit("noop", {}, options={"priorty": 5})
        assert unknown.value.status == 422 and "priorty" in unknown.value.message
        with pytest.raises(OffloadError) as batch:
            client.submit_batch([{"processingType": "noop", "data": {}}, {"processingType": "noop", "options": {"maxAttempts": 0}}])
        assert batch.value.status == 422 and batch.value.items and batch.value.items[0]["index"] == 1
    with Offload(server.url, api_key="ok_not_a_key_0123456789") as stranger:
        with pytest.raises(OffloadError) as refused:
            stranger.get("job_x")
        assert refused.value.status == 401


def test_watch_streams_every_event_in_order(server: Server, client_key: str) -> None:
    with Offload(server.url, api_key=client_key) as client:
        job = client.submit("type1", [{"id": n, "name": f"item{n}"} for n in range(4)])
        events = list(client.watch(job.id, last_event_id="0"))
        ids = [int(e.id) for e in events if e.id is not None]
        assert ids == list(range(1, len(ids) + 1))
        assert events[-1].kind == "completed" and events[-1].final
        assert any(e.kind == "progress" for e in events)
        # The same log without streaming, a page at a time.
        stored = client.events(job.id)
        assert [e.id for e in stored] == [str(n) for n in ids]
        assert [e.kind for e in client.events(job.id, after=1, limit=2)] == [e.kind for e in stored[1:3]]
        # A stream token reads this job only.
        token = client.stream_token(job.id)
        with Offload(server.url, token=token) as browser:
            assert browser.get(job.id).status == "COMPLETED"
            with pytest.raises(OffloadError) as other:
                browser.get(client.submit("noop", {}).id)
            assert other.value.status in (403, 404)
        # From the snapshot, a finished job's stream is the snapshot alone.
        replay = list(client.watch(job.id))
        assert [e.kind for e in replay] == ["snapshot"] and replay[0].data["status"] == "COMPLETED"


def test_async_client(server: Server, client_key: str) -> None:
    async def main() -> None:
        async with AsyncOffload(server.url, api_key=client_key) as client:
            job = await client.submit("noop", {"async": True}, queue="default")
            seen = [event.kind async for event in client.watch(job.id, last_event_id="0")]
            assert seen[-1] == "completed"
            assert (await client.get(job.id)).status == "COMPLETED"
            assert (await client.wait(job.id)).status == "COMPLETED"
            jobs = await client.submit_batch([{"processingType": "noop", "data": {}}])
            assert len(jobs) == 1
            page = await client.list(type="noop", limit=1)
            assert [j.id for j in page.jobs] == [jobs[0].id] and page.next_cursor is not None
            rest = await client.list(type="noop", limit=1, cursor=page.next_cursor)
            assert [j.id for j in rest.jobs] == [job.id]
            with pytest.raises(OffloadError):
                await client.cancel("job_missing")

    asyncio.run(main())


def test_verify_webhook() -> None:
    body = b'{"jobId":"job_1","status":"COMPLETED"}'
    secret = "whsec_0123456789abcdef0123456789abcdef"
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert verify_webhook(body, signature, secret)
    assert not verify_webhook(body + b" ", signature, secret)
    assert not verify_webhook(body, signature, "another secret")
    assert not verify_webhook(body, None, secret)
    assert not verify_webhook(body, signature.removeprefix("sha256="), secret)
