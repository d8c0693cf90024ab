"""What the sync and async clients share: building requests with the generated code, reading
answers safely, mapping failures to the exception family, retry decisions and log lines. No I/O."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from plaid_refresh_client import Client
from plaid_refresh_client.api.transactions import transactions_refresh
from plaid_refresh_client.api.webhooks import webhook_verification_key_get
from plaid_refresh_client.models import (
    JWKPublicKey,
    PlaidVersion,
    TransactionsRefreshRequest,
    TransactionsRefreshResponse,
    WebhookVerificationKeyGetRequest,
    WebhookVerificationKeyGetResponse,
)
from plaid_refresh_client.models import PlaidError as PlaidErrorModel
from plaid_refresh_client.types import UNSET

from plaid_refresh.client.config import PLAID_VERSION
from plaid_refresh.client.credentials import Credentials
from plaid_refresh.client.error_classes import error_class_for
from plaid_refresh.client.errors import (
    PlaidArgumentError,
    PlaidConnectionError,
    PlaidError,
    PlaidErrorResponse,
    PlaidMalformedResponse,
    PlaidNonJsonResponse,
    PlaidTimeout,
    PlaidTransportError,
    PlaidTruncatedResponse,
    PlaidUnexpectedStatus,
)
from plaid_refresh.client.retry import RetryPolicy
from plaid_refresh.client.validation import (
    describe_errors,
    documented_statuses,
    error_object_validator,
    request_validator,
    response_validator,
    warm_up,
)
from plaid_refresh.redaction import REDACTED, scrub

if TYPE_CHECKING:
    from httpx._client import UseClientDefault
    from tenacity import RetryCallState

LOGGER_NAME = "plaid_refresh.client"
SNIPPET_CHARS = 200
USER_AGENT = "plaid-refresh-toolkit"

# The generated enum must know the version this client sends (raises at import otherwise).
SENT_VERSION = PlaidVersion(PLAID_VERSION)


@dataclass(frozen=True)
class Operation:
    """One spec operation: the generated request builder and the success model."""

    path: str
    build_kwargs: Callable[..., dict[str, Any]]
    parse: Callable[[dict[str, Any]], Any]


def _parse_refresh(data: dict[str, Any]) -> TransactionsRefreshResponse:
    return TransactionsRefreshResponse.from_dict(data)


def _parse_key(data: dict[str, Any]) -> JWKPublicKey:
    return WebhookVerificationKeyGetResponse.from_dict(data).key


# The generated `_get_kwargs` builds method, path, JSON body and headers exactly as the spec says; the
# generated `sync_detailed` is not used because it crashes on non-JSON bodies and non-IANA statuses.
REFRESH = Operation("/transactions/refresh", transactions_refresh._get_kwargs, _parse_refresh)
KEY_GET = Operation("/webhook_verification_key/get", webhook_verification_key_get._get_kwargs, _parse_key)


class PlaidHeaderAuth(httpx.Auth):
    """Adds PLAID-CLIENT-ID / PLAID-SECRET to every request (the only place credentials are sent).
    Not default headers of the pool: httpx.Headers' repr would print them."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.update(self._credentials.headers())
        yield request

    def __repr__(self) -> str:
        return "PlaidHeaderAuth()"


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as written, and as it appears inside a JSON string (escaped)."""
    forms: set[str] = set()
    for value in secrets:
        if value:
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
    return sorted(forms, key=len, reverse=True)


def scrub_json(value: Any, forms: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, forms)
    if isinstance(value, dict):
        return {k: scrub_json(v, forms) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, forms) for v in value]
    return value


def snippet(raw: bytes, forms: list[str]) -> str:
    """A short, single-line, scrubbed view of a body for error messages. A body cut short (by the
    server, or here at SNIPPET_CHARS) may end in the first characters of a secret: those go too."""
    text = " ".join(scrub(raw.decode("utf-8", "replace"), forms).split())
    cut = len(text) > SNIPPET_CHARS
    text = _redact_cut_secret(text[:SNIPPET_CHARS], forms)
    return text + "..." if cut else text


def _redact_cut_secret(text: str, forms: list[str]) -> str:
    for form in forms:
        form = " ".join(form.split())
        for n in range(min(len(form) - 1, len(text)), 0, -1):
            if text.endswith(form[:n]):
                return text[:-n] + REDACTED
    return text


_TIMEOUT_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)
_ERROR_PHASES: tuple[tuple[type[httpx.HTTPError], str], ...] = (
    (httpx.ConnectError, "connect"),
    (httpx.ProxyError, "connect"),
    (httpx.UnsupportedProtocol, "connect"),
    (httpx.ReadError, "read"),
    (httpx.WriteError, "write"),
    (httpx.CloseError, "read"),
    (httpx.RemoteProtocolError, "protocol"),
    (httpx.LocalProtocolError, "protocol"),
    (httpx.DecodingError, "decode"),
)


# h11's words (through httpcore and httpx) for a body cut short: fewer bytes than Content-Length, or
# a chunked body without its last chunk.
_INCOMPLETE_BODY = "peer closed connection without sending complete message body"


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
    ) -> None:
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
        # Time left at least this long leaves every phase as configured (no per-call Timeout to build);
        # a phase without a timeout is always capped by the deadline.
        phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        self._longest_phase = max(float("inf") if p is None else p for p in phases)
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
            headers={"User-Agent": USER_AGENT, **self._fixed_headers},
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
        problems = describe_errors(request_validator(operation.path), body)
        if problems:
            raise PlaidArgumentError(
                f"POST {operation.path}: the request body would break the spec: " + "; ".join(problems)
            )

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
        """The configured phases, each capped by the time left before the deadline (the pool's own
        timeout, which is the configured one, while the deadline is further away than every phase)."""
        if remaining is None or remaining >= self._longest_phase:
            return httpx.USE_CLIENT_DEFAULT
        cap = max(remaining, 0.001)
        t = self.timeout
        return httpx.Timeout(
            connect=min(t.connect or cap, cap),
            read=min(t.read or cap, cap),
            write=min(t.write or cap, cap),
            pool=min(t.pool or cap, cap),
        )

    def deadline_error(self, operation: Operation) -> PlaidTimeout:
        return PlaidTimeout(
            f"POST {operation.path}: the per-call deadline of {self.deadline:g}s passed", phase="deadline"
        )

    # ---- reading answers -------------------------------------------------------------------------

    def interpret(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[Any, str | None]:
        """The success model and its request_id, or raise the matching PlaidError. Generated code
        never sees a body that has not been validated against the spec."""
        status = response.status_code
        raw = response.content
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            where, forms, content_type = self._failure_context(operation, response, secrets)
            looks_json = "json" in content_type.lower() or raw.lstrip()[:1] in (b"{", b"[")
            view = snippet(raw, forms)
            if looks_json and raw.strip():
                raise PlaidMalformedResponse(
                    f"{where} answered HTTP {status} with JSON that does not parse (truncated?): {view!r}",
                    status_code=status,
                    content_type=content_type,
                    snippet=view,
                ) from None
            what = "an empty body" if not raw.strip() else f"a non-JSON body: {view!r}"
            raise PlaidNonJsonResponse(
                f"{where} answered HTTP {status} with content-type {content_type or 'none'!r} and {what}",
                status_code=status,
                content_type=content_type,
                snippet=view,
            ) from None

        documented = documented_statuses(operation.path)
        if status not in documented:
            where, forms, content_type = self._failure_context(operation, response, secrets)
            fields: dict[str, Any] = {}
            if not describe_errors(error_object_validator(), data, limit=1):
                fields = self._error_fields(status, data, forms)
            view = snippet(raw, forms)
            listed = ", ".join(str(s) for s in sorted(documented))
            raise PlaidUnexpectedStatus(
                f"{where} answered HTTP {status}, a status the spec does not list for it ({listed}); "
                f"body: {view!r}",
                status_code=status,
                content_type=content_type,
                snippet=view,
                **fields,
            )

        problems = describe_errors(response_validator(operation.path, status), data)
        if problems:
            where, forms, content_type = self._failure_context(operation, response, secrets)
            view = snippet(raw, forms)
            raise PlaidMalformedResponse(
                f"{where} answered HTTP {status} with a body that does not match the spec: "
                + scrub("; ".join(problems), forms),
                status_code=status,
                content_type=content_type,
                snippet=view,
            )
        if 200 <= status < 300:
            request_id = data.get("request_id")
            return operation.parse(data), request_id if isinstance(request_id, str) else None
        raise self.error_from_body(status, data, secret_forms(secrets))

    @staticmethod
    def _failure_context(
        operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[str, list[str], str]:
        """What every failure message needs; built only on failure (a success pays none of it)."""
        forms = secret_forms(secrets)
        return f"POST {operation.path}", forms, scrub(response.headers.get("content-type", ""), forms)[:100]

    def _error_fields(self, status: int, data: dict[str, Any], forms: list[str]) -> dict[str, Any]:
        # Codes stay verbatim (they are matched on); every other string is scrubbed of secrets.
        clean = scrub_json(data, forms)
        clean["error_type"], clean["error_code"] = data["error_type"], data["error_code"]
        model = PlaidErrorModel.from_dict(clean)
        return {
            "error_type": str(model.error_type),
            "error_code": str(model.error_code),
            "error_message": model.error_message,
            "display_message": model.display_message,
            "request_id": None if model.request_id is UNSET else str(model.request_id),
            "documentation_url": None if model.documentation_url is UNSET else str(model.documentation_url),
            "model": model,
        }

    def error_class(self, error_type: str, error_code: str) -> type[PlaidErrorResponse]:
        return error_class_for(error_type, error_code)

    def error_from_body(self, status: int, data: dict[str, Any], forms: list[str]) -> PlaidErrorResponse:
        fields = self._error_fields(status, data, forms)
        cls = self.error_class(fields["error_type"], fields["error_code"])
        text = fields["error_message"]
        text = text if len(text) <= 500 else text[:500] + "..."
        message = f"{fields['error_code']} ({fields['error_type']}, HTTP {status}): {text}"
        if fields["request_id"]:
            message += f" (request_id {fields['request_id']})"
        return cls(message, status_code=status, **fields)

    def transport_error(
        self, operation: Operation, exc: Exception, secrets: Iterable[str], remaining: float | None
    ) -> PlaidTransportError:
        forms = secret_forms(secrets)
        detail = scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, forms)[:200]
        where = f"POST {operation.path}"
        if isinstance(exc, httpx.TimeoutException):
            phase = next((name for cls, name in _TIMEOUT_PHASES if isinstance(exc, cls)), "other")
            configured = getattr(self.timeout, phase, None)
            if remaining is not None and (configured is None or remaining < configured):
                return self.deadline_error(operation)
            if phase == "pool":
                return PlaidTimeout(
                    f"{where}: no free connection within {configured:g}s: all "
                    f"{self.limits.max_connections} pooled connections are busy; raise `limits` "
                    "(max_connections) or lower concurrency",
                    phase=phase,
                )
            return PlaidTimeout(f"{where}: {phase} timeout after {configured:g}s ({detail})", phase=phase)
        phase = next((name for cls, name in _ERROR_PHASES if isinstance(exc, cls)), "other")
        host = httpx.URL(self.base_url).host
        if isinstance(exc, httpx.RemoteProtocolError) and _INCOMPLETE_BODY in str(exc):
            return PlaidTruncatedResponse(
                f"{where}: truncated answer from {host}: the connection closed before the whole body "
                f"arrived ({detail})",
                phase="read",
            )
        return PlaidConnectionError(f"{where}: {phase} failure talking to {host}: {detail}", phase=phase)

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
        """`attempt`, except that its first run re-raises the failure the call already had: tenacity
        then counts, stops, waits and logs it as attempt 1, exactly as if it had made it."""
        pending = [first]

        def run() -> Any:
            if pending:
                raise pending.pop()
            return attempt()

        return run

    @staticmethod
    def replay_first_async(
        first: PlaidError, attempt: Callable[[], Awaitable[Any]]
    ) -> Callable[[], Awaitable[Any]]:
        """The async twin of `replay_first`."""
        pending = [first]

        async def run() -> Any:
            if pending:
                raise pending.pop()
            return await attempt()

        return run

    def should_retry(self, error: BaseException) -> bool:
        return self.retry.should_retry(error)

    def wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        return self.retry.backoff(error, state.attempt_number)

    def stop(self, deadline_at: float | None) -> Callable[[RetryCallState], bool]:
        def _stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.retry.max_attempts:
                return True
            return deadline_at is not None and self.clock() + state.upcoming_sleep >= deadline_at

        return _stop

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
        forms = secret_forms(secrets)
        if error is not None:
            status, request_id = error.status_code, error.request_id
        outcome = "ok" if error is None else (error.error_code or type(error).__name__)
        elapsed = self.clock() - started
        self.logger.debug(
            "POST %s attempt=%d status=%s request_id=%s outcome=%s elapsed=%.3fs",
            operation.path,
            attempt,
            status,
            scrub(str(request_id), forms),
            scrub(outcome, forms),
            elapsed,
            extra={
                "plaid_method": "POST",
                "plaid_path": operation.path,
                "plaid_attempt": attempt,
                "plaid_status": status,
                "plaid_elapsed": elapsed,
            },
        )

    def log_retry(self, operation: Operation, secrets: Iterable[str]) -> Callable[[RetryCallState], None]:
        def _log(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            label = type(error).__name__
            if isinstance(error, PlaidError) and error.error_code:
                label = error.error_code
            self.logger.info(
                "POST %s attempt=%d failed (%s); retrying in %.2fs",
                operation.path,
                state.attempt_number,
                scrub(label, secret_forms(secrets)),
                state.upcoming_sleep,
            )

        return _log
