"""The retry loop around attempts, run by tenacity: when to stop, how long to wait, and replaying
the first failure so tenacity counts it. Which failures are retried is `retry.RetryPolicy`'s job."""

from __future__ import annotations

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


def wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    def _wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return policy.backoff(error, state.attempt_number)

    return _wait


def stop(
    policy: RetryPolicy, clock: Callable[[], float], deadline_at: float | None
) -> Callable[[RetryCallState], bool]:
    def _stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        return deadline_at is not None and clock() + state.upcoming_sleep >= deadline_at

    return _stop
