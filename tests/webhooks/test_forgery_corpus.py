"""A forgery corpus for the verifier (issue 13): claims, key fields and bodies an adversary (or a
broken key server) can put in front of it, each signed for real with an ES256 key the verifier
trusts. Every one must end as a WebhookVerificationError subclass, and the example receiver must
answer it with a clean 4xx over real sockets. Then the key fetching bounds: unknown kids remembered,
one fetch per kid, a bound on fetches, a total deadline and a size cap on the key server.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import pytest
from plaid_refresh_client.models import JWKPublicKey

from examples.webhook_receiver.app import build_receiver
from plaid_refresh.server.testing import running_server
from plaid_refresh.webhooks.key_fetching import PlaidKeyFetcher
from plaid_refresh.webhooks.replay import ReplayGuard
from plaid_refresh.webhooks.signing import WebhookSigner, body_sha256, serialize_webhook
from plaid_refresh.webhooks.verification import (
    AsyncWebhookVerifier,
    BadSignature,
    BodyMismatch,
    InvalidPayload,
    KeyFetchError,
    KeyFetchRateLimited,
    MalformedClaims,
    MalformedSignature,
    UnknownKey,
    UnsupportedAlgorithm,
    WebhookVerificationError,
    WebhookVerifier,
)
from tests.client.hostile_server import head, hostile_server

from .conftest import example_payload

CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
SECRET = "a-very-secret-value-0123456789"
BODY = serialize_webhook(example_payload())
DIGEST = body_sha256(BODY)


def _sign_raw(signer: WebhookSigner, payload: bytes, kid: str | None = None) -> str:
    """A real ES256 signature over any claims text (NaN, 1e400 and 400-digit numbers included)."""
    token: str = jwt.api_jws.PyJWS().encode(
        payload, signer.private_key, algorithm="ES256", headers={"kid": kid or signer.key_id}
    )
    return token


def _claims(iat: str = "{now}", sha: str = '"{digest}"', extra: str = "") -> Callable[[float], bytes]:
    def build(now: float) -> bytes:
        text = '{"iat": %s, "request_body_sha256": %s%s}' % (iat, sha, extra)  # noqa: UP031 - raw JSON
        return text.replace("{now}", str(int(now))).replace("{digest}", DIGEST).encode()

    return build


CLAIMS: dict[str, tuple[Callable[[float], bytes], type[WebhookVerificationError]]] = {
    "iat NaN": (_claims(iat="NaN"), MalformedClaims),
    "iat Infinity": (_claims(iat="Infinity"), MalformedClaims),
    "iat -Infinity": (_claims(iat="-Infinity"), MalformedClaims),
    "iat 1e400": (_claims(iat="1e400"), MalformedClaims),
    "iat -1e400": (_claims(iat="-1e400"), MalformedClaims),
    "iat 400-digit int": (_claims(iat="9" * 400), MalformedClaims),
    "iat -400-digit int": (_claims(iat="-" + "9" * 400), MalformedClaims),
    "iat string": (_claims(iat='"{now}"'), MalformedClaims),
    "iat true": (_claims(iat="true"), MalformedClaims),
    "iat null": (_claims(iat="null"), BadSignature),  # PyJWT: a null claim is a missing one
    "iat object": (_claims(iat='{"a": 1}'), MalformedClaims),
    "sha non-ASCII": (_claims(sha='"' + "é" * 64 + '"'), MalformedClaims),
    "sha lone surrogate": (_claims(sha='"\\ud800' + DIGEST[1:] + '"'), MalformedClaims),
    "sha 63 digits": (_claims(sha='"' + DIGEST[:63] + '"'), MalformedClaims),
    "sha number": (_claims(sha="12345"), MalformedClaims),
    "sha null": (_claims(sha="null"), BadSignature),
    "sha of another body": (_claims(sha='"' + "0" * 64 + '"'), BodyMismatch),
    "claims 1400 deep": (_claims(extra=', "x": ' + "[" * 1400 + "]" * 1400), MalformedClaims),
}


@pytest.fixture(scope="module")
def signer() -> WebhookSigner:
    return WebhookSigner.generate()


def _fetcher_of(jwks: dict[str, dict[str, Any]]) -> Callable[[str], JWKPublicKey]:
    def fetch(key_id: str) -> JWKPublicKey:
        if key_id not in jwks:
            raise UnknownKey(f"unknown key id {key_id!r}")
        return JWKPublicKey.from_dict(dict(jwks[key_id]))

    return fetch


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_malformed_signed_claims_raise_their_verification_error(signer: WebhookSigner, name: str) -> None:
    build, expected = CLAIMS[name]
    verifier = WebhookVerifier(_fetcher_of({signer.key_id: signer.public_jwk()}))
    token = _sign_raw(signer, build(time.time()))
    with pytest.raises(expected):
        verifier.verify({"Plaid-Verification": token}, BODY)


def test_the_well_formed_claims_of_the_corpus_verify(signer: WebhookSigner) -> None:
    """The corpus's builder is right: unchanged, its claims verify (so each case fails for its one fault)."""
    verifier = WebhookVerifier(_fetcher_of({signer.key_id: signer.public_jwk()}))
    assert verifier.verify({"Plaid-Verification": _sign_raw(signer, _claims()(time.time()))}, BODY)
    token = _sign_raw(signer, _claims(sha='"' + DIGEST.upper() + '"')(time.time()))
    assert verifier.verify({"Plaid-Verification": token}, BODY)  # hex is hex, whatever its case


