"""Forged webhooks a receiver must reject, built from a genuine signer and body.

Used by the verification tests and by the receiver contract tests (contract_tests/webhooks); a
receiver's own test suite can use them too. Each forgery produces the headers and body an attacker
(or a broken sender) would send, and names the `WebhookVerificationError` subclass the helper raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives import serialization

from plaid_refresh.webhooks.signing import WebhookSigner, body_sha256
from plaid_refresh.webhooks.verification import (
    BadSignature,
    BodyMismatch,
    MalformedSignature,
    MissingSignature,
    StaleWebhook,
    UnknownKey,
    UnsupportedAlgorithm,
    WebhookVerificationError,
)

Headers = dict[str, str]
Build = Callable[[WebhookSigner, bytes, float], tuple[Headers, bytes]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _claims(body: bytes, now: float) -> dict[str, Any]:
    return {"iat": int(now), "request_body_sha256": body_sha256(body)}


def _header(token: str) -> Headers:
    return {"Plaid-Verification": token}


def bad_signature(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """The genuine header and claims, with the signature of other bytes."""
    genuine = signer.sign(body).split(".")
    other = signer.sign(body + b"\n").split(".")
    return _header(f"{genuine[0]}.{genuine[1]}.{other[2]}"), body


def wrong_key(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """Signed by another private key that claims the genuine kid."""
    impostor = WebhookSigner.generate(key_id=signer.key_id, clock=lambda: now)
    return _header(impostor.sign(body)), body


def unknown_key(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """Signed by another key under a kid the key server does not know."""
    impostor = WebhookSigner.generate(clock=lambda: now)
    return _header(impostor.sign(body)), body


def expired_iat(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """A genuine signature whose iat is 10 minutes old (a replay of a captured webhook)."""
    token = jwt.encode(
        _claims(body, now - 600), signer.private_key, algorithm="ES256", headers={"kid": signer.key_id}
    )
    return _header(token), body


def future_iat(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """A genuine signature whose iat is an hour ahead."""
    token = jwt.encode(
        _claims(body, now + 3600), signer.private_key, algorithm="ES256", headers={"kid": signer.key_id}
    )
    return _header(token), body


def tampered_body(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """A genuine header for the original body, sent with a changed body (still valid JSON)."""
    payload = json.loads(body)
    payload["item_id"] = f"{payload.get('item_id', '')}-tampered"
    return _header(signer.sign(body)), json.dumps(payload, indent=2).encode()


def alg_none(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """An unsigned JWT (`alg: none`) with valid claims and the genuine kid."""
    return _header(
        _segments({"alg": "none", "typ": "JWT", "kid": signer.key_id}, _claims(body, now)) + "."
    ), body


def hs256_public_key(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """The algorithm-confusion attack: HS256 keyed with the (public) verification key's PEM.
    Built by hand: PyJWT refuses to HMAC with a PEM key."""
    pem = signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": signer.key_id}, _claims(body, now))
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return _header(f"{signing_input}.{_b64(mac)}"), body


def missing_header(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    return {}, body


def not_a_jwt(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    return _header("not-a-jwt"), body


def missing_body_hash(signer: WebhookSigner, body: bytes, now: float) -> tuple[Headers, bytes]:
    """Genuinely signed, but without the request_body_sha256 claim."""
    token = jwt.encode(
        {"iat": int(now)}, signer.private_key, algorithm="ES256", headers={"kid": signer.key_id}
    )
    return _header(token), body


@attrs.frozen
class Forgery:
    name: str
    build: Build
    rejected_as: type[WebhookVerificationError]

    def __call__(self, signer: WebhookSigner, body: bytes, now: float | None = None) -> tuple[Headers, bytes]:
        return self.build(signer, body, time.time() if now is None else now)


FORGERIES: tuple[Forgery, ...] = (
    Forgery("bad_signature", bad_signature, BadSignature),
    Forgery("wrong_key", wrong_key, BadSignature),
    Forgery("unknown_key", unknown_key, UnknownKey),
    Forgery("expired_iat", expired_iat, StaleWebhook),
    Forgery("future_iat", future_iat, StaleWebhook),
    Forgery("tampered_body", tampered_body, BodyMismatch),
    Forgery("alg_none", alg_none, UnsupportedAlgorithm),
    Forgery("hs256_public_key", hs256_public_key, UnsupportedAlgorithm),
    Forgery("missing_header", missing_header, MissingSignature),
    Forgery("not_a_jwt", not_a_jwt, MalformedSignature),
    Forgery("missing_body_hash", missing_body_hash, BadSignature),
)
BY_NAME: dict[str, Forgery] = {forgery.name: forgery for forgery in FORGERIES}
