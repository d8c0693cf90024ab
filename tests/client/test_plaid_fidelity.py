"""What Plaid may send back is judged by Plaid's contract, not a stricter one (issue 11), through the
public client over real sockets: a Plaid error at any status is its typed exception, long or large
error objects are not "malformed", and retries go by HTTP status and error_type, not known codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from plaid_refresh import (
    AsyncPlaidRefreshClient,
    InternalServerError,
    ItemError,
    ItemLoginRequired,
    PlaidError,
    PlaidErrorResponse,
    PlaidRefreshClient,
    PlaidUnexpectedStatus,
    RateLimitError,
)

from .helpers import CLIENT_ID, SECRET, TOKEN, FakeClock, error_example
from .stub_server import serving

OK = (200, {"request_id": "fidelityReq0001"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answers: list[tuple[int, Any]]
    seen: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        status, answer = self.server.answers[min(self.server.seen, len(self.server.answers) - 1)]
        self.server.seen += 1
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def scripted(*answers: tuple[int, Any]) -> Iterator[tuple[str, _Server]]:
    """A real HTTP server on 127.0.0.1 giving `answers` in turn (the last one from then on)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.answers = list(answers)
    with serving(server) as url:
        yield url, server


def refresh(url: str, clock: FakeClock | None = None) -> str:
    clock = clock or FakeClock()
    with PlaidRefreshClient.custom(
        url, client_id=CLIENT_ID, secret=SECRET, sleep=clock.sleep, clock=clock, deadline=None
    ) as client:
        return client.refresh(TOKEN).request_id


def failure(url: str) -> PlaidError:
    """The exception a refresh against `url` raises (after its retries)."""
    try:
        refresh(url)
    except PlaidError as exc:
        return exc
    raise AssertionError("the refresh succeeded")


def plaid_error(error_type: str, error_code: str, **extra: Any) -> dict[str, Any]:
    return {
        "error_type": error_type,
        "error_code": error_code,
        "error_message": "something happened",
        "display_message": None,
        "request_id": "fidelityErr0001",
        **extra,
    }


ITEM_LOGIN_REQUIRED = error_example("ITEM_LOGIN_REQUIRED")["body"]


@pytest.mark.parametrize("status", [401, 403, 409, 422, 502, 504])
def test_a_plaid_error_at_a_status_the_spec_does_not_list_is_caught_by_its_class(status: int) -> None:
    with scripted((status, ITEM_LOGIN_REQUIRED)) as (url, _):
        error = failure(url)
    assert isinstance(error, ItemLoginRequired)
    assert isinstance(error, ItemError)
    assert (error.status_code, error.error_code) == (status, "ITEM_LOGIN_REQUIRED")
    assert error.request_id == ITEM_LOGIN_REQUIRED["request_id"]


def test_an_unknown_type_at_an_unlisted_status_is_still_a_plaid_error() -> None:
    with scripted((418, plaid_error("BRAND_NEW_ERROR", "BRAND_NEW_CODE"))) as (url, _):
        error = failure(url)
    assert isinstance(error, PlaidErrorResponse)
    assert (error.error_type, error.error_code) == ("BRAND_NEW_ERROR", "BRAND_NEW_CODE")


def test_a_body_that_is_not_a_plaid_error_stays_a_protocol_error() -> None:
    with scripted((401, {"message": "unauthorized"})) as (url, _):
        error = failure(url)
    assert isinstance(error, PlaidUnexpectedStatus)
    assert error.error_code is None


@pytest.mark.parametrize(
    "extra",
    [
        {"error_message": "the login details changed; " * 2_000},  # ~54 KB
        {"display_message": "Please log in again. " * 1_000},
        {"causes": [{"item_id": f"item-{n}", "error_code": "ITEM_LOGIN_REQUIRED"} for n in range(500)]},
        {"error_code_reason": "OAUTH_CONSENT_EXPIRED_" * 50, "status": 4000},
        {"documentation_url": "https://plaid.com/docs/errors/item/#" + "x" * 5000},
        {"required_account_subtypes": ["checking"] * 300, "provided_account_subtypes": ["s" * 100]},
        {"request_id": "r" * 1000},
    ],
    ids=["long message", "long display", "500 causes", "long reason", "long url", "many subtypes", "long id"],
)
def test_a_large_item_login_required_is_still_item_login_required(extra: dict[str, Any]) -> None:
    with scripted((400, {**ITEM_LOGIN_REQUIRED, **extra})) as (url, _):
        error = failure(url)
    assert isinstance(error, ItemLoginRequired)
    assert error.status_code == 400


