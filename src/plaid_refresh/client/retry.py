"""Which failures are retried, and how long to wait between attempts (tenacity does the looping).

Retried by default:
- connection failures (the request never reached the server, or the connection broke): refresh is
  safe to repeat; at worst Plaid runs one more extraction;
- connect timeouts (nothing was sent);
- a Plaid error decided by its HTTP status and `error_type`, never by a list of known codes (Plaid adds
  codes, and may replace INTERNAL_SERVER_ERROR by a more specific one, without notice): an API_ERROR
  or RATE_LIMIT_EXCEEDED at 429, 500, 502, 503 or 504 is retried, unless its code is in the short
  deny-list `never_retry_codes` (CREDITS_EXHAUSTED: a used-up allowance does not come back in
  seconds). Rate limits are per-minute windows, so a wait of seconds can succeed; a 429 uses a longer
  backoff;
- 502/503/504 from a gateway without a Plaid error body.

Not retried by default:
- read timeouts: the server already had the request for the whole read timeout (90 s by default);
  re-sending doubles the load and the rate-limit budget spent, and the deadline would cut it short
  anyway. Turn on with `retry_read_timeouts=True`;
- pool timeouts: the caller runs more concurrent calls than the pool holds; retrying adds load;
- every other Plaid error (a 400 whatever its body; an error_type that is not known to be transient,
  such as ITEM_ERROR or a type Plaid adds later), malformed answers and unknown statuses: repeating
  cannot fix them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, replace

from plaid_refresh.client.error_classes import RateLimitError
from plaid_refresh.client.errors import (
    PlaidConfigurationError,
    PlaidConnectionError,
    PlaidError,
    PlaidErrorResponse,
    PlaidProtocolError,
    PlaidTimeout,
)

DEFAULT_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""A Plaid error is retried only at one of these statuses: a 400 is never retried, whatever its body."""
DEFAULT_RETRY_ERROR_TYPES = frozenset({"API_ERROR", "RATE_LIMIT_EXCEEDED"})
"""The error types Plaid documents as transient (values of the generated KnownErrorType enum)."""
DEFAULT_NEVER_RETRY_CODES = frozenset({"CREDITS_EXHAUSTED"})
"""Transient types whose code says waiting seconds cannot help."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter. `RetryPolicy.disabled()` turns them off.

    Attempt n (n >= 1) that failed waits `min(initial * 2**(n-1), max) + uniform(0, jitter)` seconds,
    rate-limit answers use the `rate_limit_*` schedule; a Retry-After header replaces the schedule.
    The per-call deadline and `retry_budget` bound the total.
    """

    max_attempts: int = 4
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    backoff_jitter: float = 0.5
    rate_limit_backoff_initial: float = 2.0
    rate_limit_backoff_max: float = 30.0
    rate_limit_backoff_jitter: float = 2.0
    retry_statuses: frozenset[int] = DEFAULT_RETRY_STATUSES
    retry_error_types: frozenset[str] = DEFAULT_RETRY_ERROR_TYPES
    never_retry_codes: frozenset[str] = DEFAULT_NEVER_RETRY_CODES
    retry_gateway_statuses: frozenset[int] = frozenset({502, 503, 504})
    retry_connection_errors: bool = True
    retry_connect_timeouts: bool = True
    retry_read_timeouts: bool = False
    retry_budget: float | None = 30.0
    """Most seconds one call spends waiting between attempts; a wait that would pass it ends the
    retries (None: only max_attempts and the deadline bound them)."""
    honour_retry_after: bool = True
    """Wait what a retried answer's Retry-After header asks instead of the backoff (the deadline
    and `retry_budget` still bound it: a longer ask ends the retries at once)."""
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise PlaidConfigurationError("max_attempts must be an int")
        if not 1 <= self.max_attempts <= 20:
            raise PlaidConfigurationError("max_attempts must be between 1 (no retries) and 20")
        for name in ("backoff_initial", "backoff_max", "backoff_jitter", "rate_limit_backoff_initial",
                     "rate_limit_backoff_max", "rate_limit_backoff_jitter"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise PlaidConfigurationError(f"{name} must be a finite number of seconds >= 0")
        budget = self.retry_budget
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, int | float) or not budget >= 0
        ):
            raise PlaidConfigurationError("retry_budget must be a number of seconds >= 0, or None")

    @classmethod
    def disabled(cls) -> RetryPolicy:
        return cls(max_attempts=1)

    @classmethod
    def coerce(cls, retries: RetryPolicy | int | None) -> RetryPolicy:
        """`retries=N` means N retries (N+1 attempts) with the default backoff; 0: none; None: default."""
        if retries is None:
            return cls()
        if isinstance(retries, RetryPolicy):
            return retries
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise PlaidConfigurationError("retries must be a RetryPolicy or a number of retries >= 0")
        return replace(cls(), max_attempts=retries + 1)

    def should_retry(self, error: BaseException) -> bool:
        if isinstance(error, PlaidErrorResponse):
            return (
                error.status_code in self.retry_statuses
                and error.error_type in self.retry_error_types
                and error.error_code not in self.never_retry_codes
            )
        if isinstance(error, PlaidTimeout):
            if error.phase == "connect":
                return self.retry_connect_timeouts
            if error.phase == "read":
                return self.retry_read_timeouts
            return False  # pool (local congestion), deadline (time is up)
        if isinstance(error, PlaidConnectionError):
            return self.retry_connection_errors and error.phase != "decode"
        if isinstance(error, PlaidProtocolError):
            return (
                error.status_code in self.retry_gateway_statuses and error.model is None  # not a Plaid error
            )
        return False

    def backoff(self, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if isinstance(error, RateLimitError) or (
            isinstance(error, PlaidErrorResponse) and error.status_code == 429
        ):
            initial, cap, jitter = (
                self.rate_limit_backoff_initial,
                self.rate_limit_backoff_max,
                self.rate_limit_backoff_jitter,
            )
        else:
            initial, cap, jitter = self.backoff_initial, self.backoff_max, self.backoff_jitter
        base: float = min(initial * 2.0 ** max(attempt - 1, 0), cap)
        return base + self.rng.uniform(0.0, jitter)


def is_plaid_error(error: BaseException) -> bool:
    return isinstance(error, PlaidError)
