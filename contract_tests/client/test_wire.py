"""Checks any client can be judged by (CLIENT_FACTORY=... or this project's client), sync and async
alike: what goes on the wire at every attempt, where it goes and how, how many sends and which waits
between them, what the raised exception says through the adapter, and that no exception, exception
chain or DEBUG log line shows the secret or the access token.

The rules are Plaid's contract (shared/PLAID_FACTS.md, the spec) and this suite's demands on a client
that runs in production: https to the environment's host only, never a redirect, a read timeout long
enough for a 30 s refresh, bounded retries of what Plaid documents as retryable with growing waits."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings

from contract_tests.client.harness import (
    REFRESH,
    access_tokens,
    check_credentials_only_in_headers,
    check_plaid_version,
    check_request_matches_spec,
    named_examples,
)
from contract_tests.client.subject import Subject
from contract_tests.client.wire import SECRET, TOKEN, Answer, Call, call, error_text, json_answer

MODES = ["sync", "async"]
OK = json_answer(200, {"request_id": "1vwmF5TBQwiqfwP"})
ERRORS = {name: (status, body) for status, name, body in named_examples(REFRESH) if status != 200}
RETRIED = {
    "INTERNAL_SERVER_ERROR",
    "PLANNED_MAINTENANCE",
    "TRANSACTIONS_REFRESH_LIMIT",
    "INSTITUTION_RATE_LIMIT",
}
MIN_READ_TIMEOUT = 30.0
"""Plaid: this endpoint sometimes takes 30 s or more."""


def error(name: str) -> httpx.Response:
    status, body = ERRORS[name]
    return json_answer(status, body)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, subject: Subject) -> str:
    if request.param == "async" and subject.async_factory is None:
        pytest.skip("no CLIENT_ASYNC_FACTORY given: the async checks need an async client")
    return str(request.param)


def check_attempt(request: httpx.Request, environment: str = "sandbox", token: str = TOKEN) -> None:
    """One attempt on the wire: the spec (openapi-core), Plaid-Version, credentials in headers only,
    the exact body, https to the environment's host with no query, a read timeout."""
    check_request_matches_spec(request)
    check_plaid_version(request)
    check_credentials_only_in_headers(request)
    assert request.headers.get("content-type", "").split(";")[0].strip() == "application/json"
    assert json.loads(request.content) == {"access_token": token}, f"body sent: {request.content[:200]!r}"
    expected = f"https://{environment}.plaid.com/transactions/refresh"
    assert str(request.url) == expected, f"sent to {request.url} (query included), expected {expected}"
    timeout = request.extensions.get("timeout", {})
    for phase in ("connect", "read", "write", "pool"):
        assert timeout.get(phase) is not None, (
            f"no {phase} timeout on the request: a stuck call hangs forever"
        )
    assert timeout["read"] >= MIN_READ_TIMEOUT, f"read timeout {timeout['read']} s < {MIN_READ_TIMEOUT:g} s"


def check_no_secrets(outcome: Call, token: str = TOKEN) -> None:
    shown = {"DEBUG logs": "\n".join(outcome.logs)}
    if outcome.error is not None:
        shown["the exception (str, repr, args, attributes, traceback, chain)"] = error_text(outcome.error)
    for where, text in shown.items():
        for name, value in (("secret", SECRET), ("access token", token)):
            assert value not in text, f"the {name} appears in {where}"


# ---- every attempt, the exact body, where and how ------------------------------------------------


@pytest.mark.parametrize("environment", ["sandbox", "production"])
def test_a_successful_call_sends_one_valid_request(subject: Subject, mode: str, environment: str) -> None:
    token = TOKEN.replace("sandbox", environment)
    outcome = call(subject, mode, [OK], environment=environment, token=token)
    assert outcome.error is None, f"a 200 raised {type(outcome.error).__name__}: {outcome.error}"
    assert outcome.sends == 1
    check_attempt(outcome.requests[0], environment, token)
    assert outcome.request_id() == "1vwmF5TBQwiqfwP", "the answer's request_id is not on the result"
    check_no_secrets(outcome, token)


