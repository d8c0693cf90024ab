"""The verification helper: genuine webhooks parse into the generated models; every forgery is
rejected with its own error, each in its own test; keys are fetched once per kid."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import httpx
import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plaid_refresh_client.models import (
    DefaultUpdateWebhook,
    JWKPublicKey,
    SyncUpdatesAvailableWebhook,
    TransactionsRemovedWebhook,
)

from contract_tests.webhooks.payloads import codes, strategy
from plaid_refresh.webhooks import forgeries
from plaid_refresh.webhooks.key_cache import load_key
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from plaid_refresh.webhooks.verification import (
    AsyncWebhookVerifier,
    BadSignature,
    BodyMismatch,
    InvalidPayload,
    KeyFetchError,
    MalformedSignature,
    MissingSignature,
    PlaidKeyFetcher,
    StaleWebhook,
    UnknownKey,
    UnknownWebhook,
    UnsupportedAlgorithm,
    WebhookVerificationError,
    WebhookVerifier,
    _Checks,
)
from tests.webhooks.conftest import CountingFetcher, FakeClock, example_payload


def signed(signer: WebhookSigner, payload: dict[str, Any]) -> tuple[dict[str, str], bytes]:
    body = serialize_webhook(payload)
    return {"Plaid-Verification": signer.sign(body)}, body


# -- genuine webhooks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "model"),
    [
        ("SYNC_UPDATES_AVAILABLE", SyncUpdatesAvailableWebhook),
        ("DEFAULT_UPDATE", DefaultUpdateWebhook),
        ("TRANSACTIONS_REMOVED", TransactionsRemovedWebhook),
    ],
)
def test_genuine_webhook_returns_the_generated_model(
    verifier: WebhookVerifier, signer: WebhookSigner, code: str, model: type
) -> None:
    payload = example_payload(code)
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, model)
    assert not isinstance(webhook, UnknownWebhook)
    assert webhook.to_dict() == payload


def test_header_name_is_matched_case_insensitively(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes
) -> None:
    for name in ("plaid-verification", "PLAID-VERIFICATION", "Plaid-verification"):
        assert isinstance(verifier.verify({name: signer.sign(body)}, body), DefaultUpdateWebhook)


def test_unknown_webhook_code_is_verified_and_wrapped(
    verifier: WebhookVerifier, signer: WebhookSigner
) -> None:
    payload = {
        "webhook_type": "TRANSACTIONS",
        "webhook_code": "RECURRING_TRANSACTIONS_UPDATE",
        "item_id": "i1",
    }
    webhook = verifier.verify(*signed(signer, payload))
    assert webhook == UnknownWebhook("TRANSACTIONS", "RECURRING_TRANSACTIONS_UPDATE", "i1", payload)


def test_extra_fields_are_accepted_and_kept(verifier: WebhookVerifier, signer: WebhookSigner) -> None:
    payload = {**example_payload("TRANSACTIONS_REMOVED"), "new_field": {"x": 1}}
    webhook = verifier.verify(*signed(signer, payload))
    assert isinstance(webhook, TransactionsRemovedWebhook)
    assert webhook["new_field"] == {"x": 1}


def test_iat_exactly_max_age_old_is_accepted_one_second_more_is_not(
    verifier: WebhookVerifier, signer: WebhookSigner, clock: FakeClock, body: bytes
) -> None:
    headers = {"Plaid-Verification": signer.sign(body)}
    clock.advance(300)
    assert isinstance(verifier.verify(headers, body), DefaultUpdateWebhook)
    clock.advance(1)
    with pytest.raises(StaleWebhook, match="301 s old"):
        verifier.verify(headers, body)


# -- every forgery, each in its own test ------------------------------------------------------------


def reject(verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock, name: str) -> str:
    forgery = forgeries.BY_NAME[name]
    headers, sent = forgery(signer, body, clock())
    with pytest.raises(forgery.rejected_as) as caught:
        verifier.verify(headers, sent)
    message = str(caught.value)
    token = headers.get("Plaid-Verification", "")
    assert not token or token not in message  # never echo the token
    return message


def test_rejects_bad_signature(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    assert "does not verify" in reject(verifier, signer, body, clock, "bad_signature")


def test_rejects_wrong_key_under_the_genuine_kid(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    reject(verifier, signer, body, clock, "wrong_key")


def test_rejects_unknown_key_id(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock, fetcher: CountingFetcher
) -> None:
    reject(verifier, signer, body, clock, "unknown_key")
    assert signer.key_id not in fetcher.calls  # the impostor's kid was asked for, not ours


def test_rejects_expired_iat(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    assert "600 s old" in reject(verifier, signer, body, clock, "expired_iat")


def test_rejects_iat_far_in_the_future(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    assert "future" in reject(verifier, signer, body, clock, "future_iat")


def test_rejects_tampered_body(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    reject(verifier, signer, body, clock, "tampered_body")


def test_rejects_reformatted_body(verifier: WebhookVerifier, signer: WebhookSigner, body: bytes) -> None:
    """Same JSON, other bytes: the hash is over the raw body, so re-serialising breaks it."""
    compact = json.dumps(json.loads(body), separators=(",", ":")).encode()
    with pytest.raises(BodyMismatch):
        verifier.verify({"Plaid-Verification": signer.sign(body)}, compact)


def test_rejects_alg_none(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock, fetcher: CountingFetcher
) -> None:
    reject(verifier, signer, body, clock, "alg_none")
    assert fetcher.calls == {}  # rejected before any key was fetched


def test_rejects_hs256_signed_with_the_public_key(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    reject(verifier, signer, body, clock, "hs256_public_key")


def test_hs256_is_rejected_by_the_decoder_too(signer: WebhookSigner, body: bytes, clock: FakeClock) -> None:
    """Defence in depth: even past the header check, decoding allows ES256 only."""
    headers, _ = forgeries.hs256_public_key(signer, body, clock())
    key = load_key(signer.key_id, JWKPublicKey.from_dict(signer.public_jwk()), clock())
    checks = _Checks(clock, 300, 60)
    with pytest.raises((UnsupportedAlgorithm, BadSignature)):
        checks.check(headers["Plaid-Verification"], signer.key_id, key, body)


def test_rejects_missing_header(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    reject(verifier, signer, body, clock, "missing_header")


def test_rejects_empty_header(verifier: WebhookVerifier, body: bytes) -> None:
    with pytest.raises(MissingSignature):
        verifier.verify({"Plaid-Verification": "  "}, body)


def test_rejects_a_header_that_is_not_a_jwt(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    reject(verifier, signer, body, clock, "not_a_jwt")


def test_rejects_a_jwt_without_kid(verifier: WebhookVerifier, signer: WebhookSigner, body: bytes) -> None:
    token = jwt.encode({"iat": 0, "request_body_sha256": "x"}, signer.private_key, algorithm="ES256")
    with pytest.raises(MalformedSignature, match="kid"):
        verifier.verify({"Plaid-Verification": token}, body)


def test_rejects_a_jwt_without_the_body_hash(
    verifier: WebhookVerifier, signer: WebhookSigner, body: bytes, clock: FakeClock
) -> None:
    assert "request_body_sha256" in reject(verifier, signer, body, clock, "missing_body_hash")


def test_rejects_an_expired_key(signer: WebhookSigner, clock: FakeClock, body: bytes) -> None:
    verifier = WebhookVerifier(CountingFetcher(signer, expired_at=int(clock()) - 1), clock=clock)
    with pytest.raises(UnknownKey, match="expired"):
        verifier.verify({"Plaid-Verification": signer.sign(body)}, body)


def test_a_key_expiring_later_works_until_then(signer: WebhookSigner, clock: FakeClock, body: bytes) -> None:
    verifier = WebhookVerifier(CountingFetcher(signer, expired_at=int(clock()) + 100), clock=clock)
    assert isinstance(verifier.verify({"Plaid-Verification": signer.sign(body)}, body), DefaultUpdateWebhook)
    clock.advance(100)
    with pytest.raises(UnknownKey, match="expired"):
        verifier.verify({"Plaid-Verification": signer.sign(body)}, body)


def test_rejects_a_key_served_for_another_algorithm(
    signer: WebhookSigner, clock: FakeClock, body: bytes
) -> None:
    fetcher = CountingFetcher(signer)
    fetcher.keys[signer.key_id]["alg"] = "RS256"
    with pytest.raises(UnsupportedAlgorithm):
        WebhookVerifier(fetcher, clock=clock).verify({"Plaid-Verification": signer.sign(body)}, body)


def test_rejects_genuine_signature_over_a_body_that_breaks_the_spec(
    verifier: WebhookVerifier, signer: WebhookSigner
) -> None:
    payload = {**example_payload("DEFAULT_UPDATE"), "new_transactions": "three"}
    with pytest.raises(InvalidPayload, match="new_transactions"):
        verifier.verify(*signed(signer, payload))


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b"\xff\xfe", b'{"webhook_code": 1}'])
def test_rejects_genuine_signature_over_a_non_webhook_body(
    verifier: WebhookVerifier, signer: WebhookSigner, raw: bytes
) -> None:
    with pytest.raises(InvalidPayload):
        verifier.verify({"Plaid-Verification": signer.sign(raw)}, raw)


def test_every_error_is_a_webhook_verification_error() -> None:
    for forgery in forgeries.FORGERIES:
        assert issubclass(forgery.rejected_as, WebhookVerificationError)


# -- key caching ------------------------------------------------------------------------------------


def test_key_is_fetched_once_per_kid(
    verifier: WebhookVerifier, signer: WebhookSigner, fetcher: CountingFetcher, body: bytes
) -> None:
    other = WebhookSigner.generate(clock=signer.clock)
    fetcher.keys[other.key_id] = other.public_jwk()
    for _ in range(20):
        verifier.verify({"Plaid-Verification": signer.sign(body)}, body)
        verifier.verify({"Plaid-Verification": other.sign(body)}, body)
    assert fetcher.calls == {signer.key_id: 1, other.key_id: 1}


def test_concurrent_first_uses_of_a_kid_share_one_fetch(
    signer: WebhookSigner, clock: FakeClock, body: bytes
) -> None:
    gate = threading.Event()

    class SlowFetcher(CountingFetcher):
        def __call__(self, key_id: str) -> JWKPublicKey:
            gate.wait(5)
            return super().__call__(key_id)

    fetcher = SlowFetcher(signer)
    verifier = WebhookVerifier(fetcher, clock=clock)
    results: list[object] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(verifier.verify({"Plaid-Verification": signer.sign(body)}, body))
        )
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8
    assert all(isinstance(r, DefaultUpdateWebhook) for r in results)
    assert fetcher.calls == {signer.key_id: 1}


def test_unknown_kids_are_remembered_for_a_while(
    verifier: WebhookVerifier, fetcher: CountingFetcher, body: bytes, clock: FakeClock
) -> None:
    """Once fruitless fetches reach half the bound, a forged kid is answered from memory for
    unknown_kid_ttl (300 s): not one key-server call per webhook."""
    verifier = WebhookVerifier(fetcher, clock=clock, max_key_fetches=2)
    impostor = WebhookSigner.generate()
    for _ in range(3):
        with pytest.raises(UnknownKey):
            verifier.verify({"Plaid-Verification": impostor.sign(body)}, body)
    assert fetcher.calls == {impostor.key_id: 1}
    clock.advance(301)
    with pytest.raises(UnknownKey):
        verifier.verify({"Plaid-Verification": impostor.sign(body)}, body)
    assert fetcher.calls == {impostor.key_id: 2}


def test_a_current_key_is_refetched_after_key_refresh_to_learn_its_expiry(
    signer: WebhookSigner, clock: FakeClock, body: bytes
) -> None:
    fetcher = CountingFetcher(signer)
    verifier = WebhookVerifier(fetcher, clock=clock, key_refresh=3600)
    verifier.verify({"Plaid-Verification": signer.sign(body)}, body)
    clock.advance(3599)
    verifier.verify({"Plaid-Verification": signer.sign(body)}, body)
    assert fetcher.calls == {signer.key_id: 1}
    fetcher.keys[signer.key_id]["expired_at"] = int(clock()) - 10  # Plaid rotated it meanwhile
    clock.advance(1)
    with pytest.raises(UnknownKey, match="expired"):
        verifier.verify({"Plaid-Verification": signer.sign(body)}, body)
    assert fetcher.calls == {signer.key_id: 2}


def test_async_verifier_verifies_rejects_and_caches(
    signer: WebhookSigner, clock: FakeClock, body: bytes
) -> None:
    fetcher = CountingFetcher(signer)

    async def fetch(key_id: str) -> JWKPublicKey:
        await asyncio.sleep(0)
        return fetcher(key_id)

    async def scenario() -> None:
        verifier = AsyncWebhookVerifier(fetch, clock=clock)
        headers = {"Plaid-Verification": signer.sign(body)}
        results = await asyncio.gather(*(verifier.verify(headers, body) for _ in range(10)))
        assert all(isinstance(r, DefaultUpdateWebhook) for r in results)
        for forgery in forgeries.FORGERIES:
            forged_headers, sent = forgery(signer, body, clock())
            with pytest.raises(forgery.rejected_as):
                await verifier.verify(forged_headers, sent)

    asyncio.run(scenario())
    assert fetcher.calls[signer.key_id] == 1


# -- the key fetcher goes through the generated client ---------------------------------------------


CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
SECRET = "a-very-secret-value-0123456789"


def fetcher_with(handler: Any) -> PlaidKeyFetcher:
    return PlaidKeyFetcher("https://plaid.test/", CLIENT_ID, SECRET, transport=httpx.MockTransport(handler))


def test_fetcher_sends_the_spec_request_with_credential_headers(signer: WebhookSigner) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"key": signer.public_jwk(), "request_id": "r1"})

    key = fetcher_with(handler)(signer.key_id)
    assert key.kid == signer.key_id
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", "https://plaid.test/webhook_verification_key/get")
    assert request.headers["PLAID-CLIENT-ID"] == CLIENT_ID
    assert request.headers["PLAID-SECRET"] == SECRET
    assert request.headers["Plaid-Version"] == "2020-09-14"
    assert json.loads(request.content) == {"key_id": signer.key_id}


def _plaid_error(code: str) -> dict[str, Any]:
    return {"error_type": "INVALID_INPUT", "error_code": code, "error_message": "m", "display_message": None}


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(400, json=_plaid_error("INVALID_WEBHOOK_VERIFICATION_KEY_ID")), UnknownKey),
        (httpx.Response(400, json=_plaid_error("INVALID_API_KEYS")), KeyFetchError),
        (
            httpx.Response(500, json={**_plaid_error("INTERNAL_SERVER_ERROR"), "error_type": "API_ERROR"}),
            KeyFetchError,
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), KeyFetchError),
        (httpx.Response(200, text="not json"), KeyFetchError),
        (httpx.Response(200, json={"request_id": "r"}), KeyFetchError),
    ],
)
def test_fetcher_maps_answers_to_typed_errors_without_secrets(
    response: httpx.Response, error: type[WebhookVerificationError]
) -> None:
    fetch = fetcher_with(lambda request: response)
    with pytest.raises(error) as caught:
        fetch("kid-1")
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(fetch)
    assert caught.value.__cause__ is None or SECRET not in str(caught.value.__cause__)


def test_fetcher_network_error_is_a_key_fetch_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(KeyFetchError, match="ConnectError"):
        fetcher_with(handler)("kid-1")


def test_fetcher_async_path(signer: WebhookSigner) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"key": signer.public_jwk(), "request_id": "r1"})

    async def scenario() -> str:
        fetch = PlaidKeyFetcher(
            "https://plaid.test", CLIENT_ID, SECRET, async_transport=httpx.MockTransport(handler)
        )
        try:
            return (await fetch.fetch_async(signer.key_id)).kid
        finally:
            await fetch.aclose()

    assert asyncio.run(scenario()) == signer.key_id


# -- properties over payloads drawn from the spec -----------------------------------------------------


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_spec_payload_round_trips_and_any_flipped_byte_is_caught(data: st.DataObject) -> None:
    clock = FakeClock()
    signer = WebhookSigner.generate(clock=clock)
    verifier = WebhookVerifier(CountingFetcher(signer), clock=clock)
    payload = data.draw(strategy(data.draw(st.sampled_from(codes()))))
    headers, body = signed(signer, payload)
    webhook = verifier.verify(headers, body)
    assert not isinstance(webhook, UnknownWebhook)
    assert webhook.to_dict() == payload
    index = data.draw(st.integers(0, len(body) - 1))
    flipped = body[:index] + bytes([body[index] ^ 0x01]) + body[index + 1 :]
    with pytest.raises(BodyMismatch):
        verifier.verify(headers, flipped)
