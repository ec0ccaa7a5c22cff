from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FINAL_STATUSES = frozenset({"COMPLETED", "FAILED", "CANCELLED"})


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class Job:
    """A job as the API shows it (``GET /api/jobs/{id}``); ``raw`` is the whole JSON object."""

    id: str
    processing_type: str
    queue: str
    status: str
    data: Any
    options: dict[str, Any]
    progress: int
    attempt: int
    max_attempts: int
    priority: int
    tenant: str
    created_at: datetime | None
    message: str | None = None
    result: Any = None
    error: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    idempotency_key: str | None = None
    worker_id: str | None = None
    cancel_requested: bool = False
    run_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    timeout_seconds: int | None = None
    cached_from: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        """COMPLETED, FAILED or CANCELLED: nothing will change it any more (but a retry)."""
        return self.status in FINAL_STATUSES

    @classmethod
    def from_json(cls, value: Any) -> Job:
        if not isinstance(value, dict) or not isinstance(value.get("jobId"), str):
            raise ValueError("not a job: no jobId")
        return cls(
            id=value["jobId"], processing_type=value.get("processingType", ""), queue=value.get("queue", "default"),
            status=value.get("status", ""), data=value.get("data"), options=value.get("options") or {},
            progress=int(value.get("progress", 0)), attempt=int(value.get("attempt", 0)),
            max_attempts=int(value.get("maxAttempts", 0)), priority=int(value.get("priority", 0)),
            tenant=value.get("tenant", ""), created_at=_date(value.get("createdAt")), message=value.get("message"),
            result=value.get("result"), error=value.get("error"), errors=list(value.get("errors") or []),
            idempotency_key=value.get("idempotencyKey"), worker_id=value.get("workerId"),
            cancel_requested=bool(value.get("cancelRequested", False)), run_at=_date(value.get("runAt")),
            started_at=_date(value.get("startedAt")), completed_at=_date(value.get("completedAt")),
            timeout_seconds=value.get("timeoutSeconds"), cached_from=value.get("cachedFrom"), raw=value,
        )


@dataclass
class JobPage:
    """A page of ``list``: newest first; pass ``next_cursor`` as ``cursor`` for the next (None on the last)."""

    jobs: list[Job]
    next_cursor: str | None


@dataclass
class Event:
    """One event of ``watch``: ``kind`` is ``snapshot`` (the job as it was when the stream began), ``status``,
    ``progress``, ``log``, ``token``, or a final ``completed`` / ``failed`` / ``cancelled`` (the finished job).
    ``id`` is its seq as text (None for a snapshot sent after a resume)."""

    id: str | None
    kind: str
    data: Any

    @property
    def final(self) -> bool:
        return self.kind in ("completed", "failed", "cancelled")