def test_every_attempt_of_a_retried_call_is_valid(subject: Subject, mode: str) -> None:
    answers: list[Answer] = [
        error("PLANNED_MAINTENANCE"),
        error("INTERNAL_SERVER_ERROR"),
        httpx.ConnectError("refused"),
        OK,
    ]
    outcome = call(subject, mode, answers, retries=3)
    assert outcome.error is None, f"the call failed after retries: {outcome.error!r}"
    assert outcome.sends == 4
    for attempt in outcome.requests:
        check_attempt(attempt)
    check_no_secrets(outcome)


@settings(settings.get_profile("client-contract"), max_examples=15)
@given(token=access_tokens())
def test_the_body_is_exactly_the_token_given(subject: Subject, token: str) -> None:
    outcome = call(subject, "sync", [OK], token=token)
    assert outcome.sends == 1
    assert json.loads(outcome.requests[0].content) == {"access_token": token}


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_not_followed(subject: Subject, mode: str, status: int) -> None:
    moved = httpx.Response(status, headers={"location": "https://evil.example/transactions/refresh"})
    outcome = call(subject, mode, [moved, OK], retries=2)
    hosts = {r.url.host for r in outcome.requests}
    assert hosts == {"sandbox.plaid.com"}, (
        f"the client followed a {status} to {hosts - {'sandbox.plaid.com'}}"
    )
    assert outcome.sends == 1, f"a {status} was sent {outcome.sends} times"
    assert outcome.error is not None, f"a {status} answer was taken for a success"
    check_no_secrets(outcome)


# ---- sends, retries and waits ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ERRORS))
@pytest.mark.parametrize("retries", [0, 2])
def test_sends_and_error_of_each_documented_error(
    subject: Subject, mode: str, name: str, retries: int
) -> None:
    status, body = ERRORS[name]
    outcome = call(subject, mode, [error(name)], retries=retries)
    expected = retries + 1 if name in RETRIED else 1
    assert outcome.sends == expected, (
        f"HTTP {status} {name} sent {outcome.sends}x with retries={retries}, expected {expected}"
    )
    assert outcome.error is not None, f"HTTP {status} {name} raised nothing"
    info = outcome.info
    assert info is not None, f"the adapter does not recognise {type(outcome.error).__name__}"
    got = (info.code, info.type, info.status, info.request_id)
    assert got == (body["error_code"], body["error_type"], status, body.get("request_id")), (
        f"adapter saw {got}"
    )
    for attempt in outcome.requests:
        check_attempt(attempt)
    check_no_secrets(outcome)


@pytest.mark.parametrize("name", sorted(RETRIED))
def test_waits_between_attempts_grow(subject: Subject, mode: str, name: str) -> None:
    outcome = call(subject, mode, [error(name)], retries=3)
    assert outcome.sends == 4
    waits = outcome.sleeps
    assert len(waits) == 3, f"{len(waits)} waits for 4 attempts (expected one between each): {waits}"
    assert all(0.1 <= w <= 60 for w in waits), f"waits must be between 0.1 and 60 s: {waits}"
    assert waits[-1] > waits[0], f"the waits do not grow (no backoff): {waits}"


@pytest.mark.parametrize("fault", ["ConnectError", "ConnectTimeout"])
@pytest.mark.parametrize("retries", [0, 1, 3])
def test_connection_faults_are_retried_up_to_the_limit(
    subject: Subject, mode: str, fault: str, retries: int
) -> None:
    """Nothing reached Plaid: always safe to retry, within the retries given."""
    failure = getattr(httpx, fault)("connection refused")
    outcome = call(subject, mode, [failure], retries=retries)
    assert outcome.sends == retries + 1, f"{fault} sent {outcome.sends}x with retries={retries}"
    assert outcome.error is not None, f"{fault} on every attempt raised nothing"
    assert len(outcome.sleeps) == retries, f"{len(outcome.sleeps)} waits for {retries + 1} attempts"
    check_no_secrets(outcome)


