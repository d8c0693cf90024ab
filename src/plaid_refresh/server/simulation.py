"""What a refresh "finds": deterministic simulated transaction changes, and the webhooks they fire.

A `dynamic` Item (like Plaid's user_transactions_dynamic) finds changes on every refresh; a `static`
one (like user_good) never does. The n-th refresh of an Item always finds the same ids, so tests and
restarts with --db are reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Any

import attrs

from plaid_refresh.server.items import Item

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def transaction_id(item_id: str, seq: int, index: int) -> str:
    """A 37-character alphanumeric id, like Plaid's, fixed by (item, refresh number, index)."""
    number = int.from_bytes(hashlib.sha256(f"{item_id}:{seq}:{index}".encode()).digest(), "big")
    chars = []
    for _ in range(37):
        number, rest = divmod(number, 62)
        chars.append(_ALPHABET[rest])
    return "".join(chars)


@attrs.frozen
class Changes:
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.added or self.modified or self.removed)


NO_CHANGES = Changes()


def simulate(item: Item, seq: int) -> Changes:
    """The changes found by the `seq`-th (1-based) refresh of `item`.

    Dynamic Items: refresh n adds 1 + n % 3 transactions; from the second refresh on it modifies the
    first transaction of the previous refresh, and every third refresh removes the last one of it."""
    if item.changes != "dynamic":
        return NO_CHANGES
    added = tuple(transaction_id(item.item_id, seq, i) for i in range(1 + seq % 3))
    if seq == 1:
        return Changes(added=added)
    previous_count = 1 + (seq - 1) % 3
    modified: tuple[str, ...] = (transaction_id(item.item_id, seq - 1, 0),)
    removed = (transaction_id(item.item_id, seq - 1, previous_count - 1),) if seq % 3 == 0 else ()
    if removed == modified:
        modified = ()
    return Changes(added=added, modified=modified, removed=removed)


def webhook_payloads(item: Item, changes: Changes, environment: str) -> list[dict[str, Any]]:
    """The webhooks Plaid fires after a refresh with these changes, shaped as the spec's webhook schemas."""
    if not changes.any:
        return []
    common = {"webhook_type": "TRANSACTIONS", "item_id": item.item_id, "environment": environment}
    payloads: list[dict[str, Any]] = [
        {
            **common,
            "webhook_code": "SYNC_UPDATES_AVAILABLE",
            "initial_update_complete": True,
            "historical_update_complete": True,
        }
    ]
    if changes.added:
        payloads.append(
            {
                **common,
                "webhook_code": "DEFAULT_UPDATE",
                "new_transactions": len(changes.added),
                "error": None,
            }
        )
    if changes.removed:
        payloads.append(
            {
                **common,
                "webhook_code": "TRANSACTIONS_REMOVED",
                "removed_transactions": list(changes.removed),
                "error": None,
            }
        )
    return payloads
