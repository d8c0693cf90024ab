"""ClientCore: one client's configuration, and the seam where the sync and async clients meet the
modules that do each job (no I/O here or there):

- operations: the spec's operations, request building and body checks;
- response_reading: an answer to the success model or a typed exception;
- error_mapping: Plaid error bodies and httpx failures to the exception family;
- scrubbing: secrets out of everything a call shows;
- deadline: the per-call deadline and each attempt's timeouts;
- retrying (loop) and retry (which failures, how long to wait);
- call_log: the log lines.

Each step is a method so a subclass (a deliberately broken client in the contract suites, a test)
can replace one of them."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpx
from plaid_refresh_client import Client
from plaid_refresh_client.models import TransactionsRefreshRequest, WebhookVerificationKeyGetRequest

from plaid_refresh.client import (
    body_reading,
    call_log,
    error_mapping,
    operations,
    response_reading,
    retrying,
)
from plaid_refresh.client import deadline as deadline_module
from plaid_refresh.client.call_log import LOGGER_NAME
from plaid_refresh.client.credentials import Credentials
from plaid_refresh.client.error_classes import error_class_for
from plaid_refresh.client.errors import (
    PlaidError,
    PlaidErrorResponse,
    PlaidTimeout,
    PlaidTransportError,
)
from plaid_refresh.client.operations import (
    KEY_GET,
    REFRESH,
    SENT_VERSION,
    USER_AGENT,
    Operation,
    PlaidHeaderAuth,
)
from plaid_refresh.client.retry import RetryPolicy
from plaid_refresh.client.scrubbing import (
    SNIPPET_CHARS,
    header_text,
    scrub_json,
    secret_forms,
    snippet,
)
from plaid_refresh.client.validation import warm_up

if TYPE_CHECKING:
    from httpx._client import UseClientDefault
    from tenacity import RetryCallState

__all__ = [
    "KEY_GET",
    "LOGGER_NAME",
    "REFRESH",
    "SENT_VERSION",
    "SNIPPET_CHARS",
    "USER_AGENT",
    "ClientCore",
    "Operation",
    "PlaidHeaderAuth",
    "scrub_json",
    "secret_forms",
    "snippet",
]


class ClientCore:
    """Configuration plus pure functions over httpx requests/responses."""

    REFRESH = REFRESH
    KEY_GET = KEY_GET

    def __init__(
        self,
        *,
        base_url: str,
        environment: str,
        credentials: Credentials,
        timeout: httpx.Timeout,
        deadline: float | None,
        limits: httpx.Limits,
        retry: RetryPolicy,
        verify: bool | ssl.SSLContext,
        clock: Callable[[], float],
        max_response_bytes: int = body_reading.DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.max_response_bytes = max_response_bytes
        self.base_url = base_url
        self.environment = environment
        self.credentials = credentials
        self.timeout = timeout
        self.deadline = deadline
        self.limits = limits
        self.retry = retry
        self.verify = verify
        self.clock = clock
        self.logger = logging.getLogger(LOGGER_NAME)
        # Time left at least this long leaves every phase as configured (no per-call Timeout to build).
        self._longest_phase = deadline_module.longest_phase(timeout)
        self._host = httpx.URL(base_url).host
        warm_up((REFRESH.path, KEY_GET.path))
        self._fixed_headers = self.fixed_headers()

    # ---- building requests ----------------------------------------------------------------------

    def auth(self) -> httpx.Auth:
        return PlaidHeaderAuth(self.credentials)

    def generated_client(self, transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None) -> Client:
        httpx_args: dict[str, Any] = {"limits": self.limits, "auth": self.auth()}
        if transport is not None:
            httpx_args["transport"] = transport
        return Client(
            base_url=self.base_url,
            headers={
                "User-Agent": USER_AGENT,
                "Accept-Encoding": body_reading.ACCEPT_ENCODING,
                **self._fixed_headers,
            },
            timeout=self.timeout,
            verify_ssl=self.verify,
            follow_redirects=False,
            raise_on_unexpected_status=False,
            httpx_args=httpx_args,
        )

    def refresh_body(self, access_token: str) -> TransactionsRefreshRequest:
        body = TransactionsRefreshRequest(access_token=access_token)
        self.check_body(REFRESH, body.to_dict())
        return body

    def key_get_body(self, key_id: str) -> WebhookVerificationKeyGetRequest:
        body = WebhookVerificationKeyGetRequest(key_id=key_id)
        self.check_body(KEY_GET, body.to_dict())
        return body

    def check_body(self, operation: Operation, body: dict[str, Any]) -> None:
        operations.check_body(operation, body)

    def request_kwargs(self, operation: Operation, body: Any) -> dict[str, Any]:
        """What the generated code builds for this call: method, path, JSON body and headers."""
        return operation.build_kwargs(body=body, plaid_version=SENT_VERSION)

    def fixed_headers(self) -> dict[str, str]:
        """The headers the generated code puts on a request (Plaid-Version, Content-Type), asked of it
        once: they do not depend on the body, so the pool sends them by default."""
        body = TransactionsRefreshRequest(access_token="probe")  # noqa: S106 - never sent
        probe = self.request_kwargs(REFRESH, body)
        return dict(probe.get("headers") or {})

    def send_kwargs(self, operation: Operation, body: Any) -> dict[str, Any]:
        """`request_kwargs`, minus headers equal to the pool's fixed ones: merging a header dict into
        every request is ~3% of a call's CPU (callgrind). Any other headers are still sent per call."""
        kwargs = self.request_kwargs(operation, body)
        if kwargs.get("headers") == self._fixed_headers:
            del kwargs["headers"]
        return kwargs

    # ---- time ------------------------------------------------------------------------------------

    def deadline_at(self) -> float | None:
        return None if self.deadline is None else self.clock() + self.deadline

    def remaining(self, deadline_at: float | None) -> float | None:
        return None if deadline_at is None else deadline_at - self.clock()

    def attempt_timeout(self, remaining: float | None) -> httpx.Timeout | UseClientDefault:
        return deadline_module.attempt_timeout(self.timeout, self._longest_phase, remaining)

    def deadline_error(self, operation: Operation) -> PlaidTimeout:
        return deadline_module.deadline_error(operation.path, self.deadline)

    # ---- reading answers -------------------------------------------------------------------------

    def read_body(self, operation: Operation, response: httpx.Response, secrets: Iterable[str]) -> None:
        """Read a streamed answer's body within `max_response_bytes` (then `response.content` works)."""
        try:
            body = body_reading.read_body(f"POST {operation.path}", response, self.max_response_bytes)
        except PlaidError as error:
            _scrub_content_type(error, secrets)
            raise
        response._content = body  # what httpx's own Response.read() sets

    async def aread_body(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> None:
        """The async twin of `read_body`."""
        try:
            body = await body_reading.aread_body(f"POST {operation.path}", response, self.max_response_bytes)
        except PlaidError as error:
            _scrub_content_type(error, secrets)
            raise
        response._content = body

    def interpret(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[Any, str | None]:
        """The success model and its request_id, or raise the matching PlaidError (carrying the
        server's Retry-After, if it sent one)."""
        try:
            return response_reading.interpret(operation, response, secrets, self.error_from_body)
        except PlaidError as error:
            error.retry_after = retrying.retry_after_seconds(response.headers.get("retry-after"))
            raise

    def error_class(self, error_type: str, error_code: str) -> type[PlaidErrorResponse]:
        return error_class_for(error_type, error_code)

    def error_from_body(self, status: int, data: dict[str, Any], forms: list[str]) -> PlaidErrorResponse:
        return error_mapping.error_from_body(status, data, forms, self.error_class)

    def transport_error(
        self, operation: Operation, exc: Exception, secrets: Iterable[str], remaining: float | None
    ) -> PlaidTransportError:
        return error_mapping.transport_error(
            f"POST {operation.path}",
            exc,
            secret_forms(secrets),
            timeout=self.timeout,
            limits=self.limits,
            host=self._host,
            remaining=remaining,
            deadline_error=lambda: self.deadline_error(operation),
        )

    # ---- retries ---------------------------------------------------------------------------------

    def retry_options(
        self, operation: Operation, secrets: Iterable[str], deadline_at: float | None
    ) -> dict[str, Any]:
        """tenacity's Retrying/AsyncRetrying options for one call (all but `sleep`)."""
        from tenacity import retry_if_exception  # only calls that retry import tenacity

        return {
            "stop": self.stop(deadline_at),
            "wait": self.wait,
            "retry": retry_if_exception(self.should_retry),
            "before_sleep": self.log_retry(operation, secrets),
            "reraise": True,
        }

    @staticmethod
    def replay_first(first: PlaidError, attempt: Callable[[], Any]) -> Callable[[], Any]:
        return retrying.replay_first(first, attempt)

    @staticmethod
    def replay_first_async(
        first: PlaidError, attempt: Callable[[], Awaitable[Any]]
    ) -> Callable[[], Awaitable[Any]]:
        return retrying.replay_first_async(first, attempt)

    def should_retry(self, error: BaseException) -> bool:
        return self.retry.should_retry(error)

    def wait(self, state: RetryCallState) -> float:
        return retrying.wait(self.retry)(state)

    def stop(self, deadline_at: float | None) -> Callable[[RetryCallState], bool]:
        return retrying.stop(self.retry, self.clock, deadline_at)

    # ---- logging ---------------------------------------------------------------------------------

    def log_attempt(
        self,
        operation: Operation,
        attempt: int,
        started: float,
        secrets: Iterable[str],
        *,
        status: int | None = None,
        request_id: str | None = None,
        error: PlaidError | None = None,
    ) -> None:
        if not self.logger.isEnabledFor(logging.DEBUG):
            return
        call_log.log_attempt(
            self.logger,
            operation,
            attempt,
            self.clock() - started,
            secrets,
            status=status,
            request_id=request_id,
            error=error,
        )

    def log_retry(self, operation: Operation, secrets: Iterable[str]) -> Callable[[RetryCallState], None]:
        return call_log.log_retry(self.logger, operation, secrets)


def _scrub_content_type(error: PlaidError, secrets: Iterable[str]) -> None:
    content_type = getattr(error, "content_type", None)
    if isinstance(content_type, str):
        error.content_type = header_text(content_type, secret_forms(secrets))  # type: ignore[attr-defined]
