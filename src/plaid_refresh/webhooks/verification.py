"""Verify a webhook the way Plaid tells receivers to, with no web framework involved.

`WebhookVerifier.verify(headers, body)` takes the request headers and the *raw* body bytes and either
returns the parsed webhook (a generated model from `plaid_refresh_client.models`) or raises one
`WebhookVerificationError` subclass that says which check failed. The checks, in order:

1. a `Plaid-Verification` header is present (names compared case-insensitively);
2. its JWT header says `alg: ES256` (checked before any key is touched, so `none` and HS256 signed
   with the public key never reach a verification routine) and carries a `kid`;
3. the key for that `kid` is fetched with /webhook_verification_key/get through the generated client,
   cached per `kid`, and rejected when it has expired;
4. the ES256 signature verifies with that key (PyJWT, `algorithms=["ES256"]` only);
5. `iat` is at most `max_age` seconds old and at most `max_future_skew` seconds ahead;
6. `request_body_sha256` equals the hex SHA-256 of the raw body (constant-time comparison);
7. the body is a JSON object with string `webhook_type` and `webhook_code`; the pairs the spec
   describes are validated against their schema and parsed into the generated model
   (`plaid_refresh.webhooks.parsing`).

Any other genuine webhook (another product's, such as AUTH DEFAULT_UPDATE or ITEM ERROR, or a code
Plaid adds later) passes the same checks and comes back as `OtherWebhook` with its payload, so a
receiver can acknowledge it: one webhook URL receives every product's webhooks.
Exception messages carry the failing check and the key id, never a token, a key or a credential.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import attrs
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from plaid_refresh_client import Client
from plaid_refresh_client.api.webhooks import webhook_verification_key_get
from plaid_refresh_client.models import (
    JWKPublicKey,
    PlaidError,
    PlaidVersion,
    WebhookVerificationKeyGetRequest,
    WebhookVerificationKeyGetResponse,
)

from plaid_refresh.webhooks.parsing import OtherWebhook, Webhook, parse_payload, webhook_schemas

__all__ = [
    "AsyncWebhookVerifier",
    "BadSignature",
    "BodyMismatch",
    "InvalidPayload",
    "KeyFetchError",
    "MalformedSignature",
    "MissingSignature",
    "OtherWebhook",
    "PlaidKeyFetcher",
    "StaleWebhook",
    "UnknownKey",
    "UnknownWebhook",
    "UnsupportedAlgorithm",
    "Webhook",
    "WebhookVerificationError",
    "WebhookVerifier",
    "parse_webhook",
    "webhook_schemas",
]

HEADER = "plaid-verification"
ALGORITHM = "ES256"
DEFAULT_MAX_AGE = 300.0  # Plaid: reject webhooks whose iat is older than 5 minutes
DEFAULT_MAX_FUTURE_SKEW = 60.0  # tolerated clock skew for an iat ahead of our clock
DEFAULT_KEY_REFRESH = 24 * 3600.0  # re-fetch a cached current key after this long, to learn its expiry
MAX_TOKEN_LENGTH = 4096  # the spec's maxLength for the header
DEFAULT_PLAID_VERSION = "2020-09-14"


# -- errors -----------------------------------------------------------------------------------------


class WebhookVerificationError(Exception):
    """A webhook failed verification. Answer it with a non-2xx status and do not act on it."""


class MissingSignature(WebhookVerificationError):
    """No Plaid-Verification header."""


class MalformedSignature(WebhookVerificationError):
    """The Plaid-Verification header is not a well-formed JWT, or its header lacks a kid."""


class UnsupportedAlgorithm(WebhookVerificationError):
    """The JWT (or the fetched key) names an algorithm other than ES256."""


class UnknownKey(WebhookVerificationError):
    """No usable key for the kid: unknown to the key server, expired, or not a P-256 key."""


class KeyFetchError(WebhookVerificationError):
    """The key server could not be asked (network error, 5xx, unexpected answer). Transient:
    answer with a 5xx so Plaid retries later."""


class BadSignature(WebhookVerificationError):
    """The signature does not verify with the key for the kid, or required claims are missing."""


class StaleWebhook(WebhookVerificationError):
    """`iat` is older than max_age, or too far in the future."""


class BodyMismatch(WebhookVerificationError):
    """`request_body_sha256` does not match the body received."""


class InvalidPayload(WebhookVerificationError):
    """The (authentic) body is not JSON or does not validate against the spec's webhook schema."""


