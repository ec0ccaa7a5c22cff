"""Offload's Python SDK: a client of the HTTP API (``Offload``, ``AsyncOffload``) and a worker runtime
(``Worker``) for jobs written in Python."""

from ._client import AsyncOffload, Offload
from ._errors import OffloadError
from ._models import Event, Job, JobPage
from ._webhook import verify_webhook
from ._worker import JobContext, Worker

__all__ = [
    "AsyncOffload", "Event", "Job", "JobContext", "JobPage", "Offload", "OffloadError", "Worker", "verify_webhook",
]
