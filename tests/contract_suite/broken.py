"""Deliberately broken servers: the real reference server behind a small ASGI wrapper that breaks one rule.

Each factory has the signature the contract suite's PLAID_CONTRACT_APP expects (`factory(rate_limited=False)`)
so the unchanged suite can be pointed at it. `unbroken` wraps without changing anything: it proves the
wrapping alone does not make the suite fail.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from contract_tests.server.reference import create_reference_app
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class Exchange:
    """One request and the answer the reference server gave (or is about to be given)."""

    method: str
    path: str
    headers: dict[str, str]  # request headers, lower-case names
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    def request_json(self) -> Any:
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):  # deep JSON: the wrapper itself must not crash
            return None

    def response_json(self) -> Any:
        try:
            return json.loads(self.response_body)
        except (ValueError, RecursionError):
            return None


RequestEdit = Callable[[Exchange], None]  # may change method/headers/body before the server sees them
ResponseEdit = Callable[[Exchange], None]  # may change status/response headers/body before the client does


class Wrapped:
    """An ASGI app that edits the request, calls the reference server, then edits its answer."""

    def __init__(
        self, inner: Any, on_request: RequestEdit | None = None, on_response: ResponseEdit | None = None
    ):
        self.inner = inner
        self.on_request = on_request
        self.on_response = on_response

    def __getattr__(self, name: str) -> Any:  # `signer` etc.: the suite reads the webhook key id through it
        return getattr(self.inner, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        exchange = Exchange(
            method=scope["method"],
            path=scope["path"],
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
        )
        if self.on_request is not None:
            self.on_request(exchange)
        inner_scope = dict(scope)
        inner_scope["method"] = exchange.method
        inner_scope["headers"] = [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in exchange.headers.items()
        ]
        sent = False

        async def inner_receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": exchange.body, "more_body": False}

        chunks: list[bytes] = []

        async def inner_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.inner(inner_scope, inner_receive, inner_send)
        exchange.response_body = b"".join(chunks)
        if self.on_response is not None:
            self.on_response(exchange)
        exchange.response_headers["content-length"] = str(len(exchange.response_body))
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in exchange.response_headers.items()]
        await send({"type": "http.response.start", "status": exchange.status, "headers": headers})
        await send({"type": "http.response.body", "body": exchange.response_body})


def _set_json(exchange: Exchange, value: Any) -> None:
    exchange.response_body = json.dumps(value).encode()


def _error_of(exchange: Exchange) -> dict[str, Any] | None:
    data = exchange.response_json()
    return data if exchange.status >= 400 and isinstance(data, dict) else None


# ---- the variants ----------------------------------------------------------------------------------------


def unbroken(rate_limited: bool = False) -> Wrapped:
    """The reference server through the wrapper, unchanged: the suite must pass."""
    return Wrapped(create_reference_app(rate_limited=rate_limited))


def _drop_request_id(exchange: Exchange) -> None:
    data = exchange.response_json()
    if isinstance(data, dict):
        data.pop("request_id", None)
        _set_json(exchange, data)


def missing_request_id(rate_limited: bool = False) -> Wrapped:
    """No request_id in any answer."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_drop_request_id)


def _invalid_request_as_422(exchange: Exchange) -> None:
    error = _error_of(exchange)
    if error is not None and error.get("error_type") == "INVALID_REQUEST" and exchange.status == 400:
        exchange.status = 422


def wrong_status_for_error_type(rate_limited: bool = False) -> Wrapped:
    """INVALID_REQUEST errors answered 422 (a common framework habit) instead of Plaid's 400."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_invalid_request_as_422)


def _crash_on_bad_json(exchange: Exchange) -> None:
    try:
        json.loads(exchange.body)
    except ValueError:
        exchange.status = 500
        _set_json(
            exchange,
            {
                "error_type": "API_ERROR",
                "error_code": "INTERNAL_SERVER_ERROR",
                "error_message": "an unexpected error occurred",
                "display_message": None,
                "request_id": "crash0000000001",
            },
        )


def server_error_on_malformed_json(rate_limited: bool = False) -> Wrapped:
    """Malformed JSON crashes the server into a (Plaid-shaped) 500 instead of 400 INVALID_BODY."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_crash_on_bad_json)


_KNOWN_FIELDS = frozenset({"client_id", "secret", "access_token", "key_id"})


def _strip_unknown_fields(exchange: Exchange) -> None:
    data = exchange.request_json()
    if isinstance(data, dict):
        exchange.body = json.dumps({k: v for k, v in data.items() if k in _KNOWN_FIELDS}).encode()