# -- results ----------------------------------------------------------------------------------------

UnknownWebhook = OtherWebhook  # the earlier name of OtherWebhook


def parse_webhook(body: bytes) -> Webhook:
    """The typed webhook for a body, by (webhook_type, webhook_code): see plaid_refresh.webhooks.parsing."""
    return parse_payload(body, InvalidPayload)


# -- key fetching -----------------------------------------------------------------------------------


class KeyFetcher(Protocol):
    """Returns the key for a kid; raises UnknownKey when the key server does not know it and
    KeyFetchError when it cannot be asked."""

    def __call__(self, key_id: str) -> JWKPublicKey: ...


class AsyncKeyFetcher(Protocol):
    def __call__(self, key_id: str) -> Awaitable[JWKPublicKey]: ...


def _key_from_answer(key_id: str, status: int, parsed: object) -> JWKPublicKey:
    if isinstance(parsed, WebhookVerificationKeyGetResponse):
        return parsed.key
    if isinstance(parsed, PlaidError):
        code = str(parsed.error_code)
        if code == "INVALID_WEBHOOK_VERIFICATION_KEY_ID":
            raise UnknownKey(f"the key server does not know key id {key_id!r}")
        raise KeyFetchError(f"the key server answered {status} {code} for key id {key_id!r}")
    raise KeyFetchError(f"the key server answered an unexpected HTTP {status} for key id {key_id!r}")