def test_a_future_more_specific_500_code_is_retried() -> None:
    answer = (500, plaid_error("API_ERROR", "INTERNAL_SERVER_ERROR_DATABASE"))
    with scripted(answer, answer, answer, OK) as (url, server):
        assert refresh(url) == "fidelityReq0001"
    assert server.seen == 4


def test_a_future_500_code_gets_every_attempt_before_it_is_raised() -> None:
    with scripted((500, plaid_error("API_ERROR", "INTERNAL_SERVER_ERROR_DATABASE"))) as (url, server):
        error = failure(url)
    assert isinstance(error, PlaidErrorResponse)
    assert (server.seen, error.attempts) == (4, 4)


@pytest.mark.parametrize("code", ["RATE_LIMIT", "TRANSACTIONS_REFRESH_LIMIT", "SOME_FUTURE_LIMIT"])
def test_a_429_rate_limit_is_retried_whatever_its_code(code: str) -> None:
    clock = FakeClock()
    with scripted((429, plaid_error("RATE_LIMIT_EXCEEDED", code)), OK) as (url, server):
        assert refresh(url, clock) == "fidelityReq0001"
    assert server.seen == 2
    assert clock.sleeps[0] >= 2.0  # the rate-limit backoff


def test_a_plaid_500_at_a_gateway_status_is_retried() -> None:
    with scripted((502, error_example("INTERNAL_SERVER_ERROR")["body"]), OK) as (url, server):
        assert refresh(url) == "fidelityReq0001"
    assert server.seen == 2


def test_credits_exhausted_is_not_retried() -> None:
    with scripted((429, plaid_error("RATE_LIMIT_EXCEEDED", "CREDITS_EXHAUSTED")), OK) as (url, server):
        error = failure(url)
    assert isinstance(error, RateLimitError)
    assert (server.seen, error.error_code) == (1, "CREDITS_EXHAUSTED")


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, error_example("INTERNAL_SERVER_ERROR")["body"]),  # a 400 is never retried
        (500, plaid_error("ITEM_ERROR", "ITEM_LOGIN_REQUIRED")),  # not a transient type
        (503, plaid_error("BRAND_NEW_ERROR", "BRAND_NEW_CODE")),  # a type not known to be transient
    ],
    ids=["400 api error", "500 item error", "503 unknown type"],
)
def test_errors_that_waiting_cannot_fix_are_not_retried(status: int, body: dict[str, Any]) -> None:
    with scripted((status, body), OK) as (url, server):
        error = failure(url)
    assert isinstance(error, PlaidErrorResponse)
    assert server.seen == 1


def test_async_client_maps_and_retries_the_same_way() -> None:
    import asyncio

    async def run(url: str) -> str:
        clock = FakeClock()
        async with AsyncPlaidRefreshClient.custom(
            url, client_id=CLIENT_ID, secret=SECRET, sleep=clock.async_sleep, clock=clock, deadline=None
        ) as client:
            return (await client.refresh(TOKEN)).request_id

    answer = (500, plaid_error("API_ERROR", "INTERNAL_SERVER_ERROR_DATABASE"))
    with scripted(answer, OK) as (url, server):
        assert asyncio.run(run(url)) == "fidelityReq0001"
    assert server.seen == 2
    with scripted((409, ITEM_LOGIN_REQUIRED)) as (url, _), pytest.raises(ItemLoginRequired):
        asyncio.run(run(url))
    with (
        scripted((502, error_example("INTERNAL_SERVER_ERROR")["body"])) as (url, _),
        pytest.raises(InternalServerError),
    ):
        asyncio.run(run(url))
