"""The access log: one JSON line per request, never a credential or token; can be turned off."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_HEALTHY, ServerConfig
from tests.server.conftest import HEADERS, JSON, Serve

REFRESH = "/transactions/refresh"


def _access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "plaid_refresh.server.access"]


def test_access_log_is_structured_and_has_no_secrets(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="plaid_refresh.server")
    with serve() as (url, _), httpx.Client(base_url=url) as http:
        ok = http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY})
        http.post(
            REFRESH,
            headers=JSON,
            json={
                "access_token": TOKEN_HEALTHY,
                "client_id": DEFAULT_CLIENT_ID,
                "secret": DEFAULT_SECRET + "x",
            },
        )
        http.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-unknown-zzz"})
        http.post(f"/{DEFAULT_SECRET}/{DEFAULT_CLIENT_ID}", headers=HEADERS, json={})
    lines = _access_lines(caplog)
    assert [line["status"] for line in lines] == [200, 400, 400, 404]
    assert lines[0]["request_id"] == ok.json()["request_id"]
    assert lines[0]["item_id"] == "item-healthy"
    assert [line["error_code"] for line in lines[1:]] == [
        "INVALID_API_KEYS",
        "INVALID_ACCESS_TOKEN",
        "NOT_FOUND",
    ]
    for secret in (DEFAULT_SECRET, DEFAULT_CLIENT_ID, TOKEN_HEALTHY, "access-sandbox-unknown-zzz"):
        assert secret not in caplog.text
    assert "[REDACTED]" in str(lines[3]["path"])


def test_access_log_can_be_turned_off(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="plaid_refresh.server")
    with serve(ServerConfig(access_log=False)) as (url, _), httpx.Client(base_url=url) as http:
        assert http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY}).status_code == 200
    assert _access_lines(caplog) == []


def test_reprs_hide_credentials_and_tokens(serve: Serve) -> None:
    config = ServerConfig(client_id="repr-client-id", secret="repr-secret-value")
    assert "repr-client-id" not in repr(config)
    assert "repr-secret-value" not in repr(config)
    with serve(config) as (_, app):
        shown = repr(app.store.items[TOKEN_HEALTHY]) + repr(app.signer) + repr(app.config)
    assert TOKEN_HEALTHY not in shown
    assert "repr-secret-value" not in shown
