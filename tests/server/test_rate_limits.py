"""TRANSACTIONS_REFRESH_LIMIT with a controllable clock: no test sleeps."""

from __future__ import annotations

import httpx

from plaid_refresh.server import TOKEN_HEALTHY, TOKEN_USER_GOOD, Item, ServerConfig
from plaid_refresh.server.items import Account
from tests.server.conftest import HEADERS, FakeClock, Serve, assert_plaid_error

REFRESH = "/transactions/refresh"


def _refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(REFRESH, headers=HEADERS, json={"access_token": token})


def test_two_per_item_per_minute_sliding(serve: Serve, clock: FakeClock) -> None:
    with serve() as (url, _), httpx.Client(base_url=url) as http:
        assert _refresh(http, TOKEN_HEALTHY).status_code == 200
        clock.advance(30)
        assert _refresh(http, TOKEN_HEALTHY).status_code == 200
        body = assert_plaid_error(_refresh(http, TOKEN_HEALTHY), 429, "TRANSACTIONS_REFRESH_LIMIT")
        assert body["error_type"] == "RATE_LIMIT_EXCEEDED"
        # Another Item is not affected.
        assert _refresh(http, TOKEN_USER_GOOD).status_code == 200
        clock.advance(29.9)  # the first call is still inside the window
        assert _refresh(http, TOKEN_HEALTHY).status_code == 429
        clock.advance(0.2)  # now it has left: one slot frees up (refused calls were not counted)
        assert _refresh(http, TOKEN_HEALTHY).status_code == 200
        assert _refresh(http, TOKEN_HEALTHY).status_code == 429


def test_hundred_per_client_per_minute(serve: Serve, clock: FakeClock) -> None:
    items = [
        Item(f"access-sandbox-bulk-{i}", f"bulk-{i}", "ins_109508", (Account("a", "depository", "checking"),))
        for i in range(101)
    ]
    with serve(items=items) as (url, _), httpx.Client(base_url=url) as http:
        statuses = [_refresh(http, item.access_token).status_code for item in items[:100]]
        assert statuses == [200] * 100
        assert_plaid_error(_refresh(http, items[100].access_token), 429, "TRANSACTIONS_REFRESH_LIMIT")
        clock.advance(60.001)
        assert _refresh(http, items[100].access_token).status_code == 200


def test_limits_are_configurable(serve: Serve) -> None:
    with serve(ServerConfig(item_limit_per_minute=3)) as (url, _), httpx.Client(base_url=url) as http:
        assert [_refresh(http, TOKEN_HEALTHY).status_code for _ in range(4)] == [200, 200, 200, 429]
    with serve(ServerConfig(rate_limit=False)) as (url, _), httpx.Client(base_url=url) as http:
        assert {_refresh(http, TOKEN_HEALTHY).status_code for _ in range(10)} == {200}
