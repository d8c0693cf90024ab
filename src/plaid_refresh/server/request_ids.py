"""Plaid-style request ids: 15 case-sensitive alphanumerics, like Plaid's `1vwmF5TBQwiqfwP`.

Seven random characters per process (or per server), then an 8-digit hex counter: unique within a run,
cheap to make on the hot path, and easy to follow in the access log.
"""

from __future__ import annotations

import itertools
import secrets
import string

_ALNUM = string.ascii_letters + string.digits


class RequestIds:
    """`next_id()` hands out a new request id on every call."""

    def __init__(self) -> None:
        self._prefix = "".join(secrets.choice(_ALNUM) for _ in range(7))
        self._counter = itertools.count(1)

    def next_id(self) -> str:
        return f"{self._prefix}{next(self._counter):08x}"
