"""Strategies drawn from the spec, an openapi-core adapter for httpx requests, and the contract checks.

Every check takes a client *factory* so the same checks can run against deliberately broken client
variants (see variants.py) and prove they fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from plaid_refresh_client.models import (
    JWKPublicKey,
    KnownErrorCode,
    KnownErrorType,
    TransactionsRefreshResponse,
)
from werkzeug.datastructures import Headers, ImmutableMultiDict

from plaid_refresh import AsyncPlaidRefreshClient, PlaidError, PlaidErrorResponse, PlaidRefreshClient
from plaid_refresh.spec import load_spec, resolve, spec_path

CLIENT_ID = "5f0bd2b1c0c0b2001234abcd"
SECRET = "0f5bd2b1c0c0b2001234abcdef0123"
REFRESH = "/transactions/refresh"
KEY_GET = "/webhook_verification_key/get"
OPERATIONS = (REFRESH, KEY_GET)

ClientFactory = Callable[..., PlaidRefreshClient]
"""factory(transport=..., **options) -> a client talking to https://sandbox.plaid.com through `transport`."""


# Bounded, deterministic hypothesis runs (no example database): the same draws on every CI run.
settings.register_profile(
    "client-contract",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class ContractViolation(AssertionError):
    """The client broke the contract."""


def real_client(**options: Any) -> PlaidRefreshClient:
    return PlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=SECRET, sleep=lambda _: None, **options)


def real_async_client(**options: Any) -> AsyncPlaidRefreshClient:
    async def no_sleep(_: float) -> None:
        return None

    return AsyncPlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=SECRET, sleep=no_sleep, **options)


# ---- strategies from the spec ------------------------------------------------------------------------

# Always pass config=: otherwise a schemathesis.toml found on disk would be loaded implicitly.
_CONFIG = {"generation": {"mode": "positive", "database": "none"}}


@cache
def _request_schema() -> Any:
    return schemathesis.openapi.from_path(spec_path(), config=schemathesis.Config.from_dict(_CONFIG))


def request_bodies(path: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid request bodies of an operation, drawn by schemathesis from the spec."""
    operation = _request_schema()[path]["POST"]
    return operation.as_strategy().map(lambda case: case.body)  # type: ignore[no-any-return]


def access_tokens() -> st.SearchStrategy[str]:
    return request_bodies(REFRESH).map(lambda body: body["access_token"])


def key_ids() -> st.SearchStrategy[str]:
    return request_bodies(KEY_GET).map(lambda body: body["key_id"])


def documented(path: str) -> dict[int, dict[str, Any]]:
    """{status: resolved response object} for an operation."""
    responses = load_spec()["paths"][path]["post"]["responses"]
    # "default" (any other status) has no status of its own.
    return {int(status): resolve(response) for status, response in responses.items() if status.isdigit()}


@cache
def _response_schema() -> Any:
    """Each documented response schema, dressed as the request body of a fake operation, so
    schemathesis can draw response bodies from the spec too."""
    spec = load_spec()
    paths: dict[str, Any] = {}
    for path in OPERATIONS:
        for status, response in documented(path).items():
            media = response["content"]["application/json"]
            paths[_fake(path, status)] = {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": media["schema"]}},
                    },
                    "responses": {"200": {"description": "unused"}},
                }
            }
    document = {
        "openapi": "3.1.0",
        "info": {"title": "response bodies as request bodies", "version": spec["info"]["version"]},
        "paths": paths,
        "components": spec["components"],
    }
    return schemathesis.openapi.from_dict(document, config=schemathesis.Config.from_dict(_CONFIG))


def _fake(path: str, status: int) -> str:
    return f"/responses{path}/{status}"


def response_bodies(path: str, status: int) -> st.SearchStrategy[dict[str, Any]]:
    """Bodies valid against the spec's schema for (operation, status), extra fields included."""
    operation = _response_schema()[_fake(path, status)]["POST"]
    return operation.as_strategy().map(lambda case: case.body)  # type: ignore[no-any-return]


def named_examples(path: str) -> list[tuple[int, str, dict[str, Any]]]:
    """(status, example name, body) for every named example of every documented response."""
    found = []
    for status, response in documented(path).items():
        for name, example in response["content"]["application/json"].get("examples", {}).items():
            found.append((status, name, example["value"]))
    return found


# ---- requests: openapi-core plus the rules the spec cannot say ---------------------------------------


class HttpxOpenAPIRequest:
    """openapi-core's Request protocol over an httpx.Request."""

    def __init__(self, request: httpx.Request) -> None:
        self.request = request
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode())),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def host_url(self) -> str:
        return f"{self.request.url.scheme}://{self.request.url.netloc.decode()}"

    @property
    def path(self) -> str:
        return str(self.request.url.path)

    @property
    def method(self) -> str:
        return self.request.method.lower()

    @property
    def body(self) -> bytes | None:
        return self.request.content

    @property
    def content_type(self) -> str:
        return str(self.request.headers.get("content-type", "")).lower()


