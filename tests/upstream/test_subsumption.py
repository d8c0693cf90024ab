"""The plaid-python subsumption gate: every payload Plaid's published contract allows for a message this
project receives validates against this spec, parses in the generated client and in plaid_refresh, and
yields the right typed result; every request the client sends is one Plaid's contract accepts.

Plaid's contract is read from plaid-python's models (tests/upstream/plaid_python_contract.py). Bounded and
deterministic: PLAID_UPSTREAM_EXAMPLES examples per property (default 25), derandomized; raise it for a
longer search (docs/upstream.md).
"""

from __future__ import annotations

import json
import os
from typing import Any

import httpx
import plaid_refresh_client.models as generated
import pytest
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st

from contract_tests.client.harness import access_tokens, key_ids
from plaid_refresh import PlaidRefreshClient
from plaid_refresh.client.error_classes import error_class_for
from plaid_refresh.client.errors import PlaidErrorResponse
from plaid_refresh.schema_check import CompiledSchema
from plaid_refresh.spec import standalone_schema
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from plaid_refresh.webhooks.verification import OtherWebhook, PlaidKeyFetcher, WebhookVerifier
from tests.client.helpers import CLIENT_ID, SECRET, TOKEN, Script, sync_client
from tests.upstream.plaid_python_contract import RECEIVED, payloads, plaid_version
from tests.webhooks.conftest import CountingFetcher, FakeClock

EXAMPLES = int(os.environ.get("PLAID_UPSTREAM_EXAMPLES", "25"))
GATE = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    # No shrinking: Plaid-shaped payloads are large and shrinking them takes minutes; the failing
    # example is reported as found.
    phases=[Phase.explicit, Phase.generate],
)
WEBHOOKS = {
    "SYNC_UPDATES_AVAILABLE": "SyncUpdatesAvailableWebhook",
    "DEFAULT_UPDATE": "DefaultUpdateWebhook",
    "TRANSACTIONS_REMOVED": "TransactionsRemovedWebhook",
}
ERROR_STATUSES = [400, 401, 404, 409, 429, 500, 502, 503, 504, 520]


def ours(name: str) -> CompiledSchema:
    """This spec's schema of the same name (the names follow Plaid's)."""
    return CompiledSchema.of(standalone_schema({"$ref": f"#/components/schemas/{name}"}))


def assert_valid(name: str, payload: Any) -> None:
    errors = [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.validator}" for e in ours(name).iter_errors(payload)
    ]
    assert not errors, f"Plaid allows this {name}, this spec rejects it: {errors}"


def round_trips(name: str, payload: dict[str, Any]) -> None:
    """The generated client parses it and gives back the same JSON."""
    model = getattr(generated, name).from_dict(payload)
    assert model.to_dict() == payload


def json_safe(payload: Any) -> Any:
    return json.loads(json.dumps(payload))


def test_every_received_message_is_covered() -> None:
    covered = {
        "TransactionsRefreshResponse",
        "PlaidError",
        "WebhookVerificationKeyGetResponse",
        *WEBHOOKS.values(),
    }
    assert set(RECEIVED) == covered


@GATE
@given(payload=payloads("TransactionsRefreshResponse"))
def test_refresh_answers_plaid_allows_are_accepted(payload: dict[str, Any]) -> None:
    assert_valid("TransactionsRefreshResponse", payload)
    round_trips("TransactionsRefreshResponse", payload)
    result = sync_client(Script([httpx.Response(200, json=payload)])).refresh(TOKEN)
    assert result.request_id == payload["request_id"]


@GATE
@given(payload=payloads("PlaidError"), status=st.sampled_from(ERROR_STATUSES))
def test_error_objects_plaid_allows_raise_their_typed_exception(payload: Any, status: int) -> None:
    assume(payload is not None)  # Plaid's error type is nullable as a field; a null body is no error object
    assert_valid("PlaidError", payload)
    round_trips("PlaidError", payload)
    with pytest.raises(PlaidErrorResponse) as caught:
        sync_client(Script([httpx.Response(status, json=payload)]), retries=0).refresh(TOKEN)
    assert type(caught.value) is error_class_for(payload["error_type"], payload["error_code"])
    assert (caught.value.error_type, caught.value.error_code) == (
        payload["error_type"],
        payload["error_code"],
    )
    assert caught.value.status_code == status


