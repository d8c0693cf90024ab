"""Genuine webhooks that Plaid's contract allows are never rejected (issue 11): other products'
webhooks come back as OtherWebhook, and the Transactions webhooks carry no bound Plaid does not state.
Real ES256 signatures through WebhookVerifier, and the example receiver over real HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from plaid_refresh_client.models import DefaultUpdateWebhook, TransactionsRemovedWebhook

from contract_tests.webhooks import other_products
from contract_tests.webhooks.keyserver import default_credentials, key_server_app
from contract_tests.webhooks.loopback import serve
from examples.webhook_receiver import build_receiver
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from plaid_refresh.webhooks.verification import InvalidPayload, OtherWebhook, WebhookVerifier
from tests.webhooks.conftest import example_payload


def signed(signer: WebhookSigner, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    body = serialize_webhook(payload)
    return {"Plaid-Verification": signer.sign(body)}, body


@pytest.mark.parametrize("name", other_products.names())
def test_other_products_webhooks_are_verified_and_handed_over(
    verifier: WebhookVerifier, signer: WebhookSigner, name: str
) -> None:
    payload = other_products.payload(name)
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, OtherWebhook)
    assert (webhook.webhook_type, webhook.webhook_code) == tuple(name.split("/"))
    assert webhook.item_id == payload["item_id"]
    assert webhook.payload == payload


def test_the_same_code_of_another_type_is_not_judged_by_the_transactions_schema(
    verifier: WebhookVerifier, signer: WebhookSigner
) -> None:
    # DEFAULT_UPDATE is the code of six webhook types; only TRANSACTIONS has new_transactions.
    auth = verifier.verify(*signed(signer, other_products.payload("AUTH/DEFAULT_UPDATE")))
    transactions = verifier.verify(*signed(signer, example_payload("DEFAULT_UPDATE")))
    assert isinstance(auth, OtherWebhook)
    assert isinstance(transactions, DefaultUpdateWebhook)


@pytest.mark.parametrize("code", ["DEFAULT_UPDATE", "TRANSACTIONS_REMOVED"])
def test_a_webhook_without_an_error_key_is_accepted(
    verifier: WebhookVerifier, signer: WebhookSigner, code: str
) -> None:
    payload = example_payload(code)
    del payload["error"]
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, DefaultUpdateWebhook | TransactionsRemovedWebhook)
    assert webhook.to_dict() == payload


def test_a_removal_of_more_than_10000_transactions_is_accepted(
    verifier: WebhookVerifier, signer: WebhookSigner
) -> None:
    removed = [f"removed-transaction-{n:06d}-{'x' * 300}" for n in range(12_000)]
    payload = {**example_payload("TRANSACTIONS_REMOVED"), "removed_transactions": removed}
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, TransactionsRemovedWebhook)
    assert webhook.removed_transactions == removed


@pytest.mark.parametrize("count", [2_000_000, 10**12, 2.5])
def test_new_transactions_has_no_bound(
    verifier: WebhookVerifier, signer: WebhookSigner, count: float
) -> None:
    payload = {**example_payload("DEFAULT_UPDATE"), "new_transactions": count}
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, DefaultUpdateWebhook)
    assert webhook.new_transactions == count


def test_a_transactions_webhook_that_breaks_plaids_contract_is_still_invalid(
    verifier: WebhookVerifier, signer: WebhookSigner
) -> None:
    # Receive liberally, but a required field of a described pair missing is not a Plaid webhook.
    payload = example_payload("DEFAULT_UPDATE")
    del payload["new_transactions"]
    with pytest.raises(InvalidPayload, match="TRANSACTIONS DEFAULT_UPDATE"):
        verifier.verify(*signed(signer, payload))


def test_the_example_receiver_acknowledges_what_it_does_not_handle() -> None:
    signer = WebhookSigner.generate()
    client_id, secret = default_credentials()
    _, key_app = key_server_app(signer, client_id, secret)
    with serve(key_app) as key_url:
        receiver = build_receiver(key_url, client_id, secret)
        with serve(receiver) as url, httpx.Client(timeout=10) as http:
            for name in other_products.names():
                headers, body = signed(signer, other_products.payload(name))
                answer = http.post(url, content=body, headers=headers)
                assert (answer.status_code, answer.json()) == (200, {"status": "not handled"}), name
            payload = example_payload("DEFAULT_UPDATE")
            del payload["error"]
            headers, body = signed(signer, {**payload, "new_transactions": 2_000_000})
            answer = http.post(url, content=body, headers=headers)
            assert (answer.status_code, answer.json()) == (200, {"status": "accepted"})
    kinds = [(w.webhook_type, w.webhook_code) for w in receiver.received if isinstance(w, OtherWebhook)]
    assert sorted(f"{t}/{c}" for t, c in kinds) == other_products.names()
