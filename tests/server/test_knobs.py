"""Latency and fault knobs, global and per Item. Delays are observed through an injected sleep."""

from __future__ import annotations

import asyncio
import random
import threading
from pathlib import Path

import attrs
import httpx
import pytest

from plaid_refresh.server import TOKEN_HEALTHY, TOKEN_USER_GOOD, Knobs, ServerConfig
from tests.server.conftest import HEADERS, RecordingSleep, Serve, assert_plaid_error

REFRESH = "/transactions/refresh"


def _refresh(http: httpx.Client, token: str = TOKEN_HEALTHY) -> httpx.Response:
    return http.post(REFRESH, headers=HEADERS, json={"access_token": token})


def test_fixed_latency_is_awaited(serve: Serve, sleep: RecordingSleep) -> None:
    with serve(ServerConfig(latency=35.0, rate_limit=False)) as (url, _), httpx.Client(base_url=url) as http:
        assert _refresh(http).status_code == 200
        assert _refresh(http).status_code == 200
    assert sleep.delays == [35.0, 35.0]


def test_random_latency_is_bounded_and_seeded(serve: Serve, sleep: RecordingSleep) -> None:
    config = ServerConfig(latency=2.0, latency_random=True, seed=11, rate_limit=False)
    with serve(config) as (url, _), httpx.Client(base_url=url) as http:
        for _ in range(20):
            assert _refresh(http).status_code == 200
    expected = random.Random(11)
    assert sleep.delays == [expected.uniform(0.0, 2.0) for _ in range(20)]
    assert all(0.0 <= d <= 2.0 for d in sleep.delays)
    assert len(set(sleep.delays)) > 1


def test_no_latency_means_no_sleep(serve: Serve, sleep: RecordingSleep) -> None:
    with serve() as (url, _), httpx.Client(base_url=url) as http:
        assert _refresh(http).status_code == 200
    assert sleep.delays == []


def test_real_sleep_does_not_block_the_event_loop(serve: Serve) -> None:
    """With the default asyncio.sleep, a slow Item does not hold up a fast one (ordering, not timing)."""
    started = threading.Event()

    async def gated_sleep(seconds: float) -> None:
        started.set()
        await asyncio.sleep(seconds)

    config = ServerConfig(latency=1.0, rate_limit=False)
    with serve(config, sleep=gated_sleep) as (url, app), httpx.Client(base_url=url, timeout=10) as http:
        app.store.items[TOKEN_USER_GOOD] = attrs.evolve(
            app.store.items[TOKEN_USER_GOOD], knobs=Knobs(latency=0)
        )
        order: list[str] = []

        def slow() -> None:
            _refresh(http, TOKEN_HEALTHY)
            order.append("slow")

        worker = threading.Thread(target=slow)
        worker.start()
        assert started.wait(5)
        with httpx.Client(base_url=url, timeout=10) as other:
            assert _refresh(other, TOKEN_USER_GOOD).status_code == 200
        order.append("fast")
        worker.join(10)
    assert order == ["fast", "slow"]


@pytest.mark.parametrize(
    ("knob", "status", "code"),
    [
        ("error_rate", 500, "INTERNAL_SERVER_ERROR"),
        ("maintenance_rate", 503, "PLANNED_MAINTENANCE"),
    ],
)
def test_global_fault_at_rate_one(serve: Serve, knob: str, status: int, code: str) -> None:
    config = ServerConfig(
        rate_limit=False,
        error_rate=1.0 if knob == "error_rate" else 0.0,
        maintenance_rate=1.0 if knob == "maintenance_rate" else 0.0,
    )
    with serve(config) as (url, app), httpx.Client(base_url=url) as http:
        body = assert_plaid_error(_refresh(http), status, code)
        assert body["error_type"] == "API_ERROR"
        assert app.store.history() == []  # an injected fault records nothing


def test_fault_rate_is_a_seeded_share(serve: Serve) -> None:
    config = ServerConfig(error_rate=0.3, maintenance_rate=0.2, seed=5, rate_limit=False)
    with serve(config) as (url, _), httpx.Client(base_url=url) as http:
        statuses = [_refresh(http).status_code for _ in range(200)]
    expected_rng = random.Random(5)
    expected = []
    for _ in range(200):
        if expected_rng.random() < 0.3:
            expected.append(500)
        elif expected_rng.random() < 0.2:
            expected.append(503)
        else:
            expected.append(200)
    assert statuses == expected
    assert 30 <= statuses.count(500) <= 90
    assert statuses.count(503) > 0


ITEMS = """
items:
  - access_token: access-sandbox-slow
    latency: 7.5
  - access_token: access-sandbox-flaky
    error_rate: 1
  - access_token: access-sandbox-down-for-maintenance
    maintenance_rate: 1
  - access_token: access-sandbox-quiet
    latency: 0
    error_rate: 0
"""


def test_per_item_knobs_override_global(serve: Serve, sleep: RecordingSleep, tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text(ITEMS)
    config = ServerConfig(items_path=path, latency=1.0, error_rate=0.0, rate_limit=False)
    with serve(config) as (url, _), httpx.Client(base_url=url) as http:
        assert _refresh(http, "access-sandbox-slow").status_code == 200
        assert_plaid_error(_refresh(http, "access-sandbox-flaky"), 500, "INTERNAL_SERVER_ERROR")
        assert_plaid_error(_refresh(http, "access-sandbox-down-for-maintenance"), 503, "PLANNED_MAINTENANCE")
        assert _refresh(http, "access-sandbox-quiet").status_code == 200
        assert _refresh(http, TOKEN_HEALTHY).status_code == 200
    assert sleep.delays == [7.5, 1.0, 1.0, 1.0]
    config = ServerConfig(items_path=path, error_rate=1.0, rate_limit=False)
    with serve(config) as (url, _), httpx.Client(base_url=url) as http:
        assert _refresh(http, "access-sandbox-quiet").status_code == 200  # per-Item 0 beats global 1
        assert _refresh(http, TOKEN_HEALTHY).status_code == 500
