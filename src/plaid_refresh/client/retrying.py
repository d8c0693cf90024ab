"""The retry loop around attempts, run by tenacity: when to stop, how long to wait, and replaying
the first failure so tenacity counts it. Which failures are retried is `retry.RetryPolicy`'s job."""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from plaid_refresh.client.errors import PlaidError
from plaid_refresh.client.retry import RetryPolicy

if TYPE_CHECKING:
    from tenacity import RetryCallState


def replay_first(first: PlaidError, attempt: Callable[[], Any]) -> Callable[[], Any]:
    """`attempt`, except that its first run re-raises the failure the call already had: tenacity
    then counts, stops, waits and logs it as attempt 1, exactly as if it had made it."""
    pending = [first]

    def run() -> Any:
        if pending:
            raise pending.pop()
        return attempt()

    return run


def replay_first_async(
    first: PlaidError, attempt: Callable[[], Awaitable[Any]]
) -> Callable[[], Awaitable[Any]]:
    """The async twin of `replay_first`."""
    pending = [first]

    async def run() -> Any:
        if pending:
            raise pending.pop()
        return await attempt()

    return run


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP-date), or None when absent
    or unreadable. A date in the past means 0."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"[0-9]{1,10}", value):
        return float(value)
    if len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None  # an HTTP-date is always GMT; a date without a zone is not one
    seconds = when.timestamp() - now()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    """The policy's backoff, or the server's Retry-After when it sent one (and the policy honours it):
    `stop` then ends the retries if that wait would pass the deadline or the retry budget."""

    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if policy.honour_retry_after and isinstance(retry_after, float):
            return retry_after
        return policy.backoff(error, state.attempt_number)

    return _wait


def stop(
    policy: RetryPolicy, clock: Callable[[], float], deadline_at: float | None
) -> Callable[[RetryCallState], bool]:
    def _stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        if policy.retry_budget is not None and state.idle_for + state.upcoming_sleep > policy.retry_budget:
            return True
        return deadline_at is not None and clock() + state.upcoming_sleep >= deadline_at

    return _stop
