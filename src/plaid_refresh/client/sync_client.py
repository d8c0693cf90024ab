"""PlaidRefreshClient: the blocking client. One httpx connection pool per instance; thread-safe."""

from __future__ import annotations

import time
from collections.abc import Callable
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


class PlaidRefreshClient(BaseClient):
    """Calls Plaid's /transactions/refresh (and /webhook_verification_key/get) safely.

    Build one with `PlaidRefreshClient.sandbox(...)`, `.production(...)`, `.custom(base_url, ...)` or
    `.from_env()`, reuse it for the life of the process, and close it (or use `with`).
    """

    def _open(
        self,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Any] | None,
    ) -> None:
        if transport is not None and not isinstance(transport, httpx.BaseTransport):
            raise PlaidConfigurationError("PlaidRefreshClient needs a sync transport (httpx.BaseTransport)")
        self._sleep: Callable[[float], Any] = sleep or time.sleep
        # Imported here, not at import: it loads httpcore, which httpx itself loads only when the
        # first transport is built.
        from plaid_refresh.client import hard_deadline

        self._call_deadline = hard_deadline.CALL_DEADLINE
        if transport is None:  # a transport given by the caller keeps httpx's per-phase bounds only
            transport = hard_deadline.deadline_transport(verify=self._core.verify, limits=self._core.limits)
        self._client = self._core.generated_client(transport)
        self._http = self._client.get_httpx_client()

    def refresh(self, access_token: str | Secret) -> TransactionsRefreshResponse:
        """Start an on-demand transactions extraction for the Item. Raises a PlaidError subclass."""
        token = self._token(access_token)
        return self._call(self._core.REFRESH, self._core.refresh_body(token), (token,))  # type: ignore[no-any-return]

    def get_webhook_verification_key(self, key_id: str) -> JWKPublicKey:
        """The public JWK that signs webhooks whose JWT header carries `kid == key_id`."""
        return self._call(self._core.KEY_GET, self._core.key_get_body(self._key_id(key_id)), ())  # type: ignore[no-any-return]

    def _call(self, operation: Operation, body: Any, call_secrets: tuple[str, ...]) -> Any:
        self._check_open()
        core = self._core
        http = self._http
        call_deadline = self._call_deadline
        secrets = (*core.credentials.values(), *call_secrets)
        deadline_at = core.deadline_at()
        attempts = 0

        def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            remaining = core.remaining(deadline_at)
            if remaining is not None and remaining <= 0:
                raise core.deadline_error(operation)
            started = core.clock()
            # What `http.stream(...)` does, without its context manager's generator (a call's hot
            # path); every socket operation in it ends by the attempt's deadline (hard_deadline.py).
            bound = call_deadline.set(None if remaining is None else time.monotonic() + remaining)
            try:
                try:
                    request = http.build_request(
                        **core.send_kwargs(operation, body), timeout=core.attempt_timeout(remaining)
                    )
                    response = http.send(request, stream=True)
                    try:
                        core.read_body(operation, response, secrets)
                    finally:
                        response.close()
                finally:
                    call_deadline.reset(bound)
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
            return attempt()  # most calls succeed at once: tenacity is entered only to retry
        except PlaidError as first:
            try:
                if not core.should_retry(first):
                    raise
                from tenacity import Retrying  # imported on the first retry, not at import

                retrying = Retrying(sleep=self._sleep, **core.retry_options(operation, secrets, deadline_at))
                return retrying(core.replay_first(first, attempt))
            except PlaidError as error:
                error.attempts = attempts
                raise
        finally:
            scrubbing.CALL_SECRETS.reset(shown)

    def close(self) -> None:
        """Close the connection pool. Idempotent."""
        if not self._closed:
            self._closed = True
            self._http.close()

    def __enter__(self) -> Self:
        self._check_open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
