"""TRANSACTIONS_REFRESH_LIMIT as Plaid documents it: a sliding one-minute window per Item and per client."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

WINDOW_SECONDS = 60.0


class SlidingWindowLimiter:
    """At most `per_item` calls per Item and `per_client` calls per client in any WINDOW_SECONDS.

    A call over either limit is refused and not counted, so a client that backs off recovers once
    its oldest counted call leaves the window. `clock` is injectable so tests never sleep."""

    def __init__(self, per_item: int, per_client: int, clock: Callable[[], float]) -> None:
        self.per_item = per_item
        self.per_client = per_client
        self._clock = clock
        self._items: dict[str, deque[float]] = {}
        self._clients: dict[str, deque[float]] = {}

    def prepare(self, client_ids: Iterable[str], item_ids: Iterable[str]) -> None:
        """Make the windows of these clients and Items now, at start-up, so that `gc.freeze()` (serving.serve)
        takes them out of the collector's reach: each window holds every call of its last minute, and a full
        collection walked every element of every window made after start-up."""
        for client_id in client_ids:
            self._clients.setdefault(client_id, deque())
        for item_id in item_ids:
            self._items.setdefault(item_id, deque())

    def allow(self, client_id: str, item_id: str) -> bool:
        now = self._clock()
        item_calls = self._items.get(item_id)
        if item_calls is None:
            item_calls = self._items[item_id] = deque()
        client_calls = self._clients.get(client_id)
        if client_calls is None:
            client_calls = self._clients[client_id] = deque()
        horizon = now - WINDOW_SECONDS  # drop calls that left the window
        while item_calls and item_calls[0] <= horizon:
            item_calls.popleft()
        while client_calls and client_calls[0] <= horizon:
            client_calls.popleft()
        if len(item_calls) >= self.per_item or len(client_calls) >= self.per_client:
            return False
        item_calls.append(now)
        client_calls.append(now)
        return True
