"""An optional, bounded de-duplication helper for receivers: has this exact body been seen lately?

Verification already refuses a webhook whose `iat` is outside [now - max_age, now + max_future_skew],
so a captured webhook can only be replayed within that window; `ReplayGuard` remembers the SHA-256
of every body it is shown for as long as that window lasts (and at most `max_entries` of them),
which closes it: a replay inside the window is reported as a duplicate.

Plaid delivers webhooks at least once: a webhook not answered 2xx in time is sent again, signed
again (a fresh `iat`), possibly minutes or hours later. A redelivery inside the window is caught
here too; one after it is not, and only the receiver's own records can tell (a unique key on what
the webhook changes, or on the body hash, in its database). Either way, answer a duplicate 2xx
(Plaid stops resending) and do not act on it twice.

    guard = ReplayGuard()
    webhook = verifier.verify(headers, body)
    if not guard.first_time(body):
        return 200  # duplicate: acknowledged, not processed
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from plaid_refresh.webhooks.verification import DEFAULT_MAX_AGE, DEFAULT_MAX_FUTURE_SKEW

DEFAULT_WINDOW = DEFAULT_MAX_AGE + DEFAULT_MAX_FUTURE_SKEW
DEFAULT_MAX_ENTRIES = 100_000
"""~10 MB at most; Plaid sends a handful of webhooks per Item per day."""


class ReplayGuard:
    """Thread-safe memory of the bodies seen in the last `window` seconds (at most `max_entries`;
    the oldest are forgotten first). Use the verifier's max_age + max_future_skew as the window."""

    def __init__(
        self,
        window: float = DEFAULT_WINDOW,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if (
            not window > 0
            or isinstance(max_entries, bool)
            or not isinstance(max_entries, int)
            or max_entries < 1
        ):
            raise ValueError("window must be > 0 seconds and max_entries an int >= 1")
        self._window = window
        self._max_entries = max_entries
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # digest -> when it stops mattering
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def __repr__(self) -> str:
        return f"ReplayGuard(window={self._window:g}, entries={len(self._seen)})"

    def first_time(self, body: bytes) -> bool:
        """True the first time these exact bytes are shown within the window, False for a repeat."""
        digest = hashlib.sha256(body).digest()
        now = self._clock()
        with self._lock:
            while self._seen:
                oldest, until = next(iter(self._seen.items()))
                if until > now:
                    break
                del self._seen[oldest]
            if digest in self._seen:
                return False
            self._seen[digest] = now + self._window
            if len(self._seen) > self._max_entries:
                self._seen.popitem(last=False)
            return True
