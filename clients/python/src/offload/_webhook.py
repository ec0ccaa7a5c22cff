from __future__ import annotations

import hashlib
import hmac


def verify_webhook(raw_body: bytes, signature_header: str | None, secret: str) -> bool:
    """Whether ``X-Offload-Signature`` (``sha256=<hex HMAC-SHA256 of the raw body>``) was made with ``secret``.
    Give the body's bytes exactly as received, before any JSON parsing."""
    if not signature_header or not signature_header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature_header[len("sha256="):].strip().lower())