def test_a_connection_fault_then_success(subject: Subject, mode: str) -> None:
    outcome = call(subject, mode, [httpx.ConnectError("refused"), OK], retries=1)
    assert (outcome.error, outcome.sends) == (None, 2), f"{outcome.error!r}, {outcome.sends} sends"
    assert outcome.request_id() == "1vwmF5TBQwiqfwP"


# ---- answers outside the spec ------------------------------------------------------------------------


GATEWAY: dict[str, tuple[httpx.Response, bool]] = {
    "HTML 502": (
        httpx.Response(502, content=b"<html>502 Bad Gateway</html>", headers={"content-type": "text/html"}),
        True,
    ),
    "empty 504": (httpx.Response(504, content=b""), True),
    "plain 500": (httpx.Response(500, content=b"Internal Server Error"), False),
    "JSON 401 from a proxy": (json_answer(401, {"message": "unauthorized"}), False),
}


@pytest.mark.parametrize("name", sorted(GATEWAY))
def test_answers_that_are_not_plaid_errors(subject: Subject, mode: str, name: str) -> None:
    """Raised with their HTTP status; a gateway's 502/504 may be retried, nothing else is."""
    answer, may_retry = GATEWAY[name]
    outcome = call(subject, mode, [answer], retries=2)
    assert outcome.error is not None, f"{name} raised nothing"
    info = outcome.info
    assert info is not None, f"{name}: the adapter does not recognise {type(outcome.error).__name__}"
    assert info.status == answer.status_code, f"{name}: the adapter saw {info}"
    assert outcome.sends in ((1, 3) if may_retry else (1,)), f"{name} sent {outcome.sends}x"
    check_no_secrets(outcome)


MALFORMED: dict[str, httpx.Response] = {
    "HTML 200": httpx.Response(200, content=b"<html>ok</html>", headers={"content-type": "text/html"}),
    "truncated 200": httpx.Response(200, content=b'{"request_id": "abc'),
    "200 without request_id": json_answer(200, {}),
    "a JSON array": json_answer(200, []),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_success_raises(subject: Subject, mode: str, name: str) -> None:
    outcome = call(subject, mode, [MALFORMED[name]], retries=2)
    assert outcome.error is not None, f"{name} was taken for a success: {outcome.result!r}"
    assert outcome.sends == 1, f"{name} sent {outcome.sends}x"
    check_no_secrets(outcome)


@pytest.mark.parametrize("status", [400, 429, 500, 503])
def test_unknown_codes_and_extra_fields(subject: Subject, mode: str, status: int) -> None:
    """Plaid adds codes, types and fields without notice: an unknown code is still a Plaid error."""
    body: dict[str, Any] = {
        "error_type": "SOMETHING_NEW",
        "error_code": "BRAND_NEW_CODE",
        "error_message": "m",
        "display_message": None,
        "request_id": "NewCode1234567x",
        "added_later": {"x": [1]},
    }
    outcome = call(subject, mode, [json_answer(status, body)], retries=2)
    assert outcome.error is not None
    info = outcome.info
    assert info is not None, (
        f"an unknown code gave {type(outcome.error).__name__}, not an error of the client"
    )
    assert (info.code, info.type, info.status, info.request_id) == (
        "BRAND_NEW_CODE",
        "SOMETHING_NEW",
        status,
        "NewCode1234567x",
    )
    assert outcome.sends == 1, f"an unknown code (HTTP {status}) was retried"


def test_a_success_with_extra_fields(subject: Subject, mode: str) -> None:
    answer = json_answer(200, {"request_id": "Extra1234567890", "added_later": [1, {"a": None}]})
    outcome = call(subject, mode, [answer])
    assert outcome.error is None, f"extra fields in a 200 raised {outcome.error!r}"
    assert outcome.request_id() == "Extra1234567890"
