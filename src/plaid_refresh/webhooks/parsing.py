"""Turn a verified webhook body into a typed result, by `(webhook_type, webhook_code)`.

One Item has one webhook URL for all its products, so a receiver gets every product's webhooks, and
`DEFAULT_UPDATE` alone is the code of six webhook types (TRANSACTIONS, AUTH, HOLDINGS, ...). The pairs
the spec describes (the three Transactions webhooks) parse into their generated models; any other
pair becomes an `OtherWebhook` carrying the raw payload. A receiver acknowledges those: rejecting a
genuine webhook counts toward Plaid's rule that stops delivery to a receiver rejecting over 90%.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, TypeAlias

import attrs
import plaid_refresh_client.models as models
from plaid_refresh_client.models import (
    DefaultUpdateWebhook,
    SyncUpdatesAvailableWebhook,
    TransactionsRemovedWebhook,
)

from plaid_refresh.schema_check import CompiledSchema
from plaid_refresh.spec import load_spec, resolve


@attrs.frozen
class OtherWebhook:
    """A verified webhook this toolkit has no typed model for: another product's (AUTH or HOLDINGS
    DEFAULT_UPDATE, ITEM ERROR, ...) or a Transactions code Plaid added later. `payload` is the body's
    JSON as received; acknowledge the webhook (200) even if you ignore it."""

    webhook_type: str
    webhook_code: str
    item_id: str | None
    payload: dict[str, Any] = attrs.field(repr=False)


TypedWebhook: TypeAlias = SyncUpdatesAvailableWebhook | DefaultUpdateWebhook | TransactionsRemovedWebhook
Webhook: TypeAlias = TypedWebhook | OtherWebhook


@attrs.frozen
class WebhookSchema:
    model: Any  # the generated model class, with from_dict
    validator: CompiledSchema


@cache
def webhook_schemas() -> dict[tuple[str, str], WebhookSchema]:
    """(webhook_type, webhook_code) -> (generated model, compiled validator), from the spec's webhooks."""
    found: dict[tuple[str, str], WebhookSchema] = {}
    for webhook in load_spec()["webhooks"].values():
        ref = webhook["post"]["requestBody"]["content"]["application/json"]["schema"]
        name = ref["$ref"].rsplit("/", 1)[-1]
        schema = resolve(ref)
        (webhook_type,) = resolve(schema["properties"]["webhook_type"])["enum"]
        (code,) = schema["properties"]["webhook_code"]["enum"]
        found[(webhook_type, code)] = WebhookSchema(getattr(models, name), CompiledSchema.of(schema))
    return found


def known_webhook(payload: dict[str, Any]) -> WebhookSchema | None:
    """The spec's schema for this payload's (webhook_type, webhook_code), or None."""
    key = (payload.get("webhook_type"), payload.get("webhook_code"))
    if not all(isinstance(part, str) for part in key):
        return None
    return webhook_schemas().get(key)  # type: ignore[arg-type]


def parse_payload(body: bytes, invalid: type[Exception]) -> Webhook:
    """The typed webhook for `body`; raises `invalid` for a body that is not a webhook at all, or that
    breaks Plaid's contract for a pair the spec describes."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise invalid("the body is not a JSON object")
    webhook_type, code = payload.get("webhook_type"), payload.get("webhook_code")
    if not isinstance(code, str) or not isinstance(webhook_type, str):
        raise invalid("the body lacks string webhook_type and webhook_code fields")
    known = known_webhook(payload)
    if known is None:
        item_id = payload.get("item_id")
        return OtherWebhook(
            webhook_type=webhook_type,
            webhook_code=code,
            item_id=item_id if isinstance(item_id, str) else None,
            payload=payload,
        )
    error = next(iter(sorted(known.validator.iter_errors(payload), key=lambda e: list(e.path))), None)
    if error is not None:
        where = "/".join(map(str, error.path)) or "(root)"
        problem = f"does not match the spec at {where}: {error.validator} failed"
        raise invalid(f"{webhook_type} {code} body {problem}")
    parsed: TypedWebhook = known.model.from_dict(payload)
    return parsed
