"""Failures to exceptions: a Plaid error body to its per-code class, an httpx failure to a
PlaidTransportError naming the phase. Every string but the codes is scrubbed of secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from plaid_refresh_client.models import PlaidError as PlaidErrorModel
from plaid_refresh_client.types import UNSET

from plaid_refresh.client.errors import (
    PlaidConnectionError,
    PlaidErrorResponse,
    PlaidTimeout,
    PlaidTransportError,
    PlaidTruncatedResponse,
)
from plaid_refresh.client.scrubbing import scrub_json
from plaid_refresh.redaction import scrub

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


def error_fields(data: dict[str, Any], forms: list[str]) -> dict[str, Any]:
    """The exception's keyword fields from a Plaid error object (already schema-valid)."""
    # Codes too: a server may echo a secret as error_code. A scrubbed code maps to no known class.
    clean = scrub_json(data, forms)
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


def error_from_body(
    status: int,
    data: dict[str, Any],
    forms: list[str],
    error_class: Callable[[str, str], type[PlaidErrorResponse]],
) -> PlaidErrorResponse:
    """The per-code exception for a documented status carrying a Plaid error object."""
    fields = error_fields(data, forms)
    cls = error_class(fields["error_type"], fields["error_code"])
    text = fields["error_message"]
    text = text if len(text) <= 500 else text[:500] + "..."
    message = f"{fields['error_code']} ({fields['error_type']}, HTTP {status}): {text}"
    if fields["request_id"]:
        message += f" (request_id {fields['request_id']})"
    return cls(message, status_code=status, **fields)


def transport_error(
    where: str,
    exc: Exception,
    forms: list[str],
    *,
    timeout: httpx.Timeout,
    limits: httpx.Limits,
    host: str,
    remaining: float | None,
    deadline_error: Callable[[], PlaidTimeout],
) -> PlaidTransportError:
    """The PlaidTransportError for an httpx failure of the call `where` ("POST /path")."""
    detail = scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, forms)[:200]
    if isinstance(exc, httpx.TimeoutException):
        phase = next((name for cls, name in _TIMEOUT_PHASES if isinstance(exc, cls)), "other")
        configured = getattr(timeout, phase, None)
        if remaining is not None and (configured is None or remaining < configured):
            return deadline_error()
        if phase == "pool":
            return PlaidTimeout(
                f"{where}: no free connection within {configured:g}s: all "
                f"{limits.max_connections} pooled connections are busy; raise `limits` "
                "(max_connections) or lower concurrency",
                phase=phase,
            )
        return PlaidTimeout(f"{where}: {phase} timeout after {configured:g}s ({detail})", phase=phase)
    phase = next((name for cls, name in _ERROR_PHASES if isinstance(exc, cls)), "other")
    if isinstance(exc, httpx.RemoteProtocolError) and _INCOMPLETE_BODY in str(exc):
        return PlaidTruncatedResponse(
            f"{where}: truncated answer from {host}: the connection closed before the whole body "
            f"arrived ({detail})",
            phase="read",
        )
    return PlaidConnectionError(f"{where}: {phase} failure talking to {host}: {detail}", phase=phase)
