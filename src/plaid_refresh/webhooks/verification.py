"""Verify a webhook the way Plaid tells receivers to, with no web framework involved.

`WebhookVerifier.verify(headers, body)` takes the request headers and the *raw* body bytes and either
returns the parsed webhook (a generated model from `plaid_refresh_client.models`) or raises one
`WebhookVerificationError` subclass that says which check failed. The checks, in order:

1. a `Plaid-Verification` header is present (names compared case-insensitively);
2. its JWT header says `alg: ES256` (checked before any key is touched, so `none` and HS256 signed
   with the public key never reach a verification routine) and carries a `kid`;
3. the key for that `kid` is fetched with /webhook_verification_key/get through the toolkit's client
   (`key_fetching`: one total deadline, a size cap), cached per `kid`, and rejected when it has
   expired or a field of it cannot be understood; one fetch per kid runs at a time, fruitless
   fetches per minute are bounded, and unknown kids are answered from memory under pressure
   (`key_cache`);
4. the ES256 signature verifies with that key (PyJWT, `algorithms=["ES256"]` only);
5. `iat` is a finite number, at most `max_age` seconds old and at most `max_future_skew` seconds ahead;
6. `request_body_sha256` is 64 hex digits equal to the SHA-256 of the raw body (constant-time);
7. the body is a JSON object with string `webhook_type` and `webhook_code`; the pairs the spec
   describes are validated against their schema and parsed into the generated model
   (`plaid_refresh.webhooks.parsing`).

Any other genuine webhook (another product's, such as AUTH DEFAULT_UPDATE or ITEM ERROR, or a code
Plaid adds later) passes the same checks and comes back as `OtherWebhook` with its payload, so a
receiver can acknowledge it: one webhook URL receives every product's webhooks.
Exception messages carry the failing check and the key id, never a token, a key or a credential.
Whatever the header, claims, key or body hold, the only exceptions are WebhookVerificationError
subclasses (tests/webhooks/test_forgery_corpus.py).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import jwt
from plaid_refresh_client.models import JWKPublicKey

from plaid_refresh.webhooks.errors import (
    BadSignature,
    BodyMismatch,
    InvalidPayload,
    KeyFetchError,
    KeyFetchRateLimited,
    MalformedClaims,
    MalformedSignature,
    MissingSignature,
    StaleWebhook,
    UnknownKey,
    UnsupportedAlgorithm,
    WebhookVerificationError,
)
from plaid_refresh.webhooks.key_cache import (
    ALGORITHM,
    DEFAULT_FETCH_WAIT,
    DEFAULT_FETCH_WINDOW,
    DEFAULT_KEY_REFRESH,
    DEFAULT_MAX_FETCHES,
    DEFAULT_MAX_UNKNOWN_KIDS,
    DEFAULT_UNKNOWN_KID_TTL,
    AsyncKeys,
    CachedKey,
    KeyCache,
    SyncKeys,
)
from plaid_refresh.webhooks.key_fetching import (
    DEFAULT_PLAID_VERSION,
    AsyncKeyFetcher,
    KeyFetcher,
    PlaidKeyFetcher,
)
from plaid_refresh.webhooks.parsing import OtherWebhook, Webhook, parse_payload, webhook_schemas

__all__ = [
    "DEFAULT_PLAID_VERSION",
    "AsyncKeyFetcher",
    "AsyncWebhookVerifier",
    "BadSignature",
    "BodyMismatch",
    "InvalidPayload",
    "KeyFetchError",
    "KeyFetchRateLimited",
    "KeyFetcher",
    "MalformedClaims",
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
DEFAULT_MAX_AGE = 300.0  # Plaid: reject webhooks whose iat is older than 5 minutes
DEFAULT_MAX_FUTURE_SKEW = 60.0  # tolerated clock skew for an iat ahead of our clock
MAX_TOKEN_LENGTH = 4096  # the spec's maxLength for the header
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")

# -- results ----------------------------------------------------------------------------------------

UnknownWebhook = OtherWebhook  # the earlier name of OtherWebhook


def parse_webhook(body: bytes) -> Webhook:
    """The typed webhook for a body, by (webhook_type, webhook_code): see plaid_refresh.webhooks.parsing."""
    try:
        return parse_payload(body, InvalidPayload)
    except RecursionError:
        raise InvalidPayload("the body is nested too deeply to read") from None


# -- the checks -------------------------------------------------------------------------------------


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
    except (jwt.PyJWTError, RecursionError):
        raise MalformedSignature("the Plaid-Verification header is not a JWT") from None
    alg = header.get("alg")
    if alg != ALGORITHM:
        shown = alg if isinstance(alg, str) and len(alg) <= 16 else "?"
        raise UnsupportedAlgorithm(f"JWT alg {shown!r} is not ES256")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid or len(kid) > 256:
        raise MalformedSignature("the JWT header has no usable kid")
    return token, kid


def _iat_seconds(iat: Any) -> float:
    """The iat claim as a finite float, or MalformedClaims (NaN, ±Infinity, 1e400, a 400-digit int)."""
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise MalformedClaims("the iat claim is not a number")
    if isinstance(iat, int) and abs(iat) >= 10**12:  # past year 33000: no float conversion attempted
        raise MalformedClaims("the iat claim is not a plausible time")
    seconds = float(iat)
    if not math.isfinite(seconds):
        raise MalformedClaims("the iat claim is not a finite number")
    return seconds


@attrs.define(repr=False)
class _Checks:
    """The checks shared by the sync and async verifiers (everything but fetching)."""

    clock: Callable[[], float]
    max_age: float
    max_future_skew: float

    def check(self, token: str, kid: str, cached: CachedKey, body: bytes) -> Webhook:
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
        except jwt.InvalidSignatureError:
            raise BadSignature(f"the signature does not verify with key id {kid!r}") from None
        except jwt.DecodeError:  # claims that are not a JSON object PyJWT can read (too deep, ...)
            raise MalformedClaims("the JWT claims cannot be read") from None
        except jwt.PyJWTError:
            raise BadSignature(f"the signature does not verify with key id {kid!r}") from None
        except RecursionError:
            raise MalformedClaims("the JWT claims are nested too deeply to read") from None
        iat = _iat_seconds(claims["iat"])
        if now - iat > self.max_age:
            raise StaleWebhook(f"iat is {int(now - iat)} s old (limit {int(self.max_age)} s)")
        if iat - now > self.max_future_skew:
            raise StaleWebhook(f"iat is {int(iat - now)} s in the future")
        claimed = claims["request_body_sha256"]
        if not isinstance(claimed, str) or not _SHA256_HEX.fullmatch(claimed):
            raise MalformedClaims("request_body_sha256 is not 64 hex digits")
        actual = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(claimed.lower().encode("ascii"), actual.encode("ascii")):
            raise BodyMismatch("request_body_sha256 does not match the body received")
        return parse_webhook(body)


@attrs.frozen
class _Options:
    clock: Callable[[], float]
    max_age: float
    max_future_skew: float
    key_refresh: float
    unknown_kid_ttl: float
    max_unknown_kids: int
    max_key_fetches: int
    fetch_window: float
    fetch_wait: float

    def checks(self) -> _Checks:
        return _Checks(self.clock, self.max_age, self.max_future_skew)

    def cache(self) -> KeyCache:
        return KeyCache(
            key_refresh=self.key_refresh,
            unknown_kid_ttl=self.unknown_kid_ttl,
            max_unknown_kids=self.max_unknown_kids,
            max_fetches=self.max_key_fetches,
            fetch_window=self.fetch_window,
        )


class WebhookVerifier:
    """Verifies webhooks; thread-safe. Keys are fetched once per kid (concurrent first uses of a kid
    share one fetch, and its outcome) and cached; current keys are re-fetched after `key_refresh`
    seconds to learn whether they expired. At most `max_key_fetches` fruitless fetches (unknown kid,
    unusable key, failed fetch) per `fetch_window` seconds: beyond, KeyFetchRateLimited (a 5xx for
    Plaid, which delivers again later). A kid the key server does not know is remembered for
    `unknown_kid_ttl` seconds (at most `max_unknown_kids`) and answered from memory once half that
    bound is used (see plaid_refresh.webhooks.key_cache)."""

    def __init__(
        self,
        key_fetcher: KeyFetcher | Callable[[str], JWKPublicKey],
        *,
        clock: Callable[[], float] = time.time,
        max_age: float = DEFAULT_MAX_AGE,
        max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW,
        key_refresh: float = DEFAULT_KEY_REFRESH,
        unknown_kid_ttl: float = DEFAULT_UNKNOWN_KID_TTL,
        max_unknown_kids: int = DEFAULT_MAX_UNKNOWN_KIDS,
        max_key_fetches: int = DEFAULT_MAX_FETCHES,
        fetch_window: float = DEFAULT_FETCH_WINDOW,
        fetch_wait: float = DEFAULT_FETCH_WAIT,
    ) -> None:
        options = _Options(
            clock, max_age, max_future_skew, key_refresh, unknown_kid_ttl, max_unknown_kids,
            max_key_fetches, fetch_window, fetch_wait,
        )  # fmt: skip
        self._checks = options.checks()
        self._keys = SyncKeys(key_fetcher, options.cache(), fetch_wait)

    def __repr__(self) -> str:
        return f"WebhookVerifier(cached_keys={len(self._keys)})"

    def verify(self, headers: Mapping[str, str], body: bytes) -> Webhook:
        """The parsed webhook, or a WebhookVerificationError subclass naming the failed check."""
        token, kid = _token_and_kid(headers)
        return self._checks.check(token, kid, self._keys.get(kid, self._checks.clock()), body)


class AsyncWebhookVerifier:
    """WebhookVerifier for asyncio receivers: the key fetch is awaited (e.g. `PlaidKeyFetcher.fetch_async`).
    Same caching and bounds. Use one instance per event loop."""

    def __init__(
        self,
        key_fetcher: AsyncKeyFetcher | Callable[[str], Awaitable[JWKPublicKey]],
        *,
        clock: Callable[[], float] = time.time,
        max_age: float = DEFAULT_MAX_AGE,
        max_future_skew: float = DEFAULT_MAX_FUTURE_SKEW,
        key_refresh: float = DEFAULT_KEY_REFRESH,
        unknown_kid_ttl: float = DEFAULT_UNKNOWN_KID_TTL,
        max_unknown_kids: int = DEFAULT_MAX_UNKNOWN_KIDS,
        max_key_fetches: int = DEFAULT_MAX_FETCHES,
        fetch_window: float = DEFAULT_FETCH_WINDOW,
        fetch_wait: float = DEFAULT_FETCH_WAIT,
    ) -> None:
        options = _Options(
            clock, max_age, max_future_skew, key_refresh, unknown_kid_ttl, max_unknown_kids,
            max_key_fetches, fetch_window, fetch_wait,
        )  # fmt: skip
        self._checks = options.checks()
        self._keys = AsyncKeys(key_fetcher, options.cache(), fetch_wait)

    def __repr__(self) -> str:
        return f"AsyncWebhookVerifier(cached_keys={len(self._keys)})"

    async def verify(self, headers: Mapping[str, str], body: bytes) -> Webhook:
        token, kid = _token_and_kid(headers)
        key = await self._keys.get(kid, self._checks.clock())
        return self._checks.check(token, kid, key, body)
