"""The client against the real reference server (uvicorn on 127.0.0.1): success, every error the
server can answer, latency beyond httpx's 5 s default, and retries observed against injected faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from plaid_refresh_client import Client
from plaid_refresh_client.api.transactions import transactions_refresh
from plaid_refresh_client.models import KnownErrorCode, TransactionsRefreshRequest

from plaid_refresh import (
    ERROR_CLASS_BY_CODE,
    AsyncPlaidRefreshClient,
    InternalServerError,
    InvalidAccessToken,
    InvalidApiKeys,
    InvalidWebhookVerificationKeyId,
    PlaidConnectionError,
    PlaidError,
    PlaidErrorResponse,
    PlaidRefreshClient,
    PlaidTimeout,
    PlannedMaintenance,
    RetryPolicy,
    TransactionsRefreshLimit,
)
from plaid_refresh.client.core import ClientCore, Operation
from plaid_refresh.server import (
    BUILTIN_TOKENS,
    DEFAULT_CLIENT_ID,
    DEFAULT_SECRET,
    TOKEN_HEALTHY,
    Item,
    ServerConfig,
    create_app,
)
from plaid_refresh.server.testing import running_server

from .helpers import error_examples

pytestmark = pytest.mark.timeout(120)

SLOW = "access-sandbox-slow-six-seconds"
FORCED = {
    code.value: f"access-sandbox-forced-{code.value.lower().replace('_', '-')}" for code in KnownErrorCode
}
STATUS_OF = {body["error_code"]: status for status, body in error_examples()}


def _items() -> list[Item]:
    """A 6 s Item (latency knob on that Item only) and one Item forced to each error code."""
    items = [Item.from_dict({"access_token": SLOW, "knobs": {"latency": 6.0}})]
    items += [Item.from_dict({"access_token": token, "error": code}) for code, token in FORCED.items()]
    return items


class Counting:
    """Counts the HTTP requests an ASGI app received (server-side evidence of retries)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    app = create_app(ServerConfig(access_log=False, rate_limit=False), items=_items())
    with running_server(app) as base_url:
        yield base_url, app


def _client(base_url: str, **options: Any) -> PlaidRefreshClient:
    options.setdefault("sleep", lambda _: None)
    return PlaidRefreshClient.custom(base_url, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET, **options)


def _async_client(base_url: str, **options: Any) -> AsyncPlaidRefreshClient:
    async def no_wait(_: float) -> None:
        return None

    options.setdefault("sleep", no_wait)
    return AsyncPlaidRefreshClient.custom(
        base_url, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET, **options
    )


def test_success_sync_and_async(server: tuple[str, Any]) -> None:
    base_url, app = server
    with _client(base_url) as client:
        result = client.refresh(TOKEN_HEALTHY)
    assert len(result.request_id) == 15
    assert result.request_id in {r.request_id for r in app.store.history("item-healthy")}

    async def run() -> str:
        async with AsyncPlaidRefreshClient.custom(
            base_url, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET
        ) as client:
            results = await asyncio.gather(*(client.refresh(TOKEN_HEALTHY) for _ in range(5)))
        return results[0].request_id

    assert asyncio.run(run()) in {r.request_id for r in app.store.history("item-healthy")}


@pytest.mark.parametrize(("token", "code"), sorted((t, c) for t, c in BUILTIN_TOKENS.items() if c))
def test_builtin_error_items(server: tuple[str, Any], token: str, code: str) -> None:
    with _client(server[0], retries=0) as client, pytest.raises(PlaidErrorResponse) as caught:
        client.refresh(token)
    assert type(caught.value) is ERROR_CLASS_BY_CODE[code]
    assert caught.value.status_code == STATUS_OF[code]
    assert caught.value.request_id


@pytest.mark.parametrize("code", sorted(FORCED))
def test_every_error_code_the_server_can_answer_maps_to_its_class(server: tuple[str, Any], code: str) -> None:
    """Items forced to answer each code of the spec: the real server's bodies map to each class."""
    with _client(server[0], retries=0) as client, pytest.raises(PlaidErrorResponse) as caught:
        client.refresh(FORCED[code])
    error = caught.value
    assert type(error) is ERROR_CLASS_BY_CODE[code]
    assert (error.error_code, error.status_code) == (code, STATUS_OF[code])
    assert error.documentation_url
    assert error.model is not None


def test_credentials_tokens_and_keys(server: tuple[str, Any]) -> None:
    base_url, app = server
    with PlaidRefreshClient.custom(base_url, client_id=DEFAULT_CLIENT_ID, secret="wrong-secret") as bad:
        with pytest.raises(InvalidApiKeys) as caught:
            bad.refresh(TOKEN_HEALTHY)
        assert "wrong-secret" not in str(caught.value)
    with _client(base_url) as client:
        for token in ("access-sandbox-nobody", "access-production-healthy", "not-a-token"):
            with pytest.raises(InvalidAccessToken):
                client.refresh(token)
        key = client.get_webhook_verification_key(app.signer.key_id)
        assert key.to_dict() == app.signer.public_jwk()
        with pytest.raises(InvalidWebhookVerificationKeyId):
            client.get_webhook_verification_key("no-such-key")


