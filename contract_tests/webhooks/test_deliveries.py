"""Deliveries as Plaid makes them, beyond the three spec examples: other serialisations of the same
JSON, other products' webhooks and codes added later (one URL per Item, for all its products), large
bodies, out-of-order and concurrent deliveries. And bodies that are not JSON at all."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from contract_tests.webhooks.conftest import PlaidSide, assert_delivered, assert_refused
from contract_tests.webhooks.payloads import genuine_variants
from plaid_refresh.webhooks.signing import serialize_webhook

SERIALISATIONS: dict[str, Any] = {
    "compact": lambda p: json.dumps(p, separators=(",", ":")).encode(),
    "spaced": lambda p: json.dumps(p).encode(),
    "4-space indent": lambda p: json.dumps(p, indent=4).encode(),
    "sorted keys": lambda p: json.dumps(p, indent=2, sort_keys=True).encode(),
    "reversed keys": lambda p: json.dumps(dict(reversed(list(p.items()))), indent=2).encode(),
    "trailing newline": lambda p: serialize_webhook(p) + b"\n",
    "CRLF line ends": lambda p: serialize_webhook(p).replace(b"\n", b"\r\n"),
    "escaped unicode": lambda p: json.dumps({**p, "note": "café ✓"}, indent=2).encode(),
    "raw UTF-8": lambda p: json.dumps({**p, "note": "café ✓"}, indent=2, ensure_ascii=False).encode(),
    "tab indent": lambda p: json.dumps(p, indent="\t").encode(),
}


@pytest.mark.parametrize("form", sorted(SERIALISATIONS))
@pytest.mark.parametrize("code", ["SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE", "TRANSACTIONS_REMOVED"])
def test_accepts_any_serialisation_of_a_genuine_body(plaid: PlaidSide, form: str, code: str) -> None:
    """The signature covers the raw bytes: a receiver that re-serialises before hashing breaks here."""
    body: bytes = SERIALISATIONS[form](plaid.fresh_payload(code))
    assert_delivered(plaid.deliver(body), f"{code} serialised as {form}")


VARIANTS = genuine_variants()


@pytest.mark.parametrize("name", sorted(VARIANTS))
@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_acknowledges_other_genuine_webhooks(plaid: PlaidSide, name: str, environment: str) -> None:
    """Refusing a genuine webhook it does not handle counts against the receiver in Plaid's 90% rule,
    which then stops the Transactions webhooks too: acknowledge with 200."""
    payload = {**VARIANTS[name], "item_id": f"contract-{uuid.uuid4().hex}", "environment": environment}
    assert_delivered(plaid.send_signed(payload), f"{name} webhook ({environment})")


@pytest.mark.parametrize("name", ["AUTH/DEFAULT_UPDATE", "ITEM/ERROR", "a type added later"])
def test_rejects_forgeries_of_other_webhooks(plaid: PlaidSide, name: str) -> None:
    """Acknowledging other products must not mean skipping verification for them."""
    body = serialize_webhook({**VARIANTS[name], "item_id": f"contract-{uuid.uuid4().hex}"})
    other = plaid.keys.add()
    plaid.keys.withdraw(other)
    assert_refused(plaid.deliver(body, signer=other), f"a forged {name} webhook (unknown key)")
    assert_refused(plaid.post({}, body), f"an unsigned {name} webhook")


def test_accepts_a_large_webhook(plaid: PlaidSide) -> None:
    """Plaid bounds nothing it sends: 12,000 removed transaction ids (about 600 KB)."""
    ids = [f"{uuid.uuid4()}" for _ in range(12_000)]
    payload = plaid.fresh_payload("TRANSACTIONS_REMOVED", removed_transactions=ids)
    assert_delivered(plaid.send_signed(payload), "large TRANSACTIONS_REMOVED webhook")


def test_accepts_webhooks_out_of_order(plaid: PlaidSide) -> None:
    """Deliveries of one Item arrive in any order (retries, parallel senders): each is acknowledged."""
    item = f"contract-{uuid.uuid4().hex}"
    now = int(time.time())
    newer = serialize_webhook(plaid.fresh_payload("DEFAULT_UPDATE", item_id=item, new_transactions=7))
    older = serialize_webhook(plaid.fresh_payload("DEFAULT_UPDATE", item_id=item, new_transactions=3))
    removed = serialize_webhook(plaid.fresh_payload("TRANSACTIONS_REMOVED", item_id=item))
    assert_delivered(plaid.deliver(newer, iat=now), "the newer webhook")
    assert_delivered(plaid.deliver(removed, iat=now - 30), "a webhook signed earlier, arriving later")
    assert_delivered(plaid.deliver(older, iat=now - 60), "the older webhook, arriving last")


CONCURRENT = 24


def test_handles_concurrent_deliveries(plaid: PlaidSide) -> None:
    """24 deliveries at once (some the same body twice): every one answered 200 within Plaid's 10 s."""
    bodies = [plaid.fresh_body("SYNC_UPDATES_AVAILABLE") for _ in range(CONCURRENT // 2)]
    bodies += bodies  # each body twice, racing itself
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
        answers = list(pool.map(plaid.deliver, bodies))
    for index, answer in enumerate(answers):
        assert_delivered(answer, f"concurrent webhook {index}")
    assert time.monotonic() - started < 10.0


NOT_JSON: dict[str, bytes] = {
    "empty": b"",
    "text": b"hello",
    "truncated JSON": b'{"webhook_type": "TRANSACTIONS", "webhook_code": "DEFAULT_UPD',
    "a JSON array": b'[{"webhook_type": "TRANSACTIONS"}]',
    "a JSON string": b'"TRANSACTIONS"',
    "invalid UTF-8": b'{"webhook_type": "\xff\xfe"}',
    "form-encoded": b"webhook_type=TRANSACTIONS&webhook_code=DEFAULT_UPDATE",
    "a JSON object without webhook fields": b'{"hello": "world"}',
}


@pytest.mark.parametrize("name", sorted(NOT_JSON))
def test_refuses_a_signed_body_that_is_not_a_webhook(plaid: PlaidSide, name: str) -> None:
    """Signed with Plaid's key but not a webhook: not something to acknowledge (it would be lost); and the
    receiver stays up for the next genuine one."""
    body = NOT_JSON[name]
    assert_refused(plaid.deliver(body), f"a signed body that is {name}")
    assert_refused(plaid.post({}, body), f"an unsigned body that is {name}")
    assert_delivered(plaid.deliver(plaid.fresh_body()), f"a genuine webhook after {name}")
