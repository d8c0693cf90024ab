"""Genuine webhooks of other products and codes, shaped as Plaid documents them. One Item has one
webhook URL for all its products, so a Transactions receiver gets these too and must acknowledge them
(2xx): rejections count toward Plaid's rule that stops delivery to a receiver rejecting over 90%."""

from __future__ import annotations

import copy
from typing import Any

_ITEM_LOGIN_REQUIRED = {
    "error_type": "ITEM_ERROR",
    "error_code": "ITEM_LOGIN_REQUIRED",
    "error_message": "the login details of this item have changed",
    "display_message": "Your login details have changed. Please log in again.",
    "request_id": "HNTDNrA8F1shFEW",
    "causes": [],
    "status": 400,
    "documentation_url": "https://plaid.com/docs/errors/item/#item_login_required",
    "suggested_action": None,
}

_PAYLOADS: dict[str, dict[str, Any]] = {
    "AUTH/DEFAULT_UPDATE": {
        "webhook_type": "AUTH",
        "webhook_code": "DEFAULT_UPDATE",
        "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
        "account_ids_with_updated_auth": {"BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp": ["ACCOUNT_NUMBER"]},
        "error": None,
        "environment": "production",
    },
    "HOLDINGS/DEFAULT_UPDATE": {
        "webhook_type": "HOLDINGS",
        "webhook_code": "DEFAULT_UPDATE",
        "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
        "new_holdings": 19,
        "updated_holdings": 0,
        "error": None,
        "environment": "production",
    },
    "ITEM/ERROR": {
        "webhook_type": "ITEM",
        "webhook_code": "ERROR",
        "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
        "error": _ITEM_LOGIN_REQUIRED,
        "environment": "production",
    },
    "TRANSACTIONS/RECURRING_TRANSACTIONS_UPDATE": {
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "RECURRING_TRANSACTIONS_UPDATE",
        "item_id": "wz666MBjYWTp2PDzzggYhM6oWWmBb",
        "account_ids": ["lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje"],
        "environment": "production",
    },
}


def names() -> list[str]:
    return sorted(_PAYLOADS)


def payload(name: str) -> dict[str, Any]:
    """A fresh copy of the webhook named `TYPE/CODE`."""
    return copy.deepcopy(_PAYLOADS[name])
