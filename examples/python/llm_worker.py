"""A Python worker for `llm.chat` jobs: it streams the model's answer token by token, so the Next.js page in
examples/nextjs (which submits `llm.chat` and follows the job with the TypeScript SDK's `useJob`) shows the text
as it is written.

    OFFLOAD_WORKER_KEY=ok_… LLM_BASE_URL=http://127.0.0.1:11434/v1 LLM_MODEL=llama3.1 \\
        python examples/python/llm_worker.py

Any OpenAI-compatible endpoint works (vLLM, llama.cpp's server, Ollama, OpenAI with LLM_API_KEY).
"""
from __future__ import annotations

import json
import os
from typing import Any

import httpx

from offload import Job, JobContext, Worker

worker = Worker(os.environ.get("OFFLOAD_URL", "http://127.0.0.1:8080"), concurrency=4, name="llm-python")
llm = httpx.AsyncClient(
    base_url=os.environ.get("LLM_BASE_URL", "http://127.0.0.1:11434/v1"), timeout=httpx.Timeout(300, connect=10),
    headers={"Authorization": f"Bearer {os.environ['LLM_API_KEY']}"} if "LLM_API_KEY" in os.environ else {})


@worker.processor("llm.chat")
async def chat(job: Job, ctx: JobContext) -> Any:
    body = {"model": os.environ.get("LLM_MODEL", "llama3.1"), "messages": job.data["messages"], "stream": True}
    text: list[str] = []
    async with llm.stream("POST", "/chat/completions", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            raise RuntimeError(f"the model answered {response.status_code}: {response.text[:200]}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            delta = json.loads(line[len("data: "):])["choices"][0].get("delta", {}).get("content")
            if delta:
                text.append(delta)
                await ctx.token(delta)          # one SSE `token` event per chunk, seen by useJob as job.text
    return {"text": "".join(text)}


if __name__ == "__main__":
    worker.run()
