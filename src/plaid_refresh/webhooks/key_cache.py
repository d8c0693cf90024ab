"""The verifier's keys: loading a fetched JWK (refusing any field it cannot understand), caching
keys per kid, one fetch per kid at a time whoever asks, a bound on fruitless fetches per window, and
a memory of unknown kids that answers for them once fetches grow scarce.

Only fruitless fetches (an unknown kid, an unusable key, a failed fetch) count against the bound: a
kid that names a real key cannot be invented, so the keys Plaid really uses need no bound. Past it,
no new kid is fetched until the window moves on (KeyFetchRateLimited: a 5xx, Plaid delivers again).
An unknown kid is remembered; while fruitless fetches stay under half the bound it is still asked
again (a key published a moment after its first use is then found at once), beyond that it is
answered from memory. So a flood of forged kids, one kid or many, costs at most `max_fetches` key
server calls per window."""

from __future__ import annotations

import asyncio
import math
import re
import threading
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs
import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from plaid_refresh_client.models import JWKPublicKey

from plaid_refresh.webhooks.errors import (
    KeyFetchError,
    KeyFetchRateLimited,
    UnknownKey,
    UnsupportedAlgorithm,
    WebhookVerificationError,
)

ALGORITHM = "ES256"
DEFAULT_KEY_REFRESH = 24 * 3600.0  # re-fetch a cached current key after this long, to learn its expiry
DEFAULT_UNKNOWN_KID_TTL = 300.0  # an unknown kid is not asked about again for this long
DEFAULT_MAX_UNKNOWN_KIDS = 10_000  # unknown kids remembered at most (oldest forgotten first)
DEFAULT_MAX_FETCHES = 60  # fruitless key fetches per fetch window at most (1 a second)
DEFAULT_FETCH_WINDOW = 60.0
DEFAULT_FETCH_WAIT = 30.0  # a caller waits this long at most for another caller's fetch of its kid


