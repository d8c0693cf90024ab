"""Plaid-style request ids: 15 case-sensitive alphanumerics, like Plaid's `1vwmF5TBQwiqfwP`.

Seven random characters per process (or per server), then an 8-digit hex counter: unique within a run,
cheap to make on the hot path, and easy to follow in the access log.
"""

from __future__ import annotations

import itertools
import secrets
import string
from collections.abc import Iterator

_ALNUM = string.ascii_letters + string.digits


class RequestIds:
    """`next_id()` hands out a new request id on every call; so does `next()` on the iterator `iter()` gives,
    without running any Python code (the server's hot path)."""

    def __init__(self) -> None:
        prefix = "".join(secrets.choice(_ALNUM) for _ in range(7))  # alphanumerics: never a % directive
        self._ids: Iterator[str] = map(f"{prefix}%08x".__mod__, itertools.count(1))

    def __iter__(self) -> Iterator[str]:
        return self._ids

    def next_id(self) -> str:
        return next(self._ids)