def test_a_deeply_nested_jwt_header_is_malformed(signer: WebhookSigner) -> None:
    token = jwt.api_jws.PyJWS().encode(
        _claims()(time.time()), signer.private_key, algorithm="ES256", headers={"x": [[[]]]}
    )
    rest = token.split(".", 1)[1]
    deep = jwt.utils.base64url_encode(
        b'{"alg": "ES256", "kid": "k", "x": ' + b"[" * 1400 + b"]" * 1400 + b"}"
    )
    verifier = WebhookVerifier(_fetcher_of({}))
    with pytest.raises(MalformedSignature):
        verifier.verify({"Plaid-Verification": deep.decode() + "." + rest}, BODY)


@pytest.mark.parametrize("depth", [100_000, 900])
def test_a_deeply_nested_signed_body_is_an_invalid_payload_not_a_crash(
    signer: WebhookSigner, depth: int
) -> None:
    body = b'{"webhook_type": "TRANSACTIONS", "webhook_code": "X", "x": ' + b"[" * depth + b"]" * depth + b"}"
    verifier = WebhookVerifier(_fetcher_of({signer.key_id: signer.public_jwk()}))
    try:
        verifier.verify({"Plaid-Verification": signer.sign(body)}, body)
    except InvalidPayload:
        assert depth > 1000  # only a body too deep to read is refused
    else:
        assert depth < 1000


# ---- key fields ---------------------------------------------------------------------------------------

NOW = time.time()
KEY_FIELDS: dict[str, tuple[dict[str, Any], type[WebhookVerificationError] | None]] = {
    "alg null": ({"alg": None}, UnsupportedAlgorithm),
    "alg int": ({"alg": 256}, UnsupportedAlgorithm),
    "alg list": ({"alg": ["ES256"]}, UnsupportedAlgorithm),
    "kty null": ({"kty": None}, UnknownKey),
    "crv int": ({"crv": 1}, UnknownKey),
    "x int": ({"x": 7}, UnknownKey),
    "y null": ({"y": None}, UnknownKey),
    "expired_at float, past": ({"expired_at": NOW - 10.5}, UnknownKey),
    "expired_at string, past": ({"expired_at": str(int(NOW - 10))}, UnknownKey),
    "expired_at ISO string, past": ({"expired_at": "2020-01-01T00:00:00Z"}, UnknownKey),
    "expired_at unreadable string": ({"expired_at": "soon"}, UnknownKey),
    "expired_at NaN": ({"expired_at": float("nan")}, UnknownKey),
    "expired_at Infinity": ({"expired_at": float("inf")}, UnknownKey),
    "expired_at true": ({"expired_at": True}, UnknownKey),
    "expired_at object": ({"expired_at": {"at": 1}}, UnknownKey),
    "expired_at 400-digit int": ({"expired_at": int("9" * 400)}, UnknownKey),
    "expired_at float, future": ({"expired_at": NOW + 3600.5}, None),
    "expired_at string, future": ({"expired_at": str(int(NOW + 3600))}, None),
    "expired_at null": ({"expired_at": None}, None),
}


@pytest.mark.parametrize("name", sorted(KEY_FIELDS))
def test_key_fields_are_understood_or_the_key_refused(signer: WebhookSigner, name: str) -> None:
    change, expected = KEY_FIELDS[name]
    jwk = {**signer.public_jwk(), **change}
    verifier = WebhookVerifier(_fetcher_of({signer.key_id: jwk}))
    headers = {"Plaid-Verification": signer.sign(BODY)}
    if expected is None:
        assert verifier.verify(headers, BODY)
    else:
        with pytest.raises(expected):
            verifier.verify(headers, BODY)


# ---- a key server on a real socket ------------------------------------------------------------------


