"""Sign webhook bodies the way Plaid does: an ES256 JWT in the Plaid-Verification header.

The JWT header carries `alg: ES256` and the `kid` a receiver looks up with
/webhook_verification_key/get; the claims are `iat` and `request_body_sha256`, the hex SHA-256 of
the exact bytes sent.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ALGORITHM = "ES256"


def body_sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def serialize_webhook(payload: dict[str, Any]) -> bytes:
    """Plaid's own serialisation of webhook bodies: 2-space indentation. Receivers must hash raw bytes."""
    return json.dumps(payload, indent=2).encode("utf-8")


@attrs.frozen(repr=False)
class WebhookSigner:
    """An ES256 signing key and its id. repr() never shows key material."""

    private_key: ec.EllipticCurvePrivateKey
    key_id: str
    created_at: int
    clock: Callable[[], float] = time.time

    @classmethod
    def generate(cls, *, key_id: str | None = None, clock: Callable[[], float] = time.time) -> WebhookSigner:
        return cls(
            private_key=ec.generate_private_key(ec.SECP256R1()),
            key_id=key_id or str(uuid.uuid4()),
            created_at=int(clock()),
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"WebhookSigner(key_id={self.key_id!r})"

    def sign(self, body: bytes) -> str:
        """The Plaid-Verification header value for these exact body bytes."""
        claims = {"iat": int(self.clock()), "request_body_sha256": body_sha256(body)}
        return jwt.encode(claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.key_id})

    def public_jwk(self) -> dict[str, Any]:
        """The public key as /webhook_verification_key/get returns it (JWKPublicKey in the spec)."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {
            "alg": ALGORITHM,
            "crv": jwk["crv"],
            "kid": self.key_id,
            "kty": jwk["kty"],
            "use": "sig",
            "x": jwk["x"],
            "y": jwk["y"],
            "created_at": self.created_at,
            "expired_at": None,
        }