@cache
def _openapi() -> Any:
    return OpenAPI.from_file_path(str(spec_path()))


def check_request_matches_spec(request: httpx.Request) -> None:
    """openapi-core: path, method, headers (incl. the apiKey security headers), body schema."""
    try:
        _openapi().validate_request(HttpxOpenAPIRequest(request))
    except Exception as exc:
        raise ContractViolation(f"{request.method} {request.url.path} breaks the spec: {exc!r}") from None


def check_plaid_version(request: httpx.Request) -> None:
    """The spec makes Plaid-Version optional; this client must always send the current version (the
    spec lists it first; the others are earlier versions Plaid still accepts)."""
    version = load_spec()["components"]["schemas"]["PlaidVersion"]["enum"][0]
    sent = request.headers.get("Plaid-Version")
    if sent != version:
        raise ContractViolation(f"Plaid-Version must be {version!r}, was {sent!r}")


def check_credentials_only_in_headers(request: httpx.Request) -> None:
    """Credentials go as PLAID-CLIENT-ID / PLAID-SECRET headers and never in the body."""
    if request.headers.get("PLAID-CLIENT-ID") != CLIENT_ID:
        raise ContractViolation("PLAID-CLIENT-ID header missing or wrong")
    if request.headers.get("PLAID-SECRET") != SECRET:
        raise ContractViolation("PLAID-SECRET header missing or wrong")
    body = json.loads(request.content)
    for field in ("client_id", "secret"):
        if field in body:
            raise ContractViolation(f"the body carries {field!r}: credentials must be headers only")
    for value in (CLIENT_ID, SECRET):
        if value.encode() in request.content:
            raise ContractViolation("a credential appears in the request body")


def check_request(request: httpx.Request) -> None:
    check_request_matches_spec(request)
    check_plaid_version(request)
    check_credentials_only_in_headers(request)


class Recorder:
    """A MockTransport handler that answers with one response and records every request."""

    def __init__(self, response: httpx.Response | None = None) -> None:
        self.response = response or httpx.Response(200, json={"request_id": "1vwmF5TBQwiqfwP"})
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        r = self.response
        return httpx.Response(r.status_code, headers=r.headers, content=r.content)


def sent_requests(factory: ClientFactory, path: str, argument: str) -> list[httpx.Request]:
    """Call `path` once through a client from `factory`; return what reached the transport."""
    recorder = Recorder(_success_response(path))
    client = factory(transport=httpx.MockTransport(recorder), retries=0)
    try:
        if path == REFRESH:
            client.refresh(argument)
        else:
            client.get_webhook_verification_key(argument)
    finally:
        client.close()
    return recorder.requests


def _success_response(path: str) -> httpx.Response:
    (example,) = documented(path)[200]["content"]["application/json"]["examples"].values()
    return httpx.Response(200, json=example["value"])


def check_requests_of(factory: ClientFactory, path: str, argument: str) -> None:
    requests = sent_requests(factory, path, argument)
    if len(requests) != 1:
        raise ContractViolation(f"one call sent {len(requests)} requests")
    check_request(requests[0])


# ---- responses ---------------------------------------------------------------------------------------


def call_with(factory: ClientFactory, path: str, response: httpx.Response, **options: Any) -> tuple[Any, int]:
    """(result or raised exception, number of requests sent) for one call answered by `response`."""
    recorder = Recorder(response)
    client = factory(transport=httpx.MockTransport(recorder), **options)
    try:
        outcome: Any = (
            client.refresh("access-sandbox-x")
            if path == REFRESH
            else client.get_webhook_verification_key("k")
        )
    except Exception as exc:
        outcome = exc
    finally:
        client.close()
    return outcome, len(recorder.requests)