@attrs.define(repr=False)
class PlaidKeyFetcher:
    """Fetches keys with POST {base_url}/webhook_verification_key/get through the generated client,
    authenticated with the PLAID-CLIENT-ID / PLAID-SECRET headers. repr() hides the credentials."""

    base_url: str
    client_id: str
    secret: str
    timeout: float = 10.0
    plaid_version: str = DEFAULT_PLAID_VERSION
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    _client: Client | None = attrs.field(default=None, init=False)
    _async_client: Client | None = attrs.field(default=None, init=False)

    def __repr__(self) -> str:
        return f"PlaidKeyFetcher(base_url={self.base_url!r})"

    def _make_client(self, httpx_args: dict[str, Any]) -> Client:
        return Client(
            base_url=self.base_url.rstrip("/"),
            headers={"PLAID-CLIENT-ID": self.client_id, "PLAID-SECRET": self.secret},
            timeout=httpx.Timeout(self.timeout),
            raise_on_unexpected_status=False,
            httpx_args=httpx_args,
        )

    def client(self) -> Client:
        """The generated client used for blocking fetches (one connection pool, reused)."""
        if self._client is None:
            self._client = self._make_client({"transport": self.transport} if self.transport else {})
        return self._client

    def async_client(self) -> Client:
        if self._async_client is None:
            args = {"transport": self.async_transport} if self.async_transport else {}
            self._async_client = self._make_client(args)
        return self._async_client

    def close(self) -> None:
        if self._client is not None:
            self._client.get_httpx_client().close()
            self._client = None

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.get_async_httpx_client().aclose()
            self._async_client = None

    def __call__(self, key_id: str) -> JWKPublicKey:
        try:
            answer = webhook_verification_key_get.sync_detailed(
                client=self.client(),
                body=WebhookVerificationKeyGetRequest(key_id=key_id),
                plaid_version=PlaidVersion(self.plaid_version),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            # ValueError covers non-JSON bodies (a proxy's HTML page) and non-IANA statuses.
            raise KeyFetchError(f"could not fetch key id {key_id!r}: {type(exc).__name__}") from None
        return _key_from_answer(key_id, int(answer.status_code), answer.parsed)

    async def fetch_async(self, key_id: str) -> JWKPublicKey:
        try:
            answer = await webhook_verification_key_get.asyncio_detailed(
                client=self.async_client(),
                body=WebhookVerificationKeyGetRequest(key_id=key_id),
                plaid_version=PlaidVersion(self.plaid_version),
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise KeyFetchError(f"could not fetch key id {key_id!r}: {type(exc).__name__}") from None
        return _key_from_answer(key_id, int(answer.status_code), answer.parsed)


# -- the checks -------------------------------------------------------------------------------------


@attrs.frozen
class _CachedKey:
    public_key: ec.EllipticCurvePublicKey
    expired_at: int | None
    fetched_at: float


def _find_header(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == HEADER:
            return value
    raise MissingSignature("no Plaid-Verification header")


def _token_and_kid(headers: Mapping[str, str]) -> tuple[str, str]:
    token = _find_header(headers).strip()
    if not token:
        raise MissingSignature("the Plaid-Verification header is empty")
    if len(token) > MAX_TOKEN_LENGTH:
        raise MalformedSignature("the Plaid-Verification header is too long")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise MalformedSignature("the Plaid-Verification header is not a JWT") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else "?"
        raise UnsupportedAlgorithm(f"JWT alg {shown!r} is not ES256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise MalformedSignature("the JWT header has no usable kid")
    return token, kid


def _load_key(key_id: str, jwk: JWKPublicKey, now: float) -> _CachedKey:
    if jwk.alg != ALGORITHM:
        raise UnsupportedAlgorithm(f"key id {key_id!r} is for alg {jwk.alg[:16]!r}, not ES256")
    if jwk.kid != key_id:
        raise UnknownKey(f"the key server answered another key for key id {key_id!r}")
    if jwk.kty != "EC" or jwk.crv != "P-256":
        raise UnknownKey(f"key id {key_id!r} is not a P-256 EC key")
    try:
        key = ECAlgorithm.from_jwk({"kty": "EC", "crv": "P-256", "x": jwk.x, "y": jwk.y})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise UnknownKey(f"key id {key_id!r} is not a valid P-256 public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UnknownKey(f"key id {key_id!r} is not a public key")
    expired_at = jwk.expired_at if isinstance(jwk.expired_at, int) else None
    return _CachedKey(public_key=key, expired_at=expired_at, fetched_at=now)


@attrs.define(repr=False)
class _Checks:
    """The checks shared by the sync and async verifiers (everything but fetching)."""

    clock: Callable[[], float]
    max_age: float
    max_future_skew: float
    key_refresh: float

    def usable(self, cached: _CachedKey | None, now: float) -> bool:
        """A cached key can be used without asking the key server again."""
        if cached is None:
            return False
        if cached.expired_at is not None:
            return True  # an expired key stays expired: no need to ask again
        return now - cached.fetched_at < self.key_refresh

    def check(self, token: str, kid: str, cached: _CachedKey, body: bytes) -> Webhook:
        now = self.clock()
        if cached.expired_at is not None and cached.expired_at <= now:
            raise UnknownKey(f"key id {kid!r} has expired")
        try:
            claims = jwt.decode(
                token,
                cached.public_key,
                algorithms=[ALGORITHM],
                # iat is checked below against the injectable clock; Plaid's JWTs carry no exp/nbf/aud.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "require": ["iat", "request_body_sha256"],
                },
            )
        except jwt.MissingRequiredClaimError as exc:
            raise BadSignature(f"the JWT lacks the {exc.claim} claim") from None
        except jwt.InvalidAlgorithmError:
            raise UnsupportedAlgorithm("JWT alg is not ES256") from None
        except jwt.PyJWTError:
            raise BadSignature(f"the signature does not verify with key id {kid!r}") from None
        iat = claims["iat"]
        if isinstance(iat, bool) or not isinstance(iat, int | float):
            raise BadSignature("the iat claim is not a number")
        if now - iat > self.max_age:
            raise StaleWebhook(f"iat is {int(now - iat)} s old (limit {int(self.max_age)} s)")
        if iat - now > self.max_future_skew:
            raise StaleWebhook(f"iat is {int(iat - now)} s in the future")
        claimed = claims["request_body_sha256"]
        actual = hashlib.sha256(body).hexdigest()
        if not isinstance(claimed, str) or not hmac.compare_digest(claimed.encode(), actual.encode()):
            raise BodyMismatch("request_body_sha256 does not match the body received")
        return parse_webhook(body)


class WebhookVerifier:
    """Verifies webhooks; thread-safe. Keys are fetched once per kid (concurrent first uses of a kid
    share one fetch) and cached; current keys are re-fetched after `key_refresh` seconds to learn
    whether they expired. Unknown kids are not cached (a forged kid costs one key-server call)."""

    def __init__(
        self,
        key_fetcher: KeyFetcher,
        *,
        clock: Callable[[], float] = time.time,
        max_age: float = DEFAULT_MAX_AGE,
        max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW,
        key_refresh: float = DEFAULT_KEY_REFRESH,
    ) -> None:
        self._fetch = key_fetcher
        self._checks = _Checks(clock, max_age, max_future_skew, key_refresh)
        self._keys: dict[str, _CachedKey] = {}
        self._lock = threading.Lock()
        self._kid_locks: dict[str, threading.Lock] = {}

    def __repr__(self) -> str:
        return f"WebhookVerifier(cached_keys={len(self._keys)})"

    def _key(self, kid: str) -> _CachedKey:
        cached = self._keys.get(kid)
        if self._checks.usable(cached, self._checks.clock()):
            assert cached is not None
            return cached
        with self._lock:
            kid_lock = self._kid_locks.setdefault(kid, threading.Lock())
        with kid_lock:  # one fetch per kid even when many threads need it at once
            cached = self._keys.get(kid)
            now = self._checks.clock()
            if self._checks.usable(cached, now):
                assert cached is not None
                return cached
            try:
                loaded = _load_key(kid, self._fetch(kid), now)
            except BaseException:
                with self._lock:  # unknown kids leave nothing behind
                    if kid not in self._keys:
                        self._kid_locks.pop(kid, None)
                raise
            with self._lock:
                self._keys[kid] = loaded
            return loaded

    def verify(self, headers: Mapping[str, str], body: bytes) -> Webhook:
        """The parsed webhook, or a WebhookVerificationError subclass naming the failed check."""
        token, kid = _token_and_kid(headers)
        return self._checks.check(token, kid, self._key(kid), body)


class AsyncWebhookVerifier:
    """WebhookVerifier for asyncio receivers: the key fetch is awaited (e.g. `PlaidKeyFetcher.fetch_async`).
    Use one instance per event loop."""

    def __init__(
        self,
        key_fetcher: AsyncKeyFetcher,
        *,
        clock: Callable[[], float] = time.time,
        max_age: float = DEFAULT_MAX_AGE,
        max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW,
        key_refresh: float = DEFAULT_KEY_REFRESH,
    ) -> None:
        self._fetch = key_fetcher
        self._checks = _Checks(clock, max_age, max_future_skew, key_refresh)
        self._keys: dict[str, _CachedKey] = {}
        self._kid_locks: dict[str, asyncio.Lock] = {}

    def __repr__(self) -> str:
        return f"AsyncWebhookVerifier(cached_keys={len(self._keys)})"

    async def _key(self, kid: str) -> _CachedKey:
        cached = self._keys.get(kid)
        if self._checks.usable(cached, self._checks.clock()):
            assert cached is not None
            return cached
        kid_lock = self._kid_locks.setdefault(kid, asyncio.Lock())
        async with kid_lock:
            cached = self._keys.get(kid)
            now = self._checks.clock()
            if self._checks.usable(cached, now):
                assert cached is not None
                return cached
            try:
                loaded = _load_key(kid, await self._fetch(kid), now)
            except BaseException:
                if kid not in self._keys:
                    self._kid_locks.pop(kid, None)
                raise
            self._keys[kid] = loaded
            return loaded

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Webhook:
        token, kid = _token_and_kid(headers)
        return self._checks.check(token, kid, await self._key(kid), body)
