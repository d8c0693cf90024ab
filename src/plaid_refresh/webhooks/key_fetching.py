"""Fetching a webhook verification key: POST /webhook_verification_key/get through the toolkit's own
client, so the fetch has the client's bounds: one total deadline (a dripping key server cannot hold
it), a cap on the answer's size, answers checked against the spec, secrets kept out of errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

import attrs
import httpx
from plaid_refresh_client.models import JWKPublicKey

from plaid_refresh.client.async_client import AsyncPlaidRefreshClient
from plaid_refresh.client.config import PLAID_VERSION
from plaid_refresh.client.credentials import Credentials
from plaid_refresh.client.errors import PlaidArgumentError, PlaidError, PlaidMalformedResponse
from plaid_refresh.client.sync_client import PlaidRefreshClient
from plaid_refresh.webhooks.errors import KeyFetchError, UnknownKey

DEFAULT_PLAID_VERSION = PLAID_VERSION
DEFAULT_FETCH_TIMEOUT = 10.0
DEFAULT_KEY_ANSWER_BYTES = 64 * 1024
"""A key answer is under 1 KB (one JWK and a request_id)."""

_UNKNOWN_KID_CODE = "INVALID_WEBHOOK_VERIFICATION_KEY_ID"


class KeyFetcher(Protocol):
    """Returns the key for a kid; raises UnknownKey when the key server does not know it and
    KeyFetchError when it cannot be asked."""

    def __call__(self, key_id: str) -> JWKPublicKey: ...


class AsyncKeyFetcher(Protocol):
    def __call__(self, key_id: str) -> Awaitable[JWKPublicKey]: ...


def _fetch_error(key_id: str, error: Exception) -> Exception:
    if isinstance(error, PlaidArgumentError):  # a kid the spec refuses cannot name a real key
        return UnknownKey(f"key id {key_id[:64]!r} is not a key id the key server accepts")
    key_problems = [p for p in getattr(error, "schema_problems", ()) if p.startswith("$.key.")]
    if isinstance(error, PlaidMalformedResponse) and error.status_code == 200 and key_problems:
        # A whole answer whose key's fields break the spec (alg null, expired_at "soon"): not a usable
        # key (4xx). An answer without a key at all is a broken key server: KeyFetchError (5xx).
        return UnknownKey(f"the key server's key for key id {key_id!r} is not a usable key")
    if isinstance(error, PlaidError) and error.error_code == _UNKNOWN_KID_CODE:
        return UnknownKey(f"the key server does not know key id {key_id!r}")
    if isinstance(error, PlaidError) and error.error_code:
        status = error.status_code
        return KeyFetchError(f"the key server answered {status} {error.error_code} for key id {key_id!r}")
    # Transport and protocol errors: the client's message is already scrubbed of the credentials.
    return KeyFetchError(f"could not fetch key id {key_id!r}: {type(error).__name__}: {error}")


@attrs.define(repr=False)
class PlaidKeyFetcher:
    """Fetches keys with POST {base_url}/webhook_verification_key/get, authenticated with the
    PLAID-CLIENT-ID / PLAID-SECRET headers. `timeout` bounds the whole fetch (connect to last byte);
    answers over `max_response_bytes` are refused. repr() hides the credentials."""

    base_url: str
    client_id: str
    secret: str
    timeout: float = DEFAULT_FETCH_TIMEOUT
    plaid_version: str = attrs.field(default=DEFAULT_PLAID_VERSION)
    transport: httpx.BaseTransport | None = None
    async_transport: httpx.AsyncBaseTransport | None = None
    max_response_bytes: int = DEFAULT_KEY_ANSWER_BYTES
    _client: PlaidRefreshClient | None = attrs.field(default=None, init=False)
    _async_client: AsyncPlaidRefreshClient | None = attrs.field(default=None, init=False)

    @plaid_version.validator
    def _check_version(self, _: object, value: str) -> None:
        if value != PLAID_VERSION:
            raise ValueError(f"plaid_version must be {PLAID_VERSION!r}, the version the client speaks")

    def __attrs_post_init__(self) -> None:
        Credentials(self.client_id, self.secret)  # a bad credential fails here, not at the first webhook

    def __repr__(self) -> str:
        return f"PlaidKeyFetcher(base_url={self.base_url!r})"

    def _options(self) -> dict[str, object]:
        return {
            "client_id": self.client_id,
            "secret": self.secret,
            "timeout": self.timeout,
            "deadline": self.timeout,
            "retries": 0,  # Plaid re-delivers a webhook answered 5xx: that is the retry
            "max_response_bytes": self.max_response_bytes,
        }

    def client(self) -> PlaidRefreshClient:
        """The client used for blocking fetches (one connection pool, reused)."""
        if self._client is None:
            self._client = PlaidRefreshClient.custom(
                self.base_url,
                transport=self.transport,
                **self._options(),  # type: ignore[arg-type]
            )
        return self._client

    def async_client(self) -> AsyncPlaidRefreshClient:
        if self._async_client is None:
            self._async_client = AsyncPlaidRefreshClient.custom(
                self.base_url,
                transport=self.async_transport,
                **self._options(),  # type: ignore[arg-type]
            )
        return self._async_client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()
            self._async_client = None

    def __call__(self, key_id: str) -> JWKPublicKey:
        try:
            return self.client().get_webhook_verification_key(key_id)
        except (PlaidError, PlaidArgumentError) as exc:
            raise _fetch_error(key_id, exc) from None

    async def fetch_async(self, key_id: str) -> JWKPublicKey:
        try:
            return await self.async_client().get_webhook_verification_key(key_id)
        except (PlaidError, PlaidArgumentError) as exc:
            raise _fetch_error(key_id, exc) from None
