"""The worker the tests start in processes of their own: Python processors for types the server does not know."""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from offload import Job, JobContext, Worker

logging.basicConfig(level=logging.INFO)

worker = Worker(
    os.environ["OFFLOAD_URL"], concurrency=int(os.environ.get("WORKER_CONCURRENCY", "4")),
    name=os.environ["WORKER_NAME"], labels={"lang": "python"}, state_file=os.environ["WORKER_STATE"],
    shutdown_grace=float(os.environ.get("WORKER_GRACE", "30")))


@worker.processor("py.embed")
async def embed(job: Job, ctx: JobContext) -> Any:
    await ctx.progress(50, "half way")
    await ctx.log("loaded model", stream="stdout")
    for word in job.data.get("words", ["partial ", "text"]):
        await ctx.token(word)
        await asyncio.sleep(job.data.get("pause", 0))
    return {"vector": [0.1, 0.2], "attempt": job.attempt}


@worker.processor("py.fail")
async def fail(job: Job, ctx: JobContext) -> Any:
    raise ValueError("model exploded")


@worker.processor("py.slow")
async def slow(job: Job, ctx: JobContext) -> Any:
    for second in range(int(job.data["seconds"] * 10)):
        await asyncio.sleep(0.1)
        if second % 10 == 0:
            await ctx.progress(second // 10, "working")
    return {"slept": job.data["seconds"], "worker": os.environ["WORKER_NAME"]}


@worker.processor("py.block")
def block(job: Job, ctx: JobContext) -> Any:
    ctx.log("sleeping in a thread")
    time.sleep(job.data["seconds"])
    return {"slept": job.data["seconds"]}


@worker.processor("py.noop")
async def noop(job: Job, ctx: JobContext) -> Any:
    return None


if __name__ == "__main__":
    worker.run()