class KeyServer:
    """/webhook_verification_key/get on a raw socket: serves `jwks` (any JSON, NaN included),
    counts requests per kid, and can drip, pad or stall its answers."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.calls: dict[str, int] = {}
        self.delay = 0.0
        self.drip = False
        self.pad = 0
        self.lock = threading.Lock()

    def __call__(self, conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        kid = json.loads(request.split(b"\r\n\r\n", 1)[1])["key_id"]
        with self.lock:
            self.calls[kid] = self.calls.get(kid, 0) + 1
        if self.delay:
            stop.wait(self.delay)
        if kid in self.jwks:
            status = "200 OK"
            body = json.dumps({"key": self.jwks[kid], "request_id": "keyReq000000001"}).encode()
            if self.pad:
                body = body[:-1] + b', "pad": "' + b"a" * self.pad + b'"}'
        else:
            status = "400 Bad Request"
            body = json.dumps(
                {
                    "error_type": "INVALID_INPUT",
                    "error_code": "INVALID_WEBHOOK_VERIFICATION_KEY_ID",
                    "error_message": "invalid key_id provided",
                    "display_message": None,
                    "request_id": "keyReq000000002",
                }
            ).encode()
        payload = head(status, {"Content-Length": str(len(body))}) + body
        if not self.drip:
            conn.sendall(payload)
            return
        for byte in payload:
            if stop.wait(0.05):
                return
            conn.sendall(bytes([byte]))


def _fetcher(url: str, **options: Any) -> PlaidKeyFetcher:
    return PlaidKeyFetcher(url, CLIENT_ID, SECRET, **options)


@pytest.fixture
def receiver_with(signer: WebhookSigner) -> Iterator[Callable[[KeyServer], str]]:
    """The example receiver (its own verifier, fetching keys from a KeyServer), on loopback."""
    stack: list[Any] = []

    def start(key_server: KeyServer) -> str:
        keys = hostile_server(key_server)
        key_url, _ = keys.__enter__()
        stack.append(keys)
        served = running_server(build_receiver(key_url, CLIENT_ID, SECRET))
        url: str = served.__enter__()
        stack.append(served)
        return url

    yield start
    for manager in reversed(stack):
        manager.__exit__(None, None, None)


def test_the_example_receiver_answers_every_forgery_with_a_clean_4xx(
    signer: WebhookSigner, receiver_with: Callable[[KeyServer], str]
) -> None:
    url = receiver_with(KeyServer({signer.key_id: signer.public_jwk()}))
    sent = 0
    with httpx.Client(base_url=url, timeout=10) as http:
        for name, (build, _) in sorted(CLAIMS.items()):
            token = _sign_raw(signer, build(time.time()))
            answer = http.post("/", content=BODY, headers={"Plaid-Verification": token})
            assert 400 <= answer.status_code < 500, (name, answer.status_code, answer.text)
            sent += 1
        deep = b'{"webhook_type": "T", "webhook_code": "X", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        answer = http.post("/", content=deep, headers={"Plaid-Verification": signer.sign(deep)})
        assert answer.status_code == 400, answer.text
        good = http.post("/", content=BODY, headers={"Plaid-Verification": signer.sign(BODY)})
        assert good.status_code == 200, good.text  # still up, and still accepting the genuine
    assert sent == len(CLAIMS)


@pytest.mark.parametrize("name", sorted(KEY_FIELDS))
def test_the_example_receiver_refuses_keys_it_cannot_understand_with_a_4xx(
    signer: WebhookSigner, receiver_with: Callable[[KeyServer], str], name: str
) -> None:
    change, _ = KEY_FIELDS[name]
    url = receiver_with(KeyServer({signer.key_id: {**signer.public_jwk(), **change}}))
    answer = httpx.post(
        url + "/", content=BODY, headers={"Plaid-Verification": signer.sign(BODY)}, timeout=10
    )
    # Over the wire the key must also match the spec (expired_at: integer | null): a float or a string
    # refuses the key there already. Either way: a clean 4xx, never a 5xx or a crash.
    expected = 200 if name == "expired_at null" else 401
    assert answer.status_code == expected, answer.text


# ---- the key fetching bounds -------------------------------------------------------------------------


def test_ten_concurrent_webhooks_with_one_unknown_kid_cost_one_fetch(signer: WebhookSigner) -> None:
    key_server = KeyServer({})
    key_server.delay = 0.5
    forger = WebhookSigner.generate()
    with hostile_server(key_server) as (url, _):
        fetcher = _fetcher(url)
        verifier = WebhookVerifier(fetcher)
        errors: list[BaseException] = []

        def one() -> None:
            try:
                verifier.verify({"Plaid-Verification": forger.sign(BODY)}, BODY)
            except WebhookVerificationError as exc:
                errors.append(exc)

        started = time.monotonic()
        threads = [threading.Thread(target=one) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        took = time.monotonic() - started
        fetcher.close()
    assert key_server.calls == {forger.key_id: 1}
    assert len(errors) == 10
    assert all(isinstance(e, UnknownKey) for e in errors)
    assert took < 2.0  # one 0.5 s fetch shared, not ten in a row


def test_ten_concurrent_webhooks_share_one_fetch_async(signer: WebhookSigner) -> None:
    key_server = KeyServer({})
    key_server.delay = 0.3
    forger = WebhookSigner.generate()

    async def run(url: str) -> list[BaseException | Any]:
        fetcher = _fetcher(url)
        verifier = AsyncWebhookVerifier(fetcher.fetch_async)
        try:
            calls = [verifier.verify({"Plaid-Verification": forger.sign(BODY)}, BODY) for _ in range(10)]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            await fetcher.aclose()

    with hostile_server(key_server) as (url, _):
        results = asyncio.run(run(url))
    assert key_server.calls == {forger.key_id: 1}
    assert all(isinstance(r, UnknownKey) for r in results)


def test_random_kids_cost_a_bounded_number_of_fetches(signer: WebhookSigner) -> None:
    key_server = KeyServer({signer.key_id: signer.public_jwk()})
    with hostile_server(key_server) as (url, _):
        fetcher = _fetcher(url)
        verifier = WebhookVerifier(fetcher, max_key_fetches=10, fetch_window=60)
        outcomes: dict[str, int] = {}
        for _ in range(200):
            token = _sign_raw(signer, _claims()(time.time()), kid=str(uuid.uuid4()))
            try:
                verifier.verify({"Plaid-Verification": token}, BODY)
            except (UnknownKey, KeyFetchRateLimited) as exc:
                outcomes[type(exc).__name__] = outcomes.get(type(exc).__name__, 0) + 1
        # The same unknown kid again is answered from memory, without a fetch.
        fetcher.close()
    assert sum(key_server.calls.values()) == 10
    assert outcomes == {"UnknownKey": 10, "KeyFetchRateLimited": 190}
    assert issubclass(KeyFetchRateLimited, KeyFetchError)  # the receiver answers 5xx: Plaid retries


def test_a_dripping_key_server_is_cut_at_the_fetch_deadline(signer: WebhookSigner) -> None:
    key_server = KeyServer({signer.key_id: signer.public_jwk()})
    key_server.drip = True
    with hostile_server(key_server) as (url, _):
        fetcher = _fetcher(url, timeout=1.0)
        started = time.monotonic()
        with pytest.raises(KeyFetchError, match="deadline"):
            fetcher(signer.key_id)
        took = time.monotonic() - started
        fetcher.close()
    assert took < 1.5, took


def test_an_oversized_key_answer_is_refused_quickly(signer: WebhookSigner) -> None:
    key_server = KeyServer({signer.key_id: signer.public_jwk()})
    key_server.pad = 5 * 1024 * 1024
    with hostile_server(key_server) as (url, _):
        fetcher = _fetcher(url)
        with pytest.raises(KeyFetchError, match="cap"):
            fetcher(signer.key_id)
        fetcher.close()


def test_the_fetch_errors_never_show_the_credentials(signer: WebhookSigner) -> None:
    key_server = KeyServer({signer.key_id: signer.public_jwk()})
    key_server.pad = 5 * 1024 * 1024
    with hostile_server(key_server) as (url, _):
        fetcher = _fetcher(url)
        with pytest.raises(KeyFetchError) as caught:
            fetcher(signer.key_id)
        fetcher.close()
    assert SECRET not in str(caught.value)
    assert CLIENT_ID not in str(caught.value)


# ---- replay ------------------------------------------------------------------------------------------


def test_the_replay_guard_reports_a_repeat_inside_its_window_only() -> None:
    now = [1000.0]
    guard = ReplayGuard(window=360, clock=lambda: now[0])
    assert guard.first_time(BODY)
    assert not guard.first_time(BODY)
    assert guard.first_time(BODY + b" ")
    now[0] += 361
    assert guard.first_time(BODY)  # outside the window the iat check refuses a replay anyway


def test_the_replay_guard_is_bounded() -> None:
    guard = ReplayGuard(window=3600, max_entries=100)
    for i in range(1000):
        guard.first_time(b"%d" % i)
    assert len(guard) == 100
    assert guard.first_time(b"0")  # the oldest were forgotten first
    assert not guard.first_time(b"999")


@pytest.mark.parametrize(("window", "entries"), [(0, 10), (float("nan"), 10), (10, 0), (10, True)])
def test_the_replay_guard_checks_its_bounds(window: float, entries: int) -> None:
    with pytest.raises(ValueError, match="window"):
        ReplayGuard(window=window, max_entries=entries)