class _RawCore(ClientCore):
    """Sends a deliberately wrong request (set per test) so the server's request errors can be seen."""

    change: dict[str, Any] = {}  # noqa: RUF012 - set by the test before use

    def request_kwargs(self, operation: Operation, body: Any) -> dict[str, Any]:
        kwargs = super().request_kwargs(operation, body)
        for key, value in self.change.items():
            if key == "headers":
                kwargs["headers"] = {**kwargs["headers"], **value}
            elif key == "content":
                kwargs.pop("json")
                kwargs["content"] = value
            else:
                kwargs[key] = value
        return kwargs


@pytest.mark.parametrize(
    ("code", "change"),
    [
        ("MISSING_FIELDS", {"json": {}}),
        ("UNKNOWN_FIELDS", {"json": {"access_token": TOKEN_HEALTHY, "count": 1}}),
        ("INVALID_FIELD", {"json": {"access_token": 5}}),
        ("INVALID_BODY", {"content": b"{not json"}),
        ("INVALID_HEADERS", {"headers": {"Content-Type": "text/plain"}}),
        ("INCOMPATIBLE_API_VERSION", {"headers": {"Plaid-Version": "1999-01-01"}}),
        ("NOT_FOUND", {"url": "/transactions/refreshh"}),
    ],
)
def test_request_errors_of_the_server_map_to_their_classes(
    server: tuple[str, Any], code: str, change: dict[str, Any]
) -> None:
    class Raw(PlaidRefreshClient):
        _core_class = type("Core", (_RawCore,), {"change": change})

    with (
        Raw.custom(server[0], client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET) as client,
        pytest.raises(PlaidErrorResponse) as caught,
    ):
        client.refresh(TOKEN_HEALTHY)
    assert type(caught.value) is ERROR_CLASS_BY_CODE[code]
    assert caught.value.attempts == 1  # a 4xx is never retried


def test_latency_beyond_httpx_default_timeout(server: tuple[str, Any]) -> None:
    """A 6 s refresh: the client's defaults wait for it; the generated client with httpx's usual 5 s
    timeout gives up. Both run at once, so the test takes ~6 s."""
    base_url, app = server

    def ours() -> str:
        with _client(base_url, retries=0) as client:
            return client.refresh(SLOW).request_id

    def generated_with_httpx_default() -> BaseException | None:
        headers = {"PLAID-CLIENT-ID": DEFAULT_CLIENT_ID, "PLAID-SECRET": DEFAULT_SECRET}
        with Client(base_url=base_url, headers=headers, timeout=httpx.Timeout(5.0)) as raw:
            try:
                transactions_refresh.sync(client=raw, body=TransactionsRefreshRequest(access_token=SLOW))
            except httpx.TimeoutException as exc:
                return exc
        return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        ours_done = pool.submit(ours)
        theirs_done = pool.submit(generated_with_httpx_default)
        request_id = ours_done.result(timeout=60)
        assert isinstance(theirs_done.result(timeout=60), httpx.ReadTimeout)
    assert request_id in {r.request_id for r in app.store.history("item-" + SLOW.split("-", 2)[-1])}


def test_retries_observed_against_injected_faults(caplog: pytest.LogCaptureFixture) -> None:
    """A server failing 30% of refreshes with 500 and 20% with 503 (seeded): the client's retries
    turn nearly all calls into successes, and the server counted exactly the attempts made."""
    app = Counting(
        create_app(
            ServerConfig(access_log=False, rate_limit=False, error_rate=0.3, maintenance_rate=0.2, seed=11)
        )
    )
    caplog.set_level(logging.INFO, logger="plaid_refresh.client")
    calls = 30
    successes = 0
    failures: list[PlaidError] = []
    with running_server(app) as base_url, _client(base_url) as client:
        for _ in range(calls):
            try:
                client.refresh(TOKEN_HEALTHY)
                successes += 1
            except PlaidError as error:
                failures.append(error)
    retry_lines = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert app.requests == calls + len(retry_lines)
    assert len(retry_lines) >= 5  # faults really happened and were retried
    assert {
        ("INTERNAL_SERVER_ERROR" in r.getMessage()) or ("PLANNED_MAINTENANCE" in r.getMessage())
        for r in retry_lines
    } == {True}
    assert all(error.attempts == 4 for error in failures)
    assert len(failures) <= calls // 5  # 4 faults in a row: p = 0.5**4 per call
    assert successes == calls - len(failures)
    print(
        f"{calls} calls, {app.requests} server requests, {len(retry_lines)} retries, {len(failures)} failures"
    )


