"""The per-call deadline: when it falls, how much is left, and each attempt's timeouts capped by it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from plaid_refresh.client.errors import PlaidTimeout

if TYPE_CHECKING:
    from httpx._client import UseClientDefault


def longest_phase(timeout: httpx.Timeout) -> float:
    """The longest configured phase (a phase without a timeout counts as endless)."""
    phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
    return max(float("inf") if p is None else p for p in phases)


def attempt_timeout(
    timeout: httpx.Timeout, longest: float, remaining: float | None
) -> httpx.Timeout | UseClientDefault:
    """The configured phases, each capped by the time left before the deadline (the pool's own
    timeout, which is the configured one, while the deadline is further away than every phase)."""
    if remaining is None or remaining >= longest:
        return httpx.USE_CLIENT_DEFAULT
    cap = max(remaining, 0.001)
    t = timeout
    return httpx.Timeout(
        connect=min(t.connect or cap, cap),
        read=min(t.read or cap, cap),
        write=min(t.write or cap, cap),
        pool=min(t.pool or cap, cap),
    )


def deadline_error(path: str, deadline: float | None) -> PlaidTimeout:
    return PlaidTimeout(f"POST {path}: the per-call deadline of {deadline:g}s passed", phase="deadline")
