"""Retries: what is retried, how many times, how long the (injected) sleeps are, and the deadline."""

from __future__ import annotations

import asyncio
import logging
import random

import httpx
import pytest

from plaid_refresh import (
    InternalServerError,
    ItemLoginRequired,
    PlaidConnectionError,
    PlaidError,
    PlaidNonJsonResponse,
    PlaidTimeout,
    RetryPolicy,
)

from .helpers import (
    CLIENT_ID,
    SECRET,
    TOKEN,
    FakeClock,
    Script,
    async_client,
    error_examples,
    ok,
    plaid_response,
    sync_client,
)

RETRIED_CODES = {
    "INTERNAL_SERVER_ERROR",
    "PLANNED_MAINTENANCE",
    "TRANSACTIONS_REFRESH_LIMIT",
    "INSTITUTION_RATE_LIMIT",
}


@pytest.mark.parametrize("code", sorted({body["error_code"] for _, body in error_examples()}))
def test_only_retryable_codes_are_retried(code: str) -> None:
    clock = FakeClock()
    script = Script([plaid_response(code), ok()])
    client = sync_client(script, clock)
    if code in RETRIED_CODES:
        assert client.refresh(TOKEN).request_id == "1vwmF5TBQwiqfwP"
        assert len(script.requests) == 2
        assert len(clock.sleeps) == 1
    else:
        with pytest.raises(PlaidError) as caught:
            client.refresh(TOKEN)
        assert caught.value.error_code == code
        assert caught.value.attempts == 1
        assert len(script.requests) == 1
        assert clock.sleeps == []


def test_a_retry_code_with_a_4xx_status_is_not_retried() -> None:
    body = plaid_response("INTERNAL_SERVER_ERROR").json()
    script = Script([httpx.Response(400, json=body), ok()])
    with pytest.raises(InternalServerError):
        sync_client(script).refresh(TOKEN)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("failure", "retried"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("t"), True),
        (httpx.RemoteProtocolError("disconnected"), True),
        (httpx.ReadError("reset"), True),
        (httpx.ReadTimeout("t"), False),
        (httpx.PoolTimeout("t"), False),
        (httpx.Response(502, content=b"<html>bad gateway</html>"), True),
        (httpx.Response(504, json={"message": "gateway timeout"}), True),
        (httpx.Response(520, json={"message": "?"}), False),
        (httpx.Response(200, content=b'{"request_id": "tr'), False),
    ],
    ids=repr,
)
def test_transport_and_gateway_failures(failure: httpx.Response | Exception, retried: bool) -> None:
    script = Script([failure, ok()])
    client = sync_client(script)
    if retried:
        assert client.refresh(TOKEN).request_id == "1vwmF5TBQwiqfwP"
        assert len(script.requests) == 2
    else:
        with pytest.raises(PlaidError):
            client.refresh(TOKEN)
        assert len(script.requests) == 1


def test_read_timeouts_are_retried_when_asked() -> None:
    script = Script([httpx.ReadTimeout("t"), ok()])
    policy = RetryPolicy(retry_read_timeouts=True)
    assert sync_client(script, retries=policy).refresh(TOKEN).request_id == "1vwmF5TBQwiqfwP"


def test_attempts_are_bounded_and_backoff_grows_with_jitter() -> None:
    clock = FakeClock()
    script = Script([plaid_response("INTERNAL_SERVER_ERROR")])
    policy = RetryPolicy(
        max_attempts=5, backoff_initial=0.5, backoff_max=3.0, backoff_jitter=0.25, rng=random.Random(7)
    )
    with pytest.raises(InternalServerError) as caught:
        sync_client(script, clock, retries=policy).refresh(TOKEN)
    assert caught.value.attempts == 5
    assert len(script.requests) == 5
    assert len(clock.sleeps) == 4
    for n, slept in enumerate(clock.sleeps, start=1):
        base = min(0.5 * 2 ** (n - 1), 3.0)
        assert base <= slept <= base + 0.25
    assert len(set(clock.sleeps)) == 4  # jitter: no two sleeps equal


def test_rate_limits_back_off_longer() -> None:
    clock = FakeClock()
    script = Script(
        [plaid_response("TRANSACTIONS_REFRESH_LIMIT"), plaid_response("INSTITUTION_RATE_LIMIT"), ok()]
    )
    sync_client(script, clock).refresh(TOKEN)
    assert 2.0 <= clock.sleeps[0] <= 4.0
    assert 4.0 <= clock.sleeps[1] <= 6.0


@pytest.mark.parametrize("disabled", [0, RetryPolicy.disabled(), RetryPolicy(max_attempts=1)], ids=repr)
def test_retries_can_be_switched_off(disabled: int | RetryPolicy) -> None:
    clock = FakeClock()
    script = Script([plaid_response("INTERNAL_SERVER_ERROR"), ok()])
    with pytest.raises(InternalServerError):
        sync_client(script, clock, retries=disabled).refresh(TOKEN)
    assert len(script.requests) == 1
    assert clock.sleeps == []


