"""The client under test, and the contract a user's client factory meets (docs/client.md).

Select it with environment variables (`make client-contract CLIENT_FACTORY=...` sets them):

- CLIENT_FACTORY=package.module:factory      a sync client (unset: this project's PlaidRefreshClient)
- CLIENT_ASYNC_FACTORY=package.module:factory an async client (optional; its tests skip without it)
- CLIENT_ERROR_ADAPTER=package.module:adapter maps your exceptions (optional; default: attributes)

The factory contract. The suite calls

    factory(*, transport, retries, sleep, client_id, secret, environment) -> client

- transport: an httpx.BaseTransport (async: httpx.AsyncBaseTransport). Every request goes through it:
  build your httpx client with `transport=transport` and nothing else changed.
- retries: the number of retries after the first attempt your client must make at most (0: one send).
- sleep: call it with the seconds to wait between attempts, instead of time.sleep (async: await it).
- client_id, secret: the credentials to send.
- environment: "sandbox" or "production": the client talks to https://<environment>.plaid.com.

The client returned has `refresh(access_token)` (async: a coroutine) that returns the parsed answer,
exposing the answer's `request_id` as an attribute or a mapping key, and raises on any failure.
`close()` (async: `aclose()`), when present, is called after each use.

The adapter: `adapter(exception) -> ErrorInfo | None`: the Plaid error code, type, HTTP status and
request id your exception carries (None: not an error of your client). The default reads the
attributes `error_code`, `error_type`, `status_code` (or `status`) and `request_id`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

import attrs
import pytest

Factory = Callable[..., Any]


@attrs.frozen
class ErrorInfo:
    code: str | None
    type: str | None
    status: int | None
    request_id: str | None


Adapter = Callable[[BaseException], ErrorInfo | None]


def attribute_adapter(error: BaseException) -> ErrorInfo | None:
    """The default adapter: error_code, error_type, status_code (or status), request_id attributes."""
    status = getattr(error, "status_code", getattr(error, "status", None))
    return ErrorInfo(
        code=getattr(error, "error_code", None),
        type=getattr(error, "error_type", None),
        status=status if isinstance(status, int) else None,
        request_id=getattr(error, "request_id", None),
    )


def project_factory(
    *,
    transport: Any,
    retries: int,
    sleep: Callable[[float], Any],
    client_id: str,
    secret: str,
    environment: str,
) -> Any:
    from plaid_refresh import PlaidRefreshClient

    build = getattr(PlaidRefreshClient, environment)
    return build(client_id=client_id, secret=secret, transport=transport, retries=retries, sleep=sleep)


def project_async_factory(
    *,
    transport: Any,
    retries: int,
    sleep: Callable[[float], Any],
    client_id: str,
    secret: str,
    environment: str,
) -> Any:
    from plaid_refresh import AsyncPlaidRefreshClient

    build = getattr(AsyncPlaidRefreshClient, environment)
    return build(client_id=client_id, secret=secret, transport=transport, retries=retries, sleep=sleep)


@attrs.frozen
class Subject:
    factory: Factory
    async_factory: Factory | None
    adapter: Adapter
    own: bool
    """True: this project's client (its own-client tests run too)."""
    description: str


def _load(variable: str) -> Any:
    spec = os.environ.get(variable, "").strip()
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise pytest.UsageError(f"{variable} must be package.module:name, got {spec!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise pytest.UsageError(f"{variable}: cannot import {module_name!r}: {exc}") from None
    try:
        found = getattr(module, attribute)
    except AttributeError:
        raise pytest.UsageError(f"{variable}: {module_name!r} has no {attribute!r}") from None
    if not callable(found):
        raise pytest.UsageError(f"{variable}: {spec!r} is not callable")
    return found


def load_subject() -> Subject:
    factory = _load("CLIENT_FACTORY")
    adapter = _load("CLIENT_ERROR_ADAPTER") or attribute_adapter
    if factory is None:
        return Subject(project_factory, project_async_factory, adapter, True, "plaid_refresh (this project)")
    async_factory = _load("CLIENT_ASYNC_FACTORY")
    return Subject(factory, async_factory, adapter, False, os.environ["CLIENT_FACTORY"])
