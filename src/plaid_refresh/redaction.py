"""One place that decides what is secret, so logs, reprs and exceptions all hide the same things."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"plaid-client-id", "plaid-secret", "authorization", "plaid-verification"})
SECRET_FIELDS = frozenset({"client_id", "secret", "access_token"})


def redact_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header pairs as a dict safe to log; names compared case-insensitively."""
    return {name: (REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers}


def redact_fields(body: Any) -> Any:
    """A JSON value safe to log: secret fields are masked at any depth."""
    if isinstance(body, Mapping):
        return {k: (REDACTED if k in SECRET_FIELDS else redact_fields(v)) for k, v in body.items()}
    if isinstance(body, list):
        return [redact_fields(v) for v in body]
    return body


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each non-empty secret replaced, longest first."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