def _verifier() -> tuple[WebhookSigner, WebhookVerifier]:
    clock = FakeClock()
    signer = WebhookSigner.generate(clock=clock)
    return signer, WebhookVerifier(CountingFetcher(signer), clock=clock)


SIGNER, VERIFIER = _verifier()


def verify(payload: dict[str, Any]) -> Any:
    body = serialize_webhook(payload)
    return VERIFIER.verify({"Plaid-Verification": SIGNER.sign(body)}, body)


@pytest.mark.parametrize("code", sorted(WEBHOOKS))
def test_transactions_webhooks_plaid_allows_parse_to_their_model(code: str) -> None:
    name = WEBHOOKS[code]
    # Plaid's description states TRANSACTIONS and the code in the fields' descriptions (allow-listed).
    pinned = payloads(name).map(lambda p: {**p, "webhook_type": "TRANSACTIONS", "webhook_code": code})

    @GATE
    @given(payload=pinned)
    def check(payload: dict[str, Any]) -> None:
        payload = json_safe(payload)
        assert_valid(name, payload)
        round_trips(name, payload)
        webhook = verify(payload)
        assert type(webhook) is getattr(generated, name)
        assert webhook.to_dict() == payload

    check()


@pytest.mark.parametrize("code", sorted(WEBHOOKS))
def test_any_webhook_plaid_allows_is_verified_never_rejected(code: str) -> None:
    name = WEBHOOKS[code]

    @GATE
    @given(payload=payloads(name))
    def check(payload: dict[str, Any]) -> None:
        payload = json_safe(payload)
        webhook = verify(payload)  # raises on a rejection
        if (payload["webhook_type"], payload["webhook_code"]) == ("TRANSACTIONS", code):
            assert type(webhook) is getattr(generated, name)
        else:
            assert isinstance(webhook, OtherWebhook)
            assert webhook.payload == payload

    check()


@GATE
@given(payload=payloads("WebhookVerificationKeyGetResponse"))
def test_verification_keys_plaid_allows_are_accepted(payload: dict[str, Any]) -> None:
    assert_valid("WebhookVerificationKeyGetResponse", payload)
    round_trips("WebhookVerificationKeyGetResponse", payload)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=payload))
    fetcher = PlaidKeyFetcher("http://plaid.test", CLIENT_ID, SECRET, transport=transport)
    try:
        assert fetcher(payload["key"]["kid"]).to_dict() == payload["key"]
    finally:
        fetcher.close()


@GATE
@given(token=access_tokens())
def test_every_refresh_request_the_client_sends_is_one_plaid_accepts(token: str) -> None:
    from plaid.model.transactions_refresh_request import TransactionsRefreshRequest

    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"request_id": "r"})

    with PlaidRefreshClient.sandbox(
        client_id=CLIENT_ID, secret=SECRET, transport=httpx.MockTransport(answer)
    ) as plaid:
        plaid.refresh(token)
    (request,) = sent
    TransactionsRefreshRequest(**json.loads(request.content))  # plaid-python checks types and validations
    assert request.headers["Plaid-Version"] == plaid_version()


@GATE
@given(key_id=key_ids())
def test_every_key_request_the_verifier_sends_is_one_plaid_accepts(key_id: str) -> None:
    from plaid.model.webhook_verification_key_get_request import WebhookVerificationKeyGetRequest

    sent: list[httpx.Request] = []
    key = {"alg": "ES256", "crv": "P-256", "kid": key_id, "kty": "EC", "use": "sig", "x": "x", "y": "y"}
    body = {"key": {**key, "created_at": 1, "expired_at": None}, "request_id": "r"}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=body)

    fetcher = PlaidKeyFetcher("http://plaid.test", CLIENT_ID, SECRET, transport=httpx.MockTransport(answer))
    try:
        fetcher(key_id)
    finally:
        fetcher.close()
    (request,) = sent
    WebhookVerificationKeyGetRequest(**json.loads(request.content))
    assert request.headers["Plaid-Version"] == plaid_version()