def check_success_parses(factory: ClientFactory, path: str, body: dict[str, Any]) -> None:
    """A valid 200 body (extra fields and all) parses to the generated model, losing nothing."""
    outcome, _ = call_with(factory, path, httpx.Response(200, json=body), retries=0)
    if isinstance(outcome, BaseException):
        raise ContractViolation(f"a valid 200 body raised {type(outcome).__name__}: {outcome}")
    if path == REFRESH:
        if not isinstance(outcome, TransactionsRefreshResponse):
            raise ContractViolation(f"expected TransactionsRefreshResponse, got {type(outcome).__name__}")
        if outcome.to_dict() != body:
            raise ContractViolation("the parsed response lost or changed fields")
    else:
        if not isinstance(outcome, JWKPublicKey):
            raise ContractViolation(f"expected JWKPublicKey, got {type(outcome).__name__}")
        if outcome.to_dict() != body["key"]:
            raise ContractViolation("the parsed key lost or changed fields")


_KNOWN_CODES = {c.value for c in KnownErrorCode}
_KNOWN_TYPES = {t.value for t in KnownErrorType}


def check_error_maps(factory: ClientFactory, path: str, status: int, body: dict[str, Any]) -> None:
    """A Plaid error body raises the class of its code (else of its type, else the base), with every
    field carried over, and the raw code kept even when unknown."""
    outcome, _ = call_with(factory, path, httpx.Response(status, json=body), retries=0)
    if not isinstance(outcome, PlaidErrorResponse):
        raise ContractViolation(
            f"HTTP {status} {body.get('error_code')!r} gave {outcome!r}, not a PlaidErrorResponse"
        )
    cls = type(outcome)
    code, error_type = body["error_code"], body["error_type"]
    if code in _KNOWN_CODES:
        ok = cls.code is not None and cls.code == code
    elif error_type in _KNOWN_TYPES:
        ok = cls.code is None and cls.type is not None and cls.type == error_type
    else:
        ok = cls is PlaidErrorResponse
    if not ok:
        raise ContractViolation(f"{code!r}/{error_type!r} raised {cls.__name__}")
    expected = {
        "error_code": code,
        "error_type": error_type,
        "error_message": body["error_message"],
        "display_message": body["display_message"],
        "request_id": body.get("request_id"),
        "documentation_url": body.get("documentation_url"),
        "status_code": status,
    }
    got = {name: getattr(outcome, name) for name in expected}
    if got != expected:
        raise ContractViolation(f"error fields differ: expected {expected!r}, got {got!r}")


# Plaid errors are retried by HTTP status and error_type, never by a list of known codes (Plaid adds
# codes and may replace INTERNAL_SERVER_ERROR by a more specific one), with a short deny-list of codes.
RETRIED_STATUSES = {429, 500, 502, 503, 504}
RETRIED_TYPES = {"API_ERROR", "RATE_LIMIT_EXCEEDED"}
NEVER_RETRIED_CODES = {"CREDITS_EXHAUSTED"}


def check_retry_rule(factory: ClientFactory, path: str, status: int, body: dict[str, Any]) -> None:
    """A 400 is sent exactly once; an API_ERROR or RATE_LIMIT_EXCEEDED at 429/5xx is retried."""
    _, sent = call_with(factory, path, httpx.Response(status, json=body), retries=2)
    should_retry = (
        status in RETRIED_STATUSES
        and body["error_type"] in RETRIED_TYPES
        and body["error_code"] not in NEVER_RETRIED_CODES
    )
    if should_retry and sent != 3:
        raise ContractViolation(
            f"HTTP {status} {body['error_code']} must be retried (sent {sent}x, expected 3)"
        )
    if not should_retry and sent != 1:
        raise ContractViolation(f"HTTP {status} {body['error_code']} must not be retried (sent {sent}x)")


def check_bad_answer(
    factory: ClientFactory, path: str, response: httpx.Response, expected: type[PlaidError]
) -> None:
    """An answer outside the spec raises `expected` (a PlaidError) with the status; nothing else."""
    outcome, _ = call_with(factory, path, response, retries=0)
    if type(outcome) is not expected:
        raise ContractViolation(f"HTTP {response.status_code} {response.content[:40]!r} gave {outcome!r}, "
                                f"expected {expected.__name__}")  # fmt: skip
    if outcome.status_code != response.status_code:
        raise ContractViolation("the exception lost the HTTP status")
