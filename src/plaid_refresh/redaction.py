"""One place that decides what is secret, so logs, reprs and exceptions all hide the same things.

The masking rule (`scrub`): every occurrence of every secret is replaced by `[REDACTED]` in one
left-to-right pass, the longest secret first where several start at the same place; the marker is
never scanned again, and every other character is kept as it was. So no secret survives, and text
that holds no secret comes back unchanged (tests/test_redaction.py checks both with hypothesis).
A value that is too short would occur by chance in ordinary text, and masking it there would corrupt
that text: the client refuses credentials shorter than MIN_CREDENTIAL_CHARS (Plaid's are 24 and 30).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

REDACTED = "[REDACTED]"
SECRET_HEADERS = frozenset({"plaid-client-id", "plaid-secret", "authorization", "plaid-verification"})
SECRET_FIELDS = frozenset({"client_id", "secret", "access_token"})
MIN_CREDENTIAL_CHARS = 8


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


@lru_cache(maxsize=64)
def _pattern(secrets: tuple[str, ...]) -> re.Pattern[str]:
    # Alternatives are tried in order at each position: longest first.
    return re.compile("|".join(re.escape(s) for s in sorted(secrets, key=len, reverse=True)))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each non-empty secret replaced by REDACTED (the rule above)."""
    present = tuple(sorted({s for s in secrets if s and s in text}))
    if not present:
        return text
    return _pattern(present).sub(REDACTED, text)
