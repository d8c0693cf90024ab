"""The things under test, built in one place: the reference server app, the clients, credentials.

Everything else in bench/ asks this module, so the parts other people build (the reference server,
the project's client) plug in here and nowhere else. Every client call checks that it got a 200
with a `request_id`, so a benchmark can never time a stream of errors by accident.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import Credentials

# Fixed, obviously fake credentials for servers that accept any well-formed ones (floor, Prism).
FAKE_CLIENT_ID = "0123456789abcdef01234567"
FAKE_SECRET = "0123456789abcdef0123456789abcd"
PLAID_VERSION = "2020-09-14"
# Long enough for the slow-call benchmark (2 s per call) and far from any pool starvation.
TIMEOUT = httpx.Timeout(60.0)

SyncCall = Callable[[str], None]
AsyncCall = Callable[[str], Awaitable[None]]


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


# -- the reference server -----------------------------------------------------------------------


def reference_available() -> bool:
    return has_module("plaid_refresh.server")


def credentials(token_count: int = 4096) -> Credentials:
    """Credentials the reference server accepts (its documented defaults), fake ones before it exists."""
    if reference_available():
        from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET

        return Credentials(DEFAULT_CLIENT_ID, DEFAULT_SECRET, token_count=token_count)
    return Credentials(FAKE_CLIENT_ID, FAKE_SECRET, token_count=token_count)


def write_items_file(path: Path, creds: Credentials) -> Path:
    """An Items file holding one Item per token the load generator sends."""
    items = [{"access_token": creds.token(i)} for i in range(creds.token_count)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"items": items}))
    return path


def reference_app(*, items_path: Path | None, latency: float, high_limits: bool) -> Any:
    """The reference server app with validation and rate limiting on.

    `high_limits` raises the per-Item and per-client limits far above what a load test sends: the
    limiter still runs its full bookkeeping on every call (rate_limit stays True), but answers are
    200 instead of a wall of 429 (see docs/bench.md for why).
    """
    from plaid_refresh.server import ServerConfig, create_app

    limits: dict[str, Any] = {}
    if high_limits:
        limits = {"item_limit_per_minute": 1_000_000_000, "client_limit_per_minute": 1_000_000_000}
    config = ServerConfig(items_path=items_path, latency=latency, rate_limit=True, **limits)
    return create_app(config)


def disable_fast_path(app: Any) -> None:
    """Make the reference app validate with jsonschema alone (the code before the fastjsonschema fast
    path), to measure that change side by side. Validation verdicts are the same either way."""
    operations = getattr(app, "_operations", None)
    if not isinstance(operations, dict):
        raise RuntimeError("the reference app no longer exposes its compiled operations")
    for operation in operations.values():
        object.__setattr__(operation, "fast_check", None)  # attrs-frozen: set on purpose, for a benchmark


# -- clients ----------------------------------------------------------------------------------


def _check(status: int, payload: Any) -> None:
    if status != 200 or not isinstance(payload, dict) or "request_id" not in payload:
        raise RuntimeError(f"unexpected answer: HTTP {status}")


@dataclass(frozen=True)
class SyncClient:
    name: str
    call: SyncCall
    close: Callable[[], None]


@dataclass(frozen=True)
class AsyncClient:
    name: str
    call: AsyncCall
    close: Callable[[], Awaitable[None]]


def _headers(creds: Credentials) -> dict[str, str]:
    return {"PLAID-CLIENT-ID": creds.client_id, "PLAID-SECRET": creds.secret, "Plaid-Version": PLAID_VERSION}


def raw_httpx_sync(base_url: str, creds: Credentials) -> SyncClient:
    client = httpx.Client(base_url=base_url, headers=_headers(creds), timeout=TIMEOUT)

    def call(token: str) -> None:
        response = client.post("/transactions/refresh", json={"access_token": token})
        _check(response.status_code, response.json())

    return SyncClient("raw httpx", call, client.close)


def raw_httpx_async(base_url: str, creds: Credentials, limits: httpx.Limits | None = None) -> AsyncClient:
    # httpx's own default pool (100 connections, 20 kept alive) unless told otherwise: raw httpx as used.
    client = httpx.AsyncClient(
        base_url=base_url,
        headers=_headers(creds),
        timeout=TIMEOUT,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20) if limits is None else limits,
    )

    async def call(token: str) -> None:
        response = await client.post("/transactions/refresh", json={"access_token": token})
        _check(response.status_code, response.json())

    return AsyncClient("raw httpx", call, client.aclose)


def generated_sync(base_url: str, creds: Credentials) -> SyncClient:
    from plaid_refresh_client import Client
    from plaid_refresh_client.api.transactions import transactions_refresh
    from plaid_refresh_client.models import (
        PlaidVersion,
        TransactionsRefreshRequest,
        TransactionsRefreshResponse,
    )

    headers = {"PLAID-CLIENT-ID": creds.client_id, "PLAID-SECRET": creds.secret}
    client = Client(base_url=base_url, headers=headers, timeout=TIMEOUT)

    def call(token: str) -> None:
        parsed = transactions_refresh.sync(
            client=client,
            body=TransactionsRefreshRequest(access_token=token),
            plaid_version=PlaidVersion.VALUE_0,
        )
        if not isinstance(parsed, TransactionsRefreshResponse):
            raise RuntimeError(f"unexpected answer: {type(parsed).__name__}")

    return SyncClient("generated client", call, client.get_httpx_client().close)


def generated_async(base_url: str, creds: Credentials) -> AsyncClient:
    from plaid_refresh_client import Client
    from plaid_refresh_client.api.transactions import transactions_refresh
    from plaid_refresh_client.models import (
        PlaidVersion,
        TransactionsRefreshRequest,
        TransactionsRefreshResponse,
    )

    headers = {"PLAID-CLIENT-ID": creds.client_id, "PLAID-SECRET": creds.secret}
    client = Client(base_url=base_url, headers=headers, timeout=TIMEOUT)

    async def call(token: str) -> None:
        parsed = await transactions_refresh.asyncio(
            client=client,
            body=TransactionsRefreshRequest(access_token=token),
            plaid_version=PlaidVersion.VALUE_0,
        )
        if not isinstance(parsed, TransactionsRefreshResponse):
            raise RuntimeError(f"unexpected answer: {type(parsed).__name__}")

    return AsyncClient("generated client", call, client.get_async_httpx_client().aclose)


def plaid_python_sync(base_url: str, creds: Credentials) -> SyncClient:
    import plaid
    from plaid.api import plaid_api
    from plaid.model.transactions_refresh_request import TransactionsRefreshRequest

    configuration = plaid.Configuration(
        host=base_url, api_key={"clientId": creds.client_id, "secret": creds.secret}
    )
    api_client = plaid.ApiClient(configuration)
    api = plaid_api.PlaidApi(api_client)

    def call(token: str) -> None:
        response = api.transactions_refresh(TransactionsRefreshRequest(access_token=token))
        if not response.request_id:
            raise RuntimeError("unexpected answer: no request_id")

    return SyncClient("plaid-python", call, api_client.close)


def project_client_available() -> bool:
    """True once this project's public client is importable from `plaid_refresh`."""
    try:
        import plaid_refresh
    except ImportError:
        return False
    return hasattr(plaid_refresh, "PlaidRefreshClient") and hasattr(plaid_refresh, "AsyncPlaidRefreshClient")