@attrs.frozen
class CachedKey:
    public_key: ec.EllipticCurvePublicKey
    expired_at: float | None
    fetched_at: float


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def expiry(key_id: str, value: Any) -> float | None:
    """`expired_at` as seconds since the epoch; None only when absent or null. A value that is
    present but cannot be understood refuses the key: a key must never be used past its expiry."""
    if value is None or type(value).__name__ == "Unset":
        return None
    if isinstance(value, bool):
        pass
    elif isinstance(value, int):
        if abs(value) < 10**12:
            return float(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            return value
    elif isinstance(value, str) and len(value) <= 40:
        text = value.strip()
        if re.fullmatch(r"-?[0-9]{1,12}(\.[0-9]{1,9})?", text):
            return float(text)
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when.timestamp()
    raise UnknownKey(f"key id {key_id!r} has an expired_at that cannot be understood: refused")


def load_key(key_id: str, jwk: JWKPublicKey, now: float) -> CachedKey:
    """The usable public key, or UnknownKey / UnsupportedAlgorithm naming the field at fault."""
    alg = jwk.alg
    if alg != ALGORITHM:
        shown = alg[:16] if isinstance(alg, str) else type(alg).__name__
        raise UnsupportedAlgorithm(f"key id {key_id!r} is for alg {shown!r}, not ES256")
    if jwk.kid != key_id:
        raise UnknownKey(f"the key server answered another key for key id {key_id!r}")
    if jwk.kty != "EC" or jwk.crv != "P-256":
        raise UnknownKey(f"key id {key_id!r} is not a P-256 EC key")
    x, y = _text(jwk.x), _text(jwk.y)
    if x is None or y is None or len(x) > 100 or len(y) > 100:
        raise UnknownKey(f"key id {key_id!r} has no usable x and y coordinates")
    expired_at = expiry(key_id, jwk.expired_at)
    try:
        key = ECAlgorithm.from_jwk({"kty": "EC", "crv": "P-256", "x": x, "y": y})
    except (jwt.PyJWTError, ValueError, TypeError):
        raise UnknownKey(f"key id {key_id!r} is not a valid P-256 public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise UnknownKey(f"key id {key_id!r} is not a public key")
    return CachedKey(public_key=key, expired_at=expired_at, fetched_at=now)


_Refusal = type[UnknownKey | UnsupportedAlgorithm]


class KeyCache:
    """Known keys, unknown kids and the fetch-rate window. Not locked: the callers below lock it."""

    def __init__(
        self,
        *,
        key_refresh: float,
        unknown_kid_ttl: float,
        max_unknown_kids: int,
        max_fetches: int,
        fetch_window: float,
    ) -> None:
        self.key_refresh = key_refresh
        self.unknown_kid_ttl = unknown_kid_ttl
        self.max_unknown_kids = max_unknown_kids
        self.max_fetches = max_fetches
        self.fetch_window = fetch_window
        self.keys: dict[str, CachedKey] = {}
        self.unknown: OrderedDict[str, tuple[float, type[UnknownKey | UnsupportedAlgorithm], str]] = (
            OrderedDict()
        )
        self.fetches: deque[float] = deque()

    def _purge(self, now: float) -> None:
        while self.fetches and self.fetches[0] <= now - self.fetch_window:
            self.fetches.popleft()

    def lookup(self, kid: str, now: float) -> CachedKey | None:
        """A cached key usable without asking the key server; raises UnknownKey for a kid known
        to be unknown while fetches are scarce; None when a fetch is needed."""
        cached = self.keys.get(kid)
        if cached is not None and (
            cached.expired_at is not None or now - cached.fetched_at < self.key_refresh
        ):
            return cached  # an expired key stays expired: no need to ask again
        remembered = self.unknown.get(kid)
        if remembered is not None:
            until, cls, message = remembered
            if now >= until:
                del self.unknown[kid]
            else:
                self._purge(now)
                if 2 * len(self.fetches) >= self.max_fetches:
                    raise cls(message)
        return None

    def start_fetch(self, now: float) -> None:
        """Raise KeyFetchRateLimited once `max_fetches` fruitless fetches fell in `fetch_window`."""
        self._purge(now)
        if len(self.fetches) >= self.max_fetches:
            raise KeyFetchRateLimited(
                f"{self.max_fetches} fruitless key fetches in {self.fetch_window:g}s: not asking the key "
                "server now (answer 5xx; Plaid delivers again later)"
            )

    def fruitless(self, now: float) -> None:
        """Count a fetch that found no usable key."""
        self.fetches.append(now)

    def store(self, kid: str, key: CachedKey) -> None:
        self.keys[kid] = key
        self.unknown.pop(kid, None)

    def remember_unknown(self, kid: str, error: UnknownKey | UnsupportedAlgorithm, now: float) -> None:
        self.unknown[kid] = (now + self.unknown_kid_ttl, type(error), str(error))
        self.unknown.move_to_end(kid)
        while len(self.unknown) > self.max_unknown_kids:
            self.unknown.popitem(last=False)


def _outcome_copy(error: BaseException) -> BaseException:
    """The same failure for another waiter (a fresh exception: one object raised in many threads
    would collect all their tracebacks)."""
    if isinstance(error, UnknownKey | UnsupportedAlgorithm | KeyFetchError):
        return type(error)(str(error))
    return KeyFetchError(f"the key fetch failed: {type(error).__name__}")


def _fetched(fetch: Callable[[str], JWKPublicKey], kid: str) -> JWKPublicKey:
    try:
        return fetch(kid)
    except WebhookVerificationError:
        raise
    except Exception as exc:  # a custom fetcher's bug still ends as a 5xx, not a crash
        raise KeyFetchError(f"the key fetcher failed: {type(exc).__name__}") from exc


class _Flight:
    """One fetch in progress, that every caller needing the same kid waits for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.key: CachedKey | None = None
        self.error: BaseException | None = None


class SyncKeys:
    """Keys for the blocking verifier: thread-safe, one fetch per kid at a time."""

    def __init__(self, fetch: Callable[[str], JWKPublicKey], cache: KeyCache, fetch_wait: float) -> None:
        self._fetch = fetch
        self._cache = cache
        self._fetch_wait = fetch_wait
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def __len__(self) -> int:
        return len(self._cache.keys)

    def get(self, kid: str, now: float) -> CachedKey:
        with self._lock:
            cached = self._cache.lookup(kid, now)
            if cached is not None:
                return cached
            flight = self._flights.get(kid)
            leader = flight is None
            if flight is None:
                self._cache.start_fetch(now)
                flight = self._flights[kid] = _Flight()
        if not leader:
            if not flight.done.wait(self._fetch_wait):
                raise KeyFetchError(f"gave up waiting for the fetch of key id {kid!r}")
            if flight.error is not None:
                raise _outcome_copy(flight.error)
            assert flight.key is not None
            return flight.key
        try:
            flight.key = load_key(kid, _fetched(self._fetch, kid), now)
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                self._flights.pop(kid, None)
                if flight.key is not None:
                    self._cache.store(kid, flight.key)
                else:
                    self._cache.fruitless(now)
                    if isinstance(flight.error, UnknownKey | UnsupportedAlgorithm):
                        self._cache.remember_unknown(kid, flight.error, now)
            flight.done.set()
        return flight.key


class AsyncKeys:
    """Keys for the asyncio verifier (one event loop): one fetch per kid at a time."""

    def __init__(
        self, fetch: Callable[[str], Awaitable[JWKPublicKey]], cache: KeyCache, fetch_wait: float
    ) -> None:
        self._fetch = fetch
        self._cache = cache
        self._fetch_wait = fetch_wait
        self._flights: dict[str, asyncio.Future[CachedKey]] = {}

    def __len__(self) -> int:
        return len(self._cache.keys)

    async def get(self, kid: str, now: float) -> CachedKey:
        cached = self._cache.lookup(kid, now)
        if cached is not None:
            return cached
        flight = self._flights.get(kid)
        if flight is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(flight), self._fetch_wait)
            except TimeoutError:
                raise KeyFetchError(f"gave up waiting for the fetch of key id {kid!r}") from None
            except (UnknownKey, UnsupportedAlgorithm, KeyFetchError) as error:
                raise _outcome_copy(error) from None
        self._cache.start_fetch(now)
        flight = self._flights[kid] = asyncio.get_running_loop().create_future()
        try:
            try:
                jwk = await self._fetch(kid)
            except WebhookVerificationError:
                raise
            except Exception as exc:
                raise KeyFetchError(f"the key fetcher failed: {type(exc).__name__}") from exc
            key = load_key(kid, jwk, now)
        except BaseException as error:
            self._cache.fruitless(now)
            if isinstance(error, UnknownKey | UnsupportedAlgorithm):
                self._cache.remember_unknown(kid, error, now)
            if not flight.done():
                flight.set_exception(_outcome_copy(error))
                flight.exception()  # marks it retrieved when nobody waits
            raise
        else:
            self._cache.store(kid, key)
            flight.set_result(key)
            return key
        finally:
            self._flights.pop(kid, None)
