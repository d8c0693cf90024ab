"""The example service handles each Plaid outcome as docs/client.md describes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from examples.service.__main__ import main
from examples.service.app import create_app
from plaid_refresh import AsyncPlaidRefreshClient, RetryPolicy

from .helpers import CLIENT_ID, SECRET, error_example

ANSWERS: dict[str, httpx.Response | Exception] = {
    "ok": httpx.Response(200, json={"request_id": "1vwmF5TBQwiqfwP"}),
    "relink": httpx.Response(400, json=error_example("ITEM_LOGIN_REQUIRED")["body"]),
    "limited": httpx.Response(429, json=error_example("TRANSACTIONS_REFRESH_LIMIT")["body"]),
    "keys": httpx.Response(400, json=error_example("INVALID_API_KEYS")["body"]),
    "capone": httpx.Response(400, json=error_example("PRODUCTS_NOT_SUPPORTED")["body"]),
    "bankdown": httpx.Response(400, json=error_example("INSTITUTION_DOWN")["body"]),
    "proxy": httpx.Response(502, content=b"<html>502</html>", headers={"content-type": "text/html"}),
    "down": httpx.ConnectError("refused"),
    "maintenance": httpx.Response(503, json=error_example("PLANNED_MAINTENANCE")["body"]),
    "novel": httpx.Response(
        400,
        json={
            "error_type": "NEW_TYPE",
            "error_code": "NEW_CODE",
            "error_message": "m",
            "display_message": None,
        },
    ),
}


def _plaid(request: httpx.Request) -> httpx.Response:
    token = request.read().decode().split('"')[3]
    answer = ANSWERS[token.removeprefix("access-sandbox-")]
    if isinstance(answer, Exception):
        raise answer
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


async def _no_sleep(_: float) -> None:
    return None


async def _post(path: str, method: str = "POST") -> tuple[int, dict[str, Any], httpx.Headers]:
    client = AsyncPlaidRefreshClient.sandbox(
        client_id=CLIENT_ID,
        secret=SECRET,
        transport=httpx.MockTransport(_plaid),
        sleep=_no_sleep,
        retries=RetryPolicy(max_attempts=2),
    )
    app = create_app({name: f"access-sandbox-{name}" for name in ANSWERS}, client)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as http:
        response = await http.request(method, path)
    await client.aclose()
    return response.status_code, response.json(), response.headers


@pytest.mark.parametrize(
    ("item", "status", "outcome"),
    [
        ("ok", 202, "refresh_started"),
        ("relink", 409, "needs_relink"),
        ("limited", 429, "rate_limited"),
        ("keys", 500, "misconfigured"),
        ("capone", 422, "item_cannot_refresh"),
        ("bankdown", 503, "bank_unavailable"),
        ("proxy", 503, "plaid_unavailable"),
        ("down", 503, "plaid_unavailable"),
        ("maintenance", 503, "plaid_unavailable"),
        ("novel", 502, "plaid_error"),
        ("nobody", 404, "unknown_item"),
    ],
)
def test_each_plaid_outcome_gets_an_actionable_answer(item: str, status: int, outcome: str) -> None:
    got_status, body, headers = asyncio.run(_post(f"/items/{item}/refresh"))
    assert (got_status, body["status"]) == (status, outcome)
    if status == 429:
        assert headers["retry-after"] == "60"
    if item == "relink":
        assert body["plaid_error_code"] == "ITEM_LOGIN_REQUIRED"


def test_routes_and_methods() -> None:
    assert asyncio.run(_post("/nothing"))[0] == 404
    assert asyncio.run(_post("/items/ok/refresh", method="GET"))[0] == 405


def test_main_explains_missing_configuration(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("PLAID_ENV", "PLAID_BASE_URL", "PLAID_CLIENT_ID", "PLAID_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--item", "a=b"]) == 2
    assert "PLAID_CLIENT_ID" in capsys.readouterr().err


def test_against_the_reference_server() -> None:
    """The example service with a client from `from_env()` pointed at the real reference server."""
    from plaid_refresh.server import (
        DEFAULT_CLIENT_ID,
        DEFAULT_SECRET,
        TOKEN_CAPITAL_ONE_CREDIT,
        TOKEN_HEALTHY,
        TOKEN_INSTITUTION_DOWN,
        TOKEN_ITEM_LOGIN_REQUIRED,
        ServerConfig,
    )
    from plaid_refresh.server import create_app as create_server
    from plaid_refresh.server.testing import running_server

    tokens = {
        "healthy": TOKEN_HEALTHY,
        "relink": TOKEN_ITEM_LOGIN_REQUIRED,
        "capone": TOKEN_CAPITAL_ONE_CREDIT,
        "bankdown": TOKEN_INSTITUTION_DOWN,
    }

    async def run(base_url: str) -> dict[str, tuple[int, str]]:
        env = {
            "PLAID_BASE_URL": base_url,
            "PLAID_CLIENT_ID": DEFAULT_CLIENT_ID,
            "PLAID_SECRET": DEFAULT_SECRET,
        }
        client = AsyncPlaidRefreshClient.from_env(env)
        app = create_app(tokens, client)
        seen = {}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://service"
        ) as http:
            for item in tokens:
                response = await http.post(f"/items/{item}/refresh")
                seen[item] = (response.status_code, response.json()["status"])
        await client.aclose()
        return seen

    with running_server(create_server(ServerConfig(access_log=False))) as base_url:
        seen = asyncio.run(run(base_url))
    assert seen == {
        "healthy": (202, "refresh_started"),
        "relink": (409, "needs_relink"),
        "capone": (422, "item_cannot_refresh"),
        "bankdown": (503, "bank_unavailable"),
    }