def project_sync(base_url: str, creds: Credentials) -> SyncClient | None:
    """This project's sync client with its defaults (timeouts, deadline, retries, pool limits)."""
    if not project_client_available():
        return None
    from plaid_refresh import PlaidRefreshClient

    client = PlaidRefreshClient.custom(base_url, client_id=creds.client_id, secret=creds.secret)

    def call(token: str) -> None:
        if not client.refresh(token).request_id:
            raise RuntimeError("unexpected answer: no request_id")

    return SyncClient("this project's client", call, client.close)


def project_async(
    base_url: str, creds: Credentials, limits: httpx.Limits | None = None
) -> AsyncClient | None:
    """This project's async client with its defaults (timeouts, deadline, retries, pool limits)."""
    if not project_client_available():
        return None
    from plaid_refresh import AsyncPlaidRefreshClient

    options: dict[str, Any] = {} if limits is None else {"limits": limits}
    client = AsyncPlaidRefreshClient.custom(
        base_url, client_id=creds.client_id, secret=creds.secret, **options
    )

    async def call(token: str) -> None:
        if not (await client.refresh(token)).request_id:
            raise RuntimeError("unexpected answer: no request_id")

    return AsyncClient("this project's client", call, client.aclose)


# The client's pool before commit 8b66b74 (100 idle connections kept), for a before/after row.
POOL_BEFORE = httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=30.0)


def project_async_pool_before(base_url: str, creds: Credentials) -> AsyncClient | None:
    return project_async(base_url, creds, POOL_BEFORE)


def project_import_statement() -> str | None:
    """What a service writes to use this project's client: the import documented in plaid_refresh."""
    if not project_client_available():
        return None
    return "from plaid_refresh import PlaidRefreshClient, ItemLoginRequired"


def project_async_import_statement() -> str | None:
    """The same for an asyncio service."""
    if not project_client_available():
        return None
    return "from plaid_refresh import AsyncPlaidRefreshClient, ItemLoginRequired"


SyncFactory = Callable[[str, Credentials], SyncClient | None]
AsyncFactory = Callable[[str, Credentials], AsyncClient | None]