def unknown_fields_accepted(rate_limited: bool = False) -> Wrapped:
    """Unknown body fields are silently ignored instead of UNKNOWN_FIELDS."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_request=_strip_unknown_fields)


def _ignore_keys(exchange: Exchange) -> None:
    exchange.headers["plaid-client-id"] = DEFAULT_CLIENT_ID
    exchange.headers["plaid-secret"] = DEFAULT_SECRET
    data = exchange.request_json()
    if isinstance(data, dict) and ("client_id" in data or "secret" in data):
        data.pop("client_id", None)
        data.pop("secret", None)
        exchange.body = json.dumps(data).encode()


def bad_keys_ignored(rate_limited: bool = False) -> Wrapped:
    """Any client_id/secret (or none) is accepted."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_request=_ignore_keys)


def _text_plain(exchange: Exchange) -> None:
    exchange.response_headers["content-type"] = "text/plain; charset=utf-8"


def wrong_content_type(rate_limited: bool = False) -> Wrapped:
    """The same JSON bodies, labelled text/plain."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_text_plain)


def _generic_error(exchange: Exchange) -> None:
    error = _error_of(exchange)
    if error is not None:
        _set_json(exchange, {"error": error.get("error_message"), "request_id": error.get("request_id")})


def error_not_plaid_shaped(rate_limited: bool = False) -> Wrapped:
    """Errors as a generic {"error": ...} body instead of the Plaid error object."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_generic_error)


def _missing_as_invalid_field(exchange: Exchange) -> None:
    error = _error_of(exchange)
    if error is not None and error.get("error_code") == "MISSING_FIELDS":
        error["error_code"] = "INVALID_FIELD"
        _set_json(exchange, error)


def wrong_code_for_missing_field(rate_limited: bool = False) -> Wrapped:
    """A missing required field answered INVALID_FIELD instead of MISSING_FIELDS."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_missing_as_invalid_field)


def _keys_as_401(exchange: Exchange) -> None:
    error = _error_of(exchange)
    if error is not None and error.get("error_code") == "INVALID_API_KEYS":
        exchange.status = 401


def unauthorized_for_bad_keys(rate_limited: bool = False) -> Wrapped:
    """Bad keys answered 401 (the usual HTTP habit) instead of Plaid's 400 INVALID_API_KEYS."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_keys_as_401)


def _html_bad_gateway(exchange: Exchange) -> None:
    if "plaid-version" not in exchange.headers:
        exchange.status = 502
        exchange.response_headers = {"content-type": "text/html"}
        exchange.response_body = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def html_bad_gateway(rate_limited: bool = False) -> Wrapped:
    """A proxy in front that answers an HTML 502 to every request without a Plaid-Version header."""
    return Wrapped(
        create_reference_app(rate_limited=rate_limited), on_request=None, on_response=_html_bad_gateway
    )


def _force_json_content_type(exchange: Exchange) -> None:
    exchange.headers["content-type"] = "application/json"


def content_type_not_checked(rate_limited: bool = False) -> Wrapped:
    """Any Content-Type (or none) is accepted instead of INVALID_HEADERS."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_request=_force_json_content_type)


def _drop_version(exchange: Exchange) -> None:
    exchange.headers.pop("plaid-version", None)


def version_not_checked(rate_limited: bool = False) -> Wrapped:
    """Any Plaid-Version is accepted instead of INCOMPATIBLE_API_VERSION."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_request=_drop_version)


def _echo_secret(exchange: Exchange) -> None:
    error = _error_of(exchange)
    if error is not None:
        error["error_message"] = (
            f"{error.get('error_message')} (secret used: {exchange.headers.get('plaid-secret')})"
        )
        _set_json(exchange, error)


def echoes_secret(rate_limited: bool = False) -> Wrapped:
    """Error messages repeat the PLAID-SECRET header (a leak into every client's logs)."""
    return Wrapped(create_reference_app(rate_limited=rate_limited), on_response=_echo_secret)


BROKEN_VARIANTS: dict[str, Callable[..., Wrapped]] = {
    factory.__name__: factory
    for factory in (
        missing_request_id,
        wrong_status_for_error_type,
        server_error_on_malformed_json,
        unknown_fields_accepted,
        bad_keys_ignored,
        wrong_content_type,
        error_not_plaid_shaped,
        wrong_code_for_missing_field,
        unauthorized_for_bad_keys,
        html_bad_gateway,
        content_type_not_checked,
        version_not_checked,
        echoes_secret,
    )
}
