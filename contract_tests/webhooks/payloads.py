"""Webhook payloads drawn from the spec: its examples, and hypothesis strategies built by
schemathesis from the webhook schemas (the spec's `webhooks` section, wrapped as operations)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import schemathesis
from hypothesis import strategies as st

from plaid_refresh.spec import load_spec, resolve


def _webhooks() -> dict[str, dict[str, Any]]:
    """webhook_code -> the webhook's requestBody, from the spec."""
    found = {}
    for webhook in load_spec()["webhooks"].values():
        body = webhook["post"]["requestBody"]
        schema = resolve(body["content"]["application/json"]["schema"])
        (code,) = schema["properties"]["webhook_code"]["enum"]
        found[code] = body
    return found


def codes() -> list[str]:
    return sorted(_webhooks())


def examples() -> dict[str, dict[str, Any]]:
    """webhook_code -> the spec's first example payload (a fresh copy)."""
    return {
        code: copy.deepcopy(next(iter(body["content"]["application/json"]["examples"].values()))["value"])
        for code, body in _webhooks().items()
    }


@cache
def _schema() -> Any:
    spec = load_spec()
    paths = {
        f"/{code}": {
            "post": {
                "operationId": code,
                "requestBody": body,
                "responses": {"200": {"description": "accepted"}},
            }
        }
        for code, body in _webhooks().items()
    }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "webhooks as operations", "version": spec["info"]["version"]},
        "paths": paths,
        "components": spec["components"],
    }
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict({}))


def strategy(code: str) -> st.SearchStrategy[dict[str, Any]]:
    """Payloads valid against the spec's schema for `code`."""
    operation = _schema()[f"/{code}"]["POST"]
    return operation.as_strategy().map(lambda case: case.body)  # type: ignore[no-any-return]


def _error(code: str = "ITEM_LOGIN_REQUIRED") -> dict[str, Any]:
    return {
        "error_type": "ITEM_ERROR",
        "error_code": code,
        "error_message": "the login details of this item have changed",
        "display_message": None,
        "request_id": "HNTDNrA8F1shFEW",
        "causes": [],
        "status": 400,
        "documentation_url": "https://plaid.com/docs/errors/item/#item_login_required",
        "suggested_action": None,
    }


def genuine_variants() -> dict[str, dict[str, Any]]:
    """Genuine webhooks the spec's three examples do not show: every one is something Plaid may send
    to a Transactions receiver (one URL per Item, for all its products), and must be answered 200.

    Sources: Plaid's webhook reference (other products' DEFAULT_UPDATE, ITEM webhooks, legacy codes);
    Plaid's versioning policy (new codes and fields are non-breaking); the official description
    (`error` is optional, counts are unbounded numbers)."""
    item = "wz666MBjYWTp2PDzzggYhM6oWWmBb"
    found: dict[str, dict[str, Any]] = {
        "AUTH/DEFAULT_UPDATE": {
            "webhook_type": "AUTH",
            "webhook_code": "DEFAULT_UPDATE",
            "item_id": item,
            "account_ids_with_new_numbers": ["f4ba44ce-f4e7-4d1d-b6bf-5a5b8bbb7b1b"],
            "account_ids_with_updated_numbers": {},
            "error": None,
            "environment": "production",
        },
        "HOLDINGS/DEFAULT_UPDATE": {
            "webhook_type": "HOLDINGS",
            "webhook_code": "DEFAULT_UPDATE",
            "item_id": item,
            "error": None,
            "new_holdings": 19,
            "updated_holdings": 0,
            "environment": "production",
        },
        "INVESTMENTS_TRANSACTIONS/DEFAULT_UPDATE": {
            "webhook_type": "INVESTMENTS_TRANSACTIONS",
            "webhook_code": "DEFAULT_UPDATE",
            "item_id": item,
            "error": None,
            "new_investments_transactions": 16,
            "canceled_investments_transactions": 0,
            "environment": "sandbox",
        },
        "LIABILITIES/DEFAULT_UPDATE": {
            "webhook_type": "LIABILITIES",
            "webhook_code": "DEFAULT_UPDATE",
            "item_id": item,
            "error": None,
            "account_ids_with_new_liabilities": [],
            "account_ids_with_updated_liabilities": {
                "BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp": ["past_amount_due"]
            },
            "environment": "production",
        },
        "IDENTITY/DEFAULT_UPDATE": {
            "webhook_type": "IDENTITY",
            "webhook_code": "DEFAULT_UPDATE",
            "item_id": item,
            "account_ids_with_updated_identity": {"BxBXxLj1m4HMXBm9WZZmCWVbPjX16EHwv99vp": ["ADDRESS"]},
            "error": None,
            "environment": "production",
        },
        "ITEM/ERROR": {
            "webhook_type": "ITEM",
            "webhook_code": "ERROR",
            "item_id": item,
            "error": _error(),
            "environment": "production",
        },
        "ITEM/PENDING_EXPIRATION": {
            "webhook_type": "ITEM",
            "webhook_code": "PENDING_EXPIRATION",
            "item_id": item,
            "consent_expiration_time": "2020-01-15T13:25:17.766Z",
            "environment": "sandbox",
        },
        "ITEM/WEBHOOK_UPDATE_ACKNOWLEDGED": {
            "webhook_type": "ITEM",
            "webhook_code": "WEBHOOK_UPDATE_ACKNOWLEDGED",
            "item_id": item,
            "new_webhook_url": "https://www.example.com/plaid/webhooks",
            "error": None,
            "environment": "production",
        },
        "TRANSACTIONS/INITIAL_UPDATE": {
            "webhook_type": "TRANSACTIONS",
            "webhook_code": "INITIAL_UPDATE",
            "item_id": item,
            "error": None,
            "new_transactions": 19,
            "environment": "production",
        },
        "TRANSACTIONS/HISTORICAL_UPDATE": {
            "webhook_type": "TRANSACTIONS",
            "webhook_code": "HISTORICAL_UPDATE",
            "item_id": item,
            "error": None,
            "new_transactions": 231,
            "environment": "production",
        },
        "TRANSACTIONS/a code added later": {
            "webhook_type": "TRANSACTIONS",
            "webhook_code": "RECURRING_TRANSACTIONS_UPDATE",
            "item_id": item,
            "account_ids": ["lPNjeW1nR6CDn5okmGQ6hEpMo4lLNoSrzqDje"],
            "environment": "production",
        },
        "a type added later": {
            "webhook_type": "SOMETHING_NEW",
            "webhook_code": "SOMETHING_HAPPENED",
            "item_id": item,
            "environment": "production",
        },
    }
    base = examples()
    found["DEFAULT_UPDATE without error"] = {k: v for k, v in base["DEFAULT_UPDATE"].items() if k != "error"}
    found["TRANSACTIONS_REMOVED without error"] = {
        k: v for k, v in base["TRANSACTIONS_REMOVED"].items() if k != "error"
    }
    found["DEFAULT_UPDATE with an Item error"] = {**base["DEFAULT_UPDATE"], "error": _error()}
    found["DEFAULT_UPDATE with a large count"] = {**base["DEFAULT_UPDATE"], "new_transactions": 2_500_000}
    found["SYNC_UPDATES_AVAILABLE with user_id and new fields"] = {
        **base["SYNC_UPDATES_AVAILABLE"],
        "user_id": "usr_8c3ZbDBYjaqUXZ",
        "added_later": {"nested": [1, 2.5, None, "ü"]},
    }
    return found