def test_async_latency_beyond_httpx_default_timeout(server: tuple[str, Any]) -> None:
    """The async client also waits out the 6 s refresh with its defaults."""
    base_url, app = server

    async def run() -> str:
        async with _async_client(base_url, retries=0) as client:
            return (await client.refresh(SLOW)).request_id

    request_id = asyncio.run(run())
    assert request_id in {r.request_id for r in app.store.history("item-" + SLOW.split("-", 2)[-1])}


def test_async_retries_observed_against_injected_faults() -> None:
    """The same seeded faults through the async client, 30 calls at once: the server saw exactly one
    request per attempt, and every call that failed had used all its attempts."""
    app = Counting(
        create_app(
            ServerConfig(access_log=False, rate_limit=False, error_rate=0.3, maintenance_rate=0.2, seed=11)
        )
    )
    calls = 30

    async def run(base_url: str) -> list[Any]:
        async with _async_client(base_url) as client:
            return await asyncio.gather(
                *(client.refresh(TOKEN_HEALTHY) for _ in range(calls)), return_exceptions=True
            )

    with running_server(app) as base_url:
        results = asyncio.run(run(base_url))
    failures = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(f, (InternalServerError, PlannedMaintenance)) for f in failures), failures
    assert all(f.attempts == 4 for f in failures)  # type: ignore[attr-defined]
    # Which call meets which seeded fault depends on arrival order: a looser bound than the sync test's
    # (expected ~2 failures of 30; more than 10 has a probability below 1e-6).
    assert len(failures) <= calls // 3
    assert app.requests > calls  # faults really happened and were retried
    assert app.requests <= calls * 4


def test_retries_disabled_against_the_same_faults() -> None:
    app = Counting(create_app(ServerConfig(access_log=False, rate_limit=False, error_rate=1.0, seed=1)))
    with (
        running_server(app) as base_url,
        _client(base_url, retries=0) as client,
        pytest.raises(InternalServerError) as caught,
    ):
        client.refresh(TOKEN_HEALTHY)
    assert (caught.value.attempts, app.requests) == (1, 1)


def test_a_rate_limited_refresh_succeeds_after_backing_off() -> None:
    """The per-Item limit (2/min) answers 429; the client backs off (its sleep advances the server's
    rate-limit clock instead of really waiting) and the retry lands in a fresh window."""
    now = [0.0]

    def advance(seconds: float) -> None:
        now[0] += seconds

    app = Counting(create_app(ServerConfig(access_log=False), clock=lambda: now[0]))
    # Past the one-minute window in one backoff (the default 2 s backoff suits the per-client window).
    policy = RetryPolicy(
        rate_limit_backoff_initial=61.0,
        rate_limit_backoff_max=120.0,
        rate_limit_backoff_jitter=1.0,
        retry_budget=None,  # the default 30 s budget would end the retries before a 61 s wait
    )
    with running_server(app) as base_url:
        with _client(base_url, retries=0) as strict:
            strict.refresh(TOKEN_HEALTHY)
            strict.refresh(TOKEN_HEALTHY)
            with pytest.raises(TransactionsRefreshLimit):
                strict.refresh(TOKEN_HEALTHY)
        with _client(base_url, retries=policy, sleep=advance, deadline=None) as patient:
            assert patient.refresh(TOKEN_HEALTHY).request_id
    assert app.requests == 5  # 3 + (one 429, one success after the backoff)
    assert 61.0 <= now[0] <= 62.0


def test_connection_refused_is_retried_then_reported() -> None:
    with running_server(create_app(ServerConfig(access_log=False))) as base_url:
        pass  # the port is closed again now
    with _client(base_url, retries=2) as client, pytest.raises(PlaidConnectionError) as caught:
        client.refresh(TOKEN_HEALTHY)
    assert (caught.value.phase, caught.value.attempts) == ("connect", 3)


def test_the_deadline_cuts_a_slow_refresh_on_real_sockets(server: tuple[str, Any]) -> None:
    """Deadline 1 s against the 6 s Item: sync (phase timeouts capped) and async (asyncio.timeout)."""
    base_url, _ = server

    def sync_call() -> PlaidTimeout:
        with _client(base_url, deadline=1.0) as client, pytest.raises(PlaidTimeout) as caught:
            client.refresh(SLOW)
        return caught.value

    async def async_call() -> PlaidTimeout:
        async with AsyncPlaidRefreshClient.custom(
            base_url, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET, deadline=1.0
        ) as client:
            with pytest.raises(PlaidTimeout) as caught:
                await client.refresh(SLOW)
            return caught.value

    with ThreadPoolExecutor(max_workers=2) as pool:
        sync_error = pool.submit(sync_call)
        async_error = pool.submit(asyncio.run, async_call())
        errors = [sync_error.result(timeout=30), async_error.result(timeout=30)]
    assert [(e.phase, e.attempts) for e in errors] == [("deadline", 1), ("deadline", 1)]
    assert all("per-call deadline of 1s passed" in str(e) for e in errors)
