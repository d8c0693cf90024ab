"""AsyncPlaidRefreshClient: the asyncio client. One httpx connection pool per instance."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import httpx

from plaid_refresh.client import scrubbing
from plaid_refresh.client.base import BaseClient
from plaid_refresh.client.credentials import Secret
from plaid_refresh.client.errors import PlaidConfigurationError, PlaidError

if TYPE_CHECKING:
    from plaid_refresh_client.models import JWKPublicKey, TransactionsRefreshResponse

    from plaid_refresh.client.core import Operation


class AsyncPlaidRefreshClient(BaseClient):
    """The async twin of PlaidRefreshClient (same construction, same errors, same defaults).

    The per-call deadline is enforced with `asyncio.timeout`, so it also bounds a server that drips
    bytes slowly; use it from asyncio code.
    """

    def _open(
        self,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Any] | None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise PlaidConfigurationError(
                "AsyncPlaidRefreshClient needs an async transport (httpx.AsyncBaseTransport)"
            )
        self._sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self._client = self._core.generated_client(transport)
        self._http = self._client.get_async_httpx_client()

    async def refresh(self, access_token: str | Secret) -> TransactionsRefreshResponse:
        """Start an on-demand transactions extraction for the Item. Raises a PlaidError subclass."""
        token = self._token(access_token)
        return await self._call(self._core.REFRESH, self._core.refresh_body(token), (token,))  # type: ignore[no-any-return]

    async def get_webhook_verification_key(self, key_id: str) -> JWKPublicKey:
        """The public JWK that signs webhooks whose JWT header carries `kid == key_id`."""
        body = self._core.key_get_body(self._key_id(key_id))
        return await self._call(self._core.KEY_GET, body, ())  # type: ignore[no-any-return]

    async def _call(self, operation: Operation, body: Any, call_secrets: tuple[str, ...]) -> Any:
        self._check_open()
        core = self._core
        http = self._http
        secrets = (*core.credentials.values(), *call_secrets)
        deadline_at = core.deadline_at()
        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            remaining = core.remaining(deadline_at)
            if remaining is not None and remaining <= 0:
                raise core.deadline_error(operation)
            started = core.clock()
            try:
                async with asyncio.timeout(remaining):
                    # What `http.stream(...)` does, without its context manager's generator.
                    request = http.build_request(
                        **core.send_kwargs(operation, body), timeout=core.attempt_timeout(remaining)
                    )
                    response = await http.send(request, stream=True)
                    try:
                        await core.aread_body(operation, response, secrets)
                    finally:
                        await response.aclose()
            except TimeoutError:
                error: PlaidError = core.deadline_error(operation)
                core.log_attempt(operation, attempts, started, secrets, error=error)
                raise error from None
            except httpx.HTTPError as exc:
                error = core.transport_error(operation, exc, secrets, core.remaining(deadline_at))
                core.log_attempt(operation, attempts, started, secrets, error=error)
                # Not chained: the httpx message is already in ours, scrubbed; a cause would print raw.
                raise error from None
            except PlaidError as error:
                core.log_attempt(operation, attempts, started, secrets, error=error)
                raise
            try:
                result, request_id = core.interpret(operation, response, secrets)
            except PlaidError as error:
                core.log_attempt(operation, attempts, started, secrets, error=error)
                raise
            core.log_attempt(
                operation, attempts, started, secrets, status=response.status_code, request_id=request_id
            )
            return result

        shown = scrubbing.CALL_SECRETS.set(call_secrets)  # httpx/httpcore log lines mask the token too
        try:
            return await attempt()  # most calls succeed at once: tenacity is entered only to retry
        except PlaidError as first:
            try:
                if not core.should_retry(first):
                    raise
                from tenacity import AsyncRetrying  # imported on the first retry, not at import

                retrying = AsyncRetrying(
                    sleep=self._sleep, **core.retry_options(operation, secrets, deadline_at)
                )
                return await retrying(core.replay_first_async(first, attempt))
            except PlaidError as error:
                error.attempts = attempts
                raise
        finally:
            scrubbing.CALL_SECRETS.reset(shown)

    async def aclose(self) -> None:
        """Close the connection pool. Idempotent."""
        if not self._closed:
            self._closed = True
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
