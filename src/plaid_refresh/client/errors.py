"""One exception family for everything a call can end with, other than success.

PlaidError
├── PlaidErrorResponse            Plaid answered with its error object (at any non-2xx status)
│   ├── InvalidRequestError, InvalidInputError, ItemError, ... one class per error_type   } generated:
│   │   └── MissingFields, ItemLoginRequired, ...        one class per error_code       } error_classes.py
├── PlaidTransportError           no usable answer arrived
│   ├── PlaidTimeout              a phase timed out, or the per-call deadline passed
│   └── PlaidConnectionError      connecting or talking to the server failed
│       └── PlaidTruncatedResponse   the connection closed in the middle of the answer's body
└── PlaidProtocolError            an answer arrived but it is not what the spec promises
    ├── PlaidNonJsonResponse      e.g. an HTML 502 page from a proxy
    ├── PlaidUnexpectedStatus     a JSON answer that is not a Plaid error, at a status the spec does not list
    ├── PlaidMalformedResponse    truncated JSON, missing fields, wrong types
    └── PlaidResponseTooLarge     a body over the client's `max_response_bytes` cap (not read further)

The type and code classes, and the maps from codes to classes, are in `error_classes.py`, which
`make generate` writes from the spec's KnownErrorType, KnownErrorCode and error examples: the list of
codes lives only in the spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # the generated models are imported when the first client is built, not here
    from plaid_refresh_client.models import PlaidError as PlaidErrorModel


class PlaidConfigurationError(ValueError):
    """The client cannot be built as asked (missing environment variable, bad URL, bad credential)."""


class PlaidArgumentError(ValueError):
    """An argument cannot be sent as given (wrong type, or the body would break the spec). The
    message names the field, never its value."""


class PlaidError(Exception):
    """Base of every failure of a call. Attributes are None where they do not apply."""

    error_type: str | None
    error_code: str | None
    error_message: str | None
    display_message: str | None
    request_id: str | None
    status_code: int | None
    documentation_url: str | None
    model: PlaidErrorModel | None
    attempts: int
    retry_after: float | None = None
    """Seconds the server asked to wait (its Retry-After header), when it sent one."""

    def __init__(
        self,
        message: str,
        *,
        error_type: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        display_message: str | None = None,
        request_id: str | None = None,
        status_code: int | None = None,
        documentation_url: str | None = None,
        model: PlaidErrorModel | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type
        self.error_code = error_code
        self.error_message = error_message
        self.display_message = display_message
        self.request_id = request_id
        self.status_code = status_code
        self.documentation_url = documentation_url
        self.model = model
        self.attempts = attempts

    def __str__(self) -> str:
        suffix = f" [attempts={self.attempts}]" if self.attempts > 1 else ""
        return f"{self.message}{suffix}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields would be lost by Exception's default pickling (task queues pickle errors).
        return (_restore, (type(self), self.message), dict(vars(self)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, error_type={self.error_type!r}, "
            f"error_code={self.error_code!r}, request_id={self.request_id!r}, attempts={self.attempts})"
        )


def _restore(cls: type[PlaidError], message: str) -> PlaidError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


# ---- Plaid error objects ---------------------------------------------------------------------------


class PlaidErrorResponse(PlaidError):
    """Plaid answered with its error object. Unknown types/codes land here or on the type class."""

    error_type: str
    error_code: str
    error_message: str
    # Set by the generated subclasses (error_classes.py) to the spec's KnownErrorType / KnownErrorCode
    # values: plain strings, so importing the client needs no generated code.
    type: ClassVar[str | None] = None
    code: ClassVar[str | None] = None


# ---- no usable answer ------------------------------------------------------------------------------


class PlaidTransportError(PlaidError):
    """No answer arrived. `phase` says where it failed: connect, read, write, pool, deadline, ..."""

    def __init__(self, message: str, *, phase: str, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts)
        self.phase = phase


class PlaidTimeout(PlaidTransportError):
    """A timeout phase (connect/read/write/pool) elapsed, or the overall per-call deadline passed."""


class PlaidConnectionError(PlaidTransportError):
    """The connection could not be made, or broke before a full answer arrived."""


class PlaidTruncatedResponse(PlaidConnectionError):
    """The answer's headers arrived but the connection closed before its whole body did (fewer bytes
    than Content-Length, or a chunked body cut short). Retried like any broken connection."""


# ---- an answer that breaks the spec ----------------------------------------------------------------


class PlaidProtocolError(PlaidError):
    """An answer arrived but does not match the spec. `content_type` and a short scrubbed `snippet`
    of the body say what came back."""

    def __init__(
        self, message: str, *, status_code: int, content_type: str, snippet: str, **fields: Any
    ) -> None:
        super().__init__(message, status_code=status_code, **fields)
        self.content_type = content_type
        self.snippet = snippet


class PlaidNonJsonResponse(PlaidProtocolError):
    """The body is not JSON at all (an HTML error page from a proxy or load balancer, an empty body)."""


class PlaidUnexpectedStatus(PlaidProtocolError):
    """A JSON answer that is not a Plaid error object, with an HTTP status the spec does not list for this
    operation (a proxy's 401, 502, 520, ...). A Plaid error object at any status is a PlaidErrorResponse."""


class PlaidMalformedResponse(PlaidProtocolError):
    """JSON that is truncated, or does not match the spec's schema for its status (missing or
    wrongly typed fields). Unknown extra fields are never a reason for this error."""

    schema_problems: tuple[str, ...] = ()
    """Where a whole JSON answer breaks the spec's schema (scrubbed); empty when the JSON does not parse."""


class PlaidResponseTooLarge(PlaidProtocolError):
    """The answer's body (decoded) is larger than the client's `max_response_bytes`. Reading stopped
    at the cap, so memory stays bounded; `limit` is the cap in bytes."""

    def __init__(self, message: str, *, limit: int, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.limit = limit