def test_the_deadline_stops_retries_before_an_oversleep() -> None:
    clock = FakeClock()

    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.now += 4.0  # each attempt takes 4 s
        return plaid_response("INTERNAL_SERVER_ERROR")

    script = Script([slow_failure])
    policy = RetryPolicy(max_attempts=10, backoff_initial=2.0, backoff_max=2.0, backoff_jitter=0.0)
    with pytest.raises(InternalServerError) as caught:
        sync_client(script, clock, retries=policy, deadline=15.0).refresh(TOKEN)
    # t=4 fail, sleep 2, t=10 fail, next sleep would end at 12 < 15: sleep, t=16 fail -> stop.
    assert caught.value.attempts == 3
    assert sum(clock.sleeps) + 3 * 4.0 <= 16.0


def test_each_attempt_gets_its_timeout_capped_by_the_deadline() -> None:
    clock = FakeClock()
    seen: list[dict[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        clock.now += 25.0
        return plaid_response("INTERNAL_SERVER_ERROR")

    policy = RetryPolicy(max_attempts=3, backoff_initial=1.0, backoff_max=1.0, backoff_jitter=0.0)
    with pytest.raises(InternalServerError):
        sync_client(Script([record]), clock, retries=policy, deadline=60.0).refresh(TOKEN)
    assert seen[0] == {"connect": 5.0, "read": 60.0, "write": 10.0, "pool": 30.0}
    assert seen[1]["read"] == pytest.approx(34.0)
    assert seen[1]["connect"] == 5.0
    assert seen[2]["read"] == pytest.approx(8.0)


def test_a_timeout_caused_by_the_deadline_says_so() -> None:
    clock = FakeClock()

    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 10.0
        raise httpx.ReadTimeout("timed out")

    with pytest.raises(PlaidTimeout, match="per-call deadline of 10s passed") as caught:
        sync_client(Script([slow]), clock, deadline=10.0).refresh(TOKEN)
    assert caught.value.phase == "deadline"


def test_async_deadline_bounds_a_stalled_server() -> None:
    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return ok()

    async def run() -> PlaidTimeout:
        from plaid_refresh import AsyncPlaidRefreshClient

        async with AsyncPlaidRefreshClient.sandbox(
            client_id=CLIENT_ID, secret=SECRET, transport=httpx.MockTransport(stall), deadline=0.2
        ) as client:
            with pytest.raises(PlaidTimeout) as caught:
                await client.refresh(TOKEN)
            return caught.value

    assert asyncio.run(asyncio.wait_for(run(), 10)).phase == "deadline"


def test_async_retries_use_the_injected_sleep() -> None:
    clock = FakeClock()
    script = Script([httpx.ConnectError("refused"), plaid_response("PLANNED_MAINTENANCE"), ok()])

    async def run() -> str:
        async with async_client(script, clock) as client:
            return (await client.refresh(TOKEN)).request_id

    assert asyncio.run(run()) == "1vwmF5TBQwiqfwP"
    assert len(clock.sleeps) == 2
    assert len(script.requests) == 3


def test_async_gives_up_after_max_attempts() -> None:
    script = Script([httpx.ConnectError("refused")])

    async def run() -> PlaidConnectionError:
        async with async_client(script, retries=2) as client:
            with pytest.raises(PlaidConnectionError) as caught:
                await client.refresh(TOKEN)
            return caught.value

    assert asyncio.run(run()).attempts == 3


def test_each_attempt_is_logged_with_its_facts(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    script = Script([httpx.Response(502, content=b"<html/>"), plaid_response("ITEM_LOGIN_REQUIRED")])
    caplog.set_level(logging.DEBUG, logger="plaid_refresh.client")
    with pytest.raises(ItemLoginRequired):
        sync_client(script, clock).refresh(TOKEN)
    attempts = [r for r in caplog.records if r.name == "plaid_refresh.client" and r.levelno == logging.DEBUG]
    assert [r.getMessage() for r in attempts] == [
        "POST /transactions/refresh attempt=1 status=502 request_id=None outcome=PlaidNonJsonResponse"
        " elapsed=0.000s",
        "POST /transactions/refresh attempt=2 status=400 request_id=4zlKapIkTm8p5KX"
        " outcome=ITEM_LOGIN_REQUIRED elapsed=0.000s",
    ]
    retry_lines = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and r.name == "plaid_refresh.client"
    ]
    assert len(retry_lines) == 1
    assert retry_lines[0].startswith(
        "POST /transactions/refresh attempt=1 failed (PlaidNonJsonResponse); retrying in"
    )
    assert attempts[0].plaid_status == 502  # type: ignore[attr-defined]
    assert isinstance(PlaidNonJsonResponse, type)
