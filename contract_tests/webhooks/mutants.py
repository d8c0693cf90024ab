"""Broken webhook receivers, for measuring the receiver contract suite (`make webhook-mutation`).

`MiniReceiver` is a small, hand-written receiver of the kind a team writes from Plaid's docs (PyJWT,
httpx, no helper from this project), correct with no flaws. Each mutant is the same receiver with one
realistic mistake switched on. The scorer (contract_tests/mutation.py) serves each one on loopback
and runs the suite against it by URL, exactly as `make webhook-contract RECEIVER_URL=...` does.

The mistakes were written from Plaid's contract and common bugs, not from the suite's tests. Mutants
the suite cannot tell from a correct receiver by any bounded observation are listed in EQUIVALENT
with the reason, and are not counted.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import attrs
import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from jwt.types import Options

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_AGE = 300
KEY_REFRESH = 24 * 3600.0


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class UnknownKey(Exception):
    pass


@attrs.frozen
class Mutant:
    name: str
    family: str
    mistake: str


MUTANTS: tuple[Mutant, ...] = (
    # signature and algorithm
    Mutant("accept_everything", "signature", "no verification at all (the tutorial receiver)"),
    Mutant(
        "signature_optional", "signature", "verifies the JWT only when a Plaid-Verification header is present"
    ),
    Mutant("no_body_hash", "signature", "verifies the signature but never compares request_body_sha256"),
    Mutant(
        "trusts_token_alg",
        "algorithm",
        "dispatches on the token's alg: none unsigned, HS* keyed with the PEM",
    ),
    Mutant("denylist_alg", "algorithm", "refuses alg 'none' and 'HS256' by name, dispatches every other alg"),
    Mutant(
        "embedded_jwk", "self-named key", "verifies with the `jwk` in the token's header when there is one"
    ),
    Mutant("follows_jku", "self-named key", "fetches the key from the token's `jku` URL when there is one"),
    Mutant("trusts_x5c", "self-named key", "verifies with the certificate in the token's `x5c`"),
    Mutant("psychic_ecdsa", "algorithm", "an ECDSA routine that accepts r = s = 0 (CVE-2022-21449)"),
    # keys
    Mutant("one_key_for_all_kids", "keys", "fetches a key once and uses it for every kid"),
    Mutant("accepts_expired_keys", "keys", "ignores the key's expired_at"),
    Mutant("fails_open", "keys", "answers 200 (and queues the webhook unverified) when the key server errs"),
    Mutant("negative_cache", "keys", "caches a failed key fetch (unknown kid, outage) for the kid, forever"),
    Mutant("no_credentials", "keys", "asks the key server without PLAID-SECRET"),
    Mutant("expired_means_future", "keys", "reads expired_at backwards: refuses keys whose expiry is ahead"),
    # freshness
    Mutant("no_iat_check", "freshness", "never looks at iat"),
    Mutant("window_one_hour", "freshness", "accepts an iat up to an hour old"),
    Mutant("window_one_minute", "freshness", "refuses an iat more than 60 s old"),
    Mutant("iat_optional", "freshness", "treats a missing iat as now"),
    Mutant("no_future_check", "freshness", "checks only how old iat is, not how far ahead"),
    Mutant("iat_unit_confusion", "freshness", "divides an iat that looks like milliseconds by 1000"),
    # raw body, duplicates, order
    Mutant(
        "reserialises_body", "raw body", "hashes json.dumps(json.loads(body), indent=2), not the raw bytes"
    ),
    Mutant("dedup_before_verify", "duplicates", "answers 200 'duplicate' for a known body before verifying"),
    Mutant("refuses_duplicates", "duplicates", "answers 409 to a body it has seen"),
    Mutant("refuses_out_of_order", "order", "answers 409 to a webhook older than the Item's last one"),
    Mutant(
        "serial_slow_handler", "concurrency", "processes inside one lock, 0.5 s per webhook, before answering"
    ),
    # answers
    Mutant("answers_204", "status", "answers 204 No Content"),
    Mutant("answers_202", "status", "answers 202 Accepted (queued)"),
    Mutant("echoes_token", "leaks", "puts the offending Plaid-Verification value in its error body"),
    Mutant("leaks_secret", "leaks", "puts the key request (with PLAID-SECRET) in its 503 body"),
    Mutant("debug_echo", "leaks", "answers 200 with the claims and the token, for debugging"),
    # payloads
    Mutant("transactions_only", "payloads", "answers 400 to webhook types other than TRANSACTIONS"),
    Mutant("known_codes_only", "payloads", "answers 400 to webhook codes other than the three it handles"),
    Mutant(
        "requires_error_field",
        "payloads",
        "answers 400 to DEFAULT_UPDATE / TRANSACTIONS_REMOVED without error",
    ),
    Mutant("small_body_limit", "payloads", "answers 413 to bodies over 64 KB"),
    Mutant("sandbox_only", "payloads", "answers 400 to environment production"),
    Mutant("acks_non_json", "payloads", "answers 200 to a signed body it cannot parse"),
    Mutant("bounded_counts", "payloads", "answers 400 when new_transactions exceeds 1,000,000"),
)

EQUIVALENT: dict[str, str] = {
    "non_constant_time_hash": "compares request_body_sha256 with ==: a timing leak no HTTP-level test can "
    "measure reliably, and forging the hash still needs a valid signature over it",
    "case_insensitive_hash": "compares the hex digests case-insensitively: only a token signed with Plaid's "
    "key can carry the claim, and Plaid sends lowercase",
    "caches_keys_forever": "never re-fetches a key it has cached: indistinguishable within a run from the "
    "24 h cache Plaid allows (a key expired after it was cached is still accepted by both)",
}

ALL_FLAWS = frozenset(m.name for m in MUTANTS) | frozenset(EQUIVALENT)


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


class MiniReceiver:
    """A plain ASGI receiver. `flaws` switches mistakes on (see MUTANTS)."""

    def __init__(
        self, key_server_url: str, client_id: str, secret: str, flaws: frozenset[str] = frozenset()
    ) -> None:
        unknown = flaws - ALL_FLAWS
        if unknown:
            raise ValueError(f"unknown flaws: {sorted(unknown)}")
        self.key_url = key_server_url.rstrip("/") + "/webhook_verification_key/get"
        self.credentials = (client_id, secret)
        self.flaws = flaws
        self.keys: dict[str, tuple[ec.EllipticCurvePublicKey, int | None, float]] = {}
        self.failed_kids: set[str] = set()
        self.first_key: tuple[ec.EllipticCurvePublicKey, int | None, float] | None = None
        self.seen: set[str] = set()
        self.latest_iat: dict[str, float] = {}
        self.lock = asyncio.Lock()
        self.http: httpx.AsyncClient | None = None

    # -- ASGI ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            if self.http is not None:
                await self.http.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            status, answer = await self.handle(headers, body)
        except Refused as exc:
            status, answer = exc.status, {"error": str(exc)}
        payload = json.dumps(answer).encode() if status != 204 else b""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def has(self, flaw: str) -> bool:
        return flaw in self.flaws

    # -- the receiver ----------------------------------------------------------------------------------

    async def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        digest = hashlib.sha256(body).hexdigest()
        if self.has("small_body_limit") and len(body) > 64 * 1024:
            raise Refused(413, "too large")
        if self.has("dedup_before_verify") and digest in self.seen:
            return 200, {"status": "duplicate"}
        token = headers.get("plaid-verification", "")
        if self.has("accept_everything") or (self.has("signature_optional") and not token):
            claims: dict[str, Any] = {}
        else:
            if not token:
                raise Refused(401, "no Plaid-Verification header")
            try:
                claims = await self.verify(token, body)
            except Refused as exc:
                if self.has("echoes_token"):
                    raise Refused(exc.status, f"{exc} (token {token})") from None
                raise
        webhook = self.parse(body)
        if self.has("serial_slow_handler"):
            async with self.lock:
                await asyncio.sleep(0.5)
        if digest in self.seen:
            if self.has("refuses_duplicates"):
                raise Refused(409, "duplicate")
            return 200, {"status": "duplicate"}
        item = str(webhook.get("item_id"))
        iat = claims.get("iat")
        if self.has("refuses_out_of_order") and isinstance(iat, int | float):
            if iat < self.latest_iat.get(item, 0):
                raise Refused(409, "older than the last webhook of this item")
            self.latest_iat[item] = iat
        self.seen.add(digest)
        if self.has("answers_204"):
            return 204, {}
        if self.has("answers_202"):
            return 202, {"status": "queued"}
        if self.has("debug_echo"):
            return 200, {"status": "accepted", "claims": claims, "token": token}
        return 200, {"status": "accepted"}

    def parse(self, body: bytes) -> dict[str, Any]:
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            if self.has("acks_non_json"):
                return {}
            raise Refused(400, "not JSON") from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("webhook_type"), str)
            or not isinstance(payload.get("webhook_code"), str)
        ):
            if self.has("acks_non_json"):
                return {}
            raise Refused(400, "not a webhook")
        if self.has("transactions_only") and payload["webhook_type"] != "TRANSACTIONS":
            raise Refused(400, "unsupported webhook_type")
        known = {"SYNC_UPDATES_AVAILABLE", "DEFAULT_UPDATE", "TRANSACTIONS_REMOVED"}
        if self.has("known_codes_only") and payload["webhook_code"] not in known:
            raise Refused(400, "unsupported webhook_code")
        if (
            self.has("requires_error_field")
            and payload["webhook_code"] in ("DEFAULT_UPDATE", "TRANSACTIONS_REMOVED")
            and "error" not in payload
        ):
            raise Refused(400, "missing error")
        if self.has("sandbox_only") and payload.get("environment") != "sandbox":
            raise Refused(400, "unexpected environment")
        count = payload.get("new_transactions")
        if self.has("bounded_counts") and isinstance(count, int) and count > 1_000_000:
            raise Refused(400, "new_transactions out of range")
        return payload

    async def verify(self, token: str, body: bytes) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Refused(401, "not a JWT") from None
        alg = header.get("alg")
        kid = header.get("kid")
        if self.has("denylist_alg"):
            if alg in ("none", "HS256"):
                raise Refused(401, "algorithm not allowed")
        elif alg != "ES256" and not self.has("trusts_token_alg"):
            raise Refused(401, "alg must be ES256")
        key = await self.key_for(header, kid)
        claims = self.check_signature(token, alg, key)
        self.check_iat(claims)
        self.check_hash(claims, body)
        return claims

    async def key_for(self, header: dict[str, Any], kid: Any) -> ec.EllipticCurvePublicKey:
        if self.has("embedded_jwk") and isinstance(header.get("jwk"), dict):
            return _public_key(header["jwk"])
        if self.has("follows_jku") and isinstance(header.get("jku"), str):
            async with httpx.AsyncClient(timeout=5) as http:
                keys = (await http.get(header["jku"])).json()["keys"]
            return _public_key(next(k for k in keys if k.get("kid") == kid))
        if self.has("trusts_x5c") and isinstance(header.get("x5c"), list):
            cert = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
            public = cert.public_key()
            if not isinstance(public, ec.EllipticCurvePublicKey):
                raise Refused(401, "not an EC certificate")
            return public
        if not isinstance(kid, str) or not kid:
            raise Refused(401, "no kid")
        return await self.fetched_key(kid)

    async def fetched_key(self, kid: str) -> ec.EllipticCurvePublicKey:
        if self.has("one_key_for_all_kids") and self.first_key is not None:
            cached: tuple[ec.EllipticCurvePublicKey, int | None, float] | None = self.first_key
        else:
            cached = self.keys.get(kid)
            stale = cached is not None and time.time() - cached[2] > KEY_REFRESH
            if stale and not self.has("caches_keys_forever"):
                cached = None  # re-fetch once a day, to learn whether the key expired
        if cached is None:
            if self.has("negative_cache") and kid in self.failed_kids:
                raise Refused(401, "unknown key id")
            try:
                cached = await self.fetch(kid)
            except UnknownKey:
                self.failed_kids.add(kid)
                raise Refused(401, "unknown key id") from None
            except Refused:
                self.failed_kids.add(kid)
                raise
            self.keys[kid] = cached
            self.first_key = self.first_key or cached
        key, expired_at, _ = cached
        if expired_at is not None and not self.has("accepts_expired_keys"):
            expired = (
                expired_at > time.time() if self.has("expired_means_future") else expired_at <= time.time()
            )
            if expired:
                raise Refused(401, "key expired")
        return key

    async def fetch(self, kid: str) -> tuple[ec.EllipticCurvePublicKey, int | None, float]:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=5)
        client_id, secret = self.credentials
        headers = {"PLAID-CLIENT-ID": client_id, "Plaid-Version": "2020-09-14"}
        if not self.has("no_credentials"):
            headers["PLAID-SECRET"] = secret
        try:
            answer = await self.http.post(self.key_url, json={"key_id": kid}, headers=headers)
            data = answer.json()
        except (httpx.HTTPError, ValueError):
            data, answer = None, None
        if answer is not None and answer.status_code == 200 and isinstance(data, dict):
            jwk = data["key"]
            return _public_key(jwk), jwk.get("expired_at"), time.time()
        if isinstance(data, dict) and data.get("error_code") == "INVALID_WEBHOOK_VERIFICATION_KEY_ID":
            raise UnknownKey(kid)
        if self.has("fails_open"):
            raise _FailOpen
        detail = f"key request {self.key_url} headers={headers}" if self.has("leaks_secret") else "key server"
        raise Refused(503, f"cannot fetch the key now ({detail})")

    def check_signature(self, token: str, alg: Any, key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
        signing_input, _, signature = token.rpartition(".")
        dispatch = self.has("trusts_token_alg") or self.has("denylist_alg")
        if dispatch and isinstance(alg, str) and alg.lower() == "none":
            return _claims(token)
        if dispatch and isinstance(alg, str) and alg.startswith("HS"):
            pem = key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(alg)
            if digest is None:
                raise Refused(401, "bad alg")
            mac = hmac.new(pem, signing_input.encode(), digest).digest()
            if hmac.compare_digest(mac, _b64decode(signature)):
                return _claims(token)
            raise Refused(401, "bad signature")
        if self.has("psychic_ecdsa") and signature and set(_b64decode(signature)) == {0}:
            return _claims(token)
        options: Options = {
            "verify_iat": False,
            "verify_exp": False,
            "verify_nbf": False,
            "require": [],
        }
        try:
            claims: dict[str, Any] = jwt.decode(token, key, algorithms=["ES256"], options=options)
        except jwt.PyJWTError:
            raise Refused(401, "bad signature") from None
        return claims

    def check_iat(self, claims: dict[str, Any]) -> None:
        if self.has("no_iat_check"):
            return
        now = time.time()
        iat = claims.get("iat", now if self.has("iat_optional") else None)
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise Refused(401, "no usable iat")
        if self.has("iat_unit_confusion") and iat > 10**11:
            iat = iat / 1000
        window = 3600 if self.has("window_one_hour") else 60 if self.has("window_one_minute") else MAX_AGE
        if now - iat > window:
            raise Refused(401, "stale")
        if iat - now > 60 and not self.has("no_future_check"):
            raise Refused(401, "iat in the future")

    def check_hash(self, claims: dict[str, Any], body: bytes) -> None:
        if self.has("no_body_hash"):
            return
        raw = body
        if self.has("reserialises_body"):
            with contextlib.suppress(ValueError):
                raw = json.dumps(json.loads(body), indent=2).encode()
        actual = hashlib.sha256(raw).hexdigest()
        claimed = claims.get("request_body_sha256")
        if not isinstance(claimed, str):
            raise Refused(401, "no body hash")
        if self.has("case_insensitive_hash"):
            claimed, actual = claimed.lower(), actual.lower()
        same = (
            claimed == actual if self.has("non_constant_time_hash") else hmac.compare_digest(claimed, actual)
        )
        if not same:
            raise Refused(401, "body hash mismatch")


class _FailOpen(Refused):
    def __init__(self) -> None:
        super().__init__(200, "accepted for later verification")


def _claims(token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = json.loads(_b64decode(token.split(".")[1]))
    except (ValueError, IndexError):
        raise Refused(401, "bad claims") from None
    return claims


def _public_key(jwk: dict[str, Any]) -> ec.EllipticCurvePublicKey:
    try:
        key = ECAlgorithm.from_jwk(
            {"kty": "EC", "crv": jwk.get("crv", "P-256"), "x": jwk["x"], "y": jwk["y"]}
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Refused(401, "unusable key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused(401, "not a public key")
    return key
