"""The load generators' logic: the wrk Lua script and its parser, and the asyncio fallback run
for a fraction of a second against real uvicorn servers (counts are asserted, never times)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest

from bench import floor_app, loadgen
from plaid_refresh.server.testing import running_server

CREDS = loadgen.Credentials("0123456789abcdef01234567", "0123456789abcdef0123456789abcd", token_count=10)


def test_tokens_cycle_over_the_items() -> None:
    assert CREDS.token(3) == "access-sandbox-bench-00003"
    assert CREDS.token(13) == CREDS.token(3)
    with pytest.raises(ValueError, match="token_count"):
        loadgen.Credentials("a", "b", token_count=0)


def test_lua_script_carries_credentials_count_and_marker() -> None:
    script = loadgen.lua_script(CREDS)
    assert '["PLAID-CLIENT-ID"] = "0123456789abcdef01234567"' in script
    assert "local count = 10" in script
    assert 'local prefix = "access-sandbox-bench-"' in script
    assert loadgen.MARKER.strip() in script
    # Python %-formatting left no stray placeholders and Lua's own format strings survived.
    assert "%(" not in script
    assert "%s%05d" in script


def test_parse_wrk_reads_the_summary_line() -> None:
    out = (
        "Running 1s test @ http://127.0.0.1:1/transactions/refresh\n"
        + loadgen.MARKER
        + '{"requests":1000,"duration_us":2000000,"connect":1,"read":2,"write":0,"status":10,'
        + '"timeout":3,"p50_us":600,"p99_us":1500}\n'
    )
    result = loadgen.parse_wrk(out, 32, "wrk ...")
    assert result.requests == 1000
    assert result.rps == 500.0
    assert result.non_2xx == 10
    assert result.ok_2xx == 990
    assert result.socket_errors == 6
    assert (result.p50_ms, result.p99_ms) == (0.6, 1.5)


def test_parse_wrk_without_summary_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="no summary"):
        loadgen.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused", 1, "wrk")


Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]


def _app_answering(status: int) -> ASGIApp:
    async def app(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        bodies: list[bytes] = []
        more = True
        while more:
            message = await receive()
            bodies.append(message.get("body", b""))
            more = message.get("more_body", False)
        # Echo the token back, so the test can see that tokens vary.
        body = re.search(rb'"access_token":"([^"]+)"', b"".join(bodies))
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": body.group(1) if body else b"none"})

    return app


def test_asyncio_fallback_counts_2xx_against_the_floor() -> None:
    with running_server(floor_app.app) as base_url:
        result = loadgen.run_asyncio(base_url, connections=2, duration_s=0.3, creds=CREDS, max_requests=200)
    assert 0 < result.requests <= 200
    assert result.non_2xx == 0
    assert result.socket_errors == 0
    assert result.p50_ms <= result.p99_ms


def test_asyncio_fallback_counts_non_2xx() -> None:
    with running_server(_app_answering(429)) as base_url:
        result = loadgen.run_asyncio(base_url, connections=2, duration_s=0.3, creds=CREDS, max_requests=50)
    assert result.requests > 0
    assert result.non_2xx == result.requests
    assert result.ok_2xx == 0


def test_asyncio_fallback_is_bounded_in_count() -> None:
    with running_server(floor_app.app) as base_url:
        result = loadgen.run_asyncio(base_url, connections=3, duration_s=5.0, creds=CREDS, max_requests=30)
    assert result.requests == 30
