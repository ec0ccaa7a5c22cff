from __future__ import annotations

import email.utils
import json
import time
from typing import Any

import httpx


class OffloadError(Exception):
    """An error answer of the server (``{"error": {"code", "message"}}``), or a request that got no answer.

    ``status`` is the HTTP status (0 when no answer came), ``code`` the server's code (``not_found``,
    ``conflict``, ``unprocessable``, ...) or ``network_error``, ``retry_after`` the seconds a 429 or 503 asked
    to wait, ``items`` a refused batch's invalid items (``{index, code, message}``).
    """

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: float | None = None,
        items: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.items = items

    @property
    def retryable(self) -> bool:
        """Worth another attempt of a call that is safe to repeat: no answer, a 5xx or a 429."""
        return self.status == 0 or self.status == 429 or self.status >= 500

    def __repr__(self) -> str:
        return f"OffloadError(status={self.status}, code={self.code!r}, message={self.message!r})"

    @classmethod
    def from_response(cls, response: httpx.Response) -> OffloadError:
        code = f"http_{response.status_code}"
        message = f"HTTP {response.status_code}"
        items: list[Any] | None = None
        try:
            body = json.loads(response.content)
            error = body.get("error") if isinstance(body, dict) else None
            if isinstance(error, dict):
                code = str(error.get("code", code))
                message = str(error.get("message", message))
                if isinstance(error.get("items"), list):
                    items = error["items"]
        except ValueError:
            if response.content:
                message = f"HTTP {response.status_code}: {response.text[:200]}"
        return cls(
            response.status_code, code, message, retry_after=_retry_after(response.headers.get("Retry-After")),
            items=items,
        )

    @classmethod
    def network(cls, cause: BaseException) -> OffloadError:
        return cls(0, "network_error", f"no answer: {cause}")


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        at = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, at.timestamp() - time.time())
