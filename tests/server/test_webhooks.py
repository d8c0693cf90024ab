"""Webhooks computed after a refresh reach the sink spec-valid; the verification key endpoint."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import jwt
import pytest

from plaid_refresh.server import TOKEN_TRANSACTIONS_DYNAMIC, TOKEN_USER_GOOD, Item, ServerConfig
from plaid_refresh.server.items import Account
from plaid_refresh.spec import load_spec, resolve
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from tests.server.conftest import HEADERS, Serve, assert_plaid_error, schema_validator

REFRESH = "/transactions/refresh"
KEY_GET = "/webhook_verification_key/get"
HOOK = "http://127.0.0.1:9/hook"


def _webhook_validators() -> dict[str, Any]:
    """webhook_code -> validator of the spec's webhook request body schema."""
    validators = {}
    for webhook in load_spec()["webhooks"].values():
        schema_ref = webhook["post"]["requestBody"]["content"]["application/json"]["schema"]
        name = schema_ref["$ref"].rsplit("/", 1)[-1]
        code = resolve(schema_ref)["properties"]["webhook_code"]["enum"][0]
        validators[code] = schema_validator(name)
    return validators


WEBHOOKS = _webhook_validators()


class Sink:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.event = threading.Event()

    def __call__(self, url: str, payload: dict[str, Any]) -> None:
        self.calls.append((url, payload))
        self.event.set()


def _items() -> list[Item]:
    accounts = (Account("a", "depository", "checking"),)
    return [
        Item(
            "access-sandbox-hooked-dynamic",
            "hooked-dynamic",
            "ins_109508",
            accounts,
            webhook=HOOK,
            changes="dynamic",
        ),
        Item("access-sandbox-hooked-static", "hooked-static", "ins_109508", accounts, webhook=HOOK),
    ]


def test_sink_receives_spec_valid_payloads(serve: Serve) -> None:
    sink = Sink()
    config = ServerConfig(rate_limit=False)
    with serve(config, webhook_sink=sink, items=_items()) as (url, app), httpx.Client(base_url=url) as http:
        for _ in range(3):
            assert http.post(
                REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-hooked-dynamic"}
            ).is_success
        # Static Items and Items without a webhook URL fire nothing.
        assert http.post(
            REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-hooked-static"}
        ).is_success
        assert http.post(
            REFRESH, headers=HEADERS, json={"access_token": TOKEN_TRANSACTIONS_DYNAMIC}
        ).is_success
        history = app.store.history("hooked-dynamic")
    codes = [payload["webhook_code"] for _, payload in sink.calls]
    # refresh 1 and 2 add; refresh 3 adds and removes.
    assert codes == [
        "SYNC_UPDATES_AVAILABLE",
        "DEFAULT_UPDATE",
        "SYNC_UPDATES_AVAILABLE",
        "DEFAULT_UPDATE",
        "SYNC_UPDATES_AVAILABLE",
        "DEFAULT_UPDATE",
        "TRANSACTIONS_REMOVED",
    ]
    for target, payload in sink.calls:
        assert target == HOOK
        WEBHOOKS[payload["webhook_code"]].validate(payload)
        assert payload["item_id"] == "hooked-dynamic"
        assert payload["environment"] == "sandbox"
        serialize_webhook(payload)  # serialisable as the outbox will send it
    default_updates = [p for _, p in sink.calls if p["webhook_code"] == "DEFAULT_UPDATE"]
    assert [p["new_transactions"] for p in default_updates] == [len(r.added) for r in history]
    assert all(p["error"] is None for p in default_updates)
    [removed] = [p for _, p in sink.calls if p["webhook_code"] == "TRANSACTIONS_REMOVED"]
    assert removed["removed_transactions"] == list(history[2].removed)


def test_a_failing_sink_never_fails_the_refresh(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    def broken(url: str, payload: dict[str, Any]) -> None:
        raise ConnectionError("outbox is down")

    with serve(webhook_sink=broken, items=_items()) as (url, _), httpx.Client(base_url=url) as http:
        response = http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-hooked-dynamic"})
        assert response.status_code == 200
    assert "outbox is down" in caplog.text


def test_verification_key_get_serves_the_signers_public_key(serve: Serve) -> None:
    signer = WebhookSigner.generate(key_id="key-1")
    with serve(signer=signer) as (url, _), httpx.Client(base_url=url) as http:
        response = http.post(KEY_GET, headers=HEADERS, json={"key_id": "key-1"})
        assert response.status_code == 200
        body = response.json()
        schema_validator("WebhookVerificationKeyGetResponse").validate(body)
        assert body["key"] == signer.public_jwk()
        # A receiver can verify a signature with the served key.
        token = signer.sign(b"{}")
        public = jwt.PyJWK(body["key"]).key
        assert jwt.decode(token, public, algorithms=["ES256"])["request_body_sha256"]
        unknown = http.post(KEY_GET, headers=HEADERS, json={"key_id": "key-2"})
        assert (
            assert_plaid_error(unknown, 400, "INVALID_WEBHOOK_VERIFICATION_KEY_ID")["error_type"]
            == "INVALID_INPUT"
        )
        assert_plaid_error(
            http.post(KEY_GET, headers={**HEADERS, "PLAID-SECRET": "x"}, json={"key_id": "key-1"}),
            400,
            "INVALID_API_KEYS",
        )
        assert_plaid_error(
            http.post(KEY_GET, headers=HEADERS, json={"key_id": "key-1", "x": 1}), 400, "UNKNOWN_FIELDS"
        )


def test_a_key_is_generated_by_default(client: httpx.Client, shared_server: tuple[str, Any]) -> None:
    key_id = shared_server[1].signer.key_id
    assert client.post(KEY_GET, headers=HEADERS, json={"key_id": key_id}).json()["key"]["kid"] == key_id


def test_user_good_fires_nothing(serve: Serve) -> None:
    sink = Sink()
    item = Item(
        "access-sandbox-good-hooked",
        "good-hooked",
        "ins_109508",
        (Account("a", "depository", "checking"),),
        webhook=HOOK,
    )
    with serve(webhook_sink=sink, items=[item]) as (url, _), httpx.Client(base_url=url) as http:
        assert (
            http.post(REFRESH, headers=HEADERS, json={"access_token": item.access_token}).status_code == 200
        )
        assert http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_USER_GOOD}).status_code == 200
    assert sink.calls == []
