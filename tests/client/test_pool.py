"""The default pool serves 100 concurrent slow calls at once (threads and asyncio), over real sockets.
A pool that is too small is shown to fail the same check, so the check can fail."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from plaid_refresh import DEFAULT_LIMITS, AsyncPlaidRefreshClient, PlaidRefreshClient, PlaidTimeout

from .helpers import CLIENT_ID, SECRET
from .stub_server import stub_server

CONCURRENCY = 100
DELAY = 0.5  # seconds each answer takes
POOL_WAIT = 0.25  # shorter than DELAY: a call that has to wait for a connection fails


def _threads(base_url: str, limits: httpx.Limits) -> list[BaseException | str]:
    timeout = httpx.Timeout(5.0, pool=POOL_WAIT)
    with PlaidRefreshClient.custom(
        base_url, client_id=CLIENT_ID, secret=SECRET, limits=limits, timeout=timeout, retries=0
    ) as client:

        def one(_: int) -> BaseException | str:
            try:
                return client.refresh("access-sandbox-ok").request_id
            except PlaidTimeout as error:
                return error

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            return list(pool.map(one, range(CONCURRENCY)))


async def _tasks(base_url: str, limits: httpx.Limits) -> list[BaseException | str]:
    timeout = httpx.Timeout(5.0, pool=POOL_WAIT)
    async with AsyncPlaidRefreshClient.custom(
        base_url, client_id=CLIENT_ID, secret=SECRET, limits=limits, timeout=timeout, retries=0
    ) as client:

        async def one() -> BaseException | str:
            try:
                return (await client.refresh("access-sandbox-ok")).request_id
            except PlaidTimeout as error:
                return error

        return await asyncio.gather(*(one() for _ in range(CONCURRENCY)))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["threads", "asyncio"])
def test_default_pool_serves_100_concurrent_slow_calls(mode: str) -> None:
    with stub_server(delay=DELAY) as (base_url, server):
        if mode == "threads":
            results = _threads(base_url, DEFAULT_LIMITS)
        else:
            results = asyncio.run(_tasks(base_url, DEFAULT_LIMITS))
    assert results == ["stubRequest0001"] * CONCURRENCY
    assert server.seen == CONCURRENCY


@pytest.mark.timeout(60)
def test_a_small_pool_fails_the_same_check_with_a_clear_pool_timeout() -> None:
    with stub_server(delay=DELAY) as (base_url, _):
        results = asyncio.run(_tasks(base_url, httpx.Limits(max_connections=10)))
    timeouts = [r for r in results if isinstance(r, PlaidTimeout)]
    assert len(timeouts) >= CONCURRENCY - 10 - 10  # at most two waves fit in the pool wait
    assert all(t.phase == "pool" and "max_connections" in str(t) for t in timeouts)
