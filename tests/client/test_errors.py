"""The exception family: every spec code has a class, answers map to the right class, and transport
or protocol failures become distinct, clear exceptions (never JSONDecodeError/ValueError/KeyError)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
from plaid_refresh_client.models import KnownErrorCode, KnownErrorType

import plaid_refresh
from plaid_refresh import (
    ERROR_CLASS_BY_CODE,
    ERROR_CLASS_BY_TYPE,
    InstitutionDown,
    InstitutionError,
    InvalidApiKeys,
    InvalidRequestError,
    ItemError,
    ItemLoginRequired,
    PlaidConnectionError,
    PlaidError,
    PlaidErrorResponse,
    PlaidMalformedResponse,
    PlaidNonJsonResponse,
    PlaidTimeout,
    PlaidUnexpectedStatus,
    RateLimitError,
    TransactionsRefreshLimit,
)

from .helpers import TOKEN, Script, async_client, error_examples, ok, plaid_response, sync_client


def _camel(code: str) -> str:
    return "".join(part.capitalize() for part in code.split("_"))


def test_every_known_code_and_type_has_its_own_class() -> None:
    assert set(ERROR_CLASS_BY_CODE) == {c.value for c in KnownErrorCode}
    assert set(ERROR_CLASS_BY_TYPE) == {t.value for t in KnownErrorType}
    for code, cls in ERROR_CLASS_BY_CODE.items():
        assert cls.__name__ == _camel(code)
        assert getattr(plaid_refresh, cls.__name__) is cls  # importable from the top-level package


def test_each_code_class_sits_under_the_type_its_spec_examples_give() -> None:
    examples = error_examples()
    assert {body["error_code"] for _, body in examples} == set(ERROR_CLASS_BY_CODE)
    for _, body in examples:
        cls = ERROR_CLASS_BY_CODE[body["error_code"]]
        assert issubclass(cls, ERROR_CLASS_BY_TYPE[body["error_type"]])


@pytest.mark.parametrize(
    ("status", "body"),
    error_examples(),
    ids=lambda v: str(v.get("error_code", v)) if isinstance(v, dict) else str(v),
)
def test_every_spec_example_raises_its_class_with_all_fields(status: int, body: dict[str, Any]) -> None:
    client = sync_client(Script([httpx.Response(status, json=body)]), retries=0)
    with pytest.raises(PlaidErrorResponse) as caught:
        client.refresh(TOKEN)
    error = caught.value
    assert type(error) is ERROR_CLASS_BY_CODE[body["error_code"]]
    assert error.error_code == body["error_code"]
    assert error.error_type == body["error_type"]
    assert error.error_message == body["error_message"]
    assert error.display_message == body["display_message"]
    assert error.request_id == body["request_id"]
    assert error.documentation_url == body["documentation_url"]
    assert error.status_code == status
    assert error.model is not None
    assert error.model.error_message == body["error_message"]
    assert body["error_code"] in str(error)
    assert body["request_id"] in str(error)


def test_matching_by_class_by_type_and_by_attribute() -> None:
    client = sync_client(Script([plaid_response("ITEM_LOGIN_REQUIRED")]))
    for catch in (ItemLoginRequired, ItemError, PlaidErrorResponse, PlaidError):
        with pytest.raises(catch) as caught:
            client.refresh(TOKEN)
        assert caught.value.error_code == "ITEM_LOGIN_REQUIRED"
        assert caught.value.attempts == 1


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        ("ITEM_ERROR", ItemError),
        ("INSTITUTION_ERROR", InstitutionError),
        ("BRAND_NEW_TYPE", PlaidErrorResponse),
    ],
)
def test_unknown_codes_fall_back_to_the_type_class_keeping_the_raw_string(
    error_type: str, expected: type[PlaidErrorResponse]
) -> None:
    body = {
        "error_type": error_type,
        "error_code": "SOMETHING_PLAID_ADDED_LATER",
        "error_message": "new",
        "display_message": None,
        "a_new_field": {"nested": [1, 2]},
    }
    client = sync_client(Script([httpx.Response(400, json=body)]))
    with pytest.raises(PlaidErrorResponse) as caught:
        client.refresh(TOKEN)
    assert type(caught.value) is expected
    assert caught.value.error_code == "SOMETHING_PLAID_ADDED_LATER"
    assert caught.value.error_type == error_type
    assert caught.value.request_id is None
    assert caught.value.model is not None
    assert caught.value.model.additional_properties == {"a_new_field": {"nested": [1, 2]}}


def test_a_known_code_wins_over_a_mismatched_type() -> None:
    body = {
        "error_type": "INVALID_REQUEST",
        "error_code": "INSTITUTION_DOWN",
        "error_message": "m",
        "display_message": None,
    }
    with pytest.raises(InstitutionDown) as caught:
        sync_client(Script([httpx.Response(400, json=body)]), retries=0).refresh(TOKEN)
    assert caught.value.error_type == "INVALID_REQUEST"
    assert not isinstance(caught.value, InvalidRequestError)


HTML = b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>"

BAD_ANSWERS: list[tuple[str, httpx.Response, type[PlaidError], str]] = [
    (
        "html-502",
        httpx.Response(502, content=HTML, headers={"content-type": "text/html"}),
        PlaidNonJsonResponse,
        r"HTTP 502 with content-type 'text/html'.*502 Bad Gateway",
    ),
    (
        "html-200",
        httpx.Response(200, content=HTML, headers={"content-type": "text/html"}),
        PlaidNonJsonResponse,
        r"HTTP 200 .*non-JSON body",
    ),
    ("empty-503", httpx.Response(503, content=b""), PlaidNonJsonResponse, r"HTTP 503 .*empty body"),
    (
        "json-520",
        httpx.Response(520, json={"message": "origin error"}),
        PlaidUnexpectedStatus,
        r"HTTP 520, a status the spec does not list",
    ),
    ("json-499", httpx.Response(499, json={}), PlaidUnexpectedStatus, r"HTTP 499"),
    ("json-401", httpx.Response(401, json={"error": "unauthorized"}), PlaidUnexpectedStatus, r"HTTP 401"),
    (
        "json-504",
        httpx.Response(504, json={"message": "gateway timeout"}),
        PlaidUnexpectedStatus,
        r"HTTP 504",
    ),
    (
        "truncated",
        httpx.Response(200, content=b'{"request_id": "1vwmF5T', headers={"content-type": "application/json"}),
        PlaidMalformedResponse,
        r"does not parse \(truncated\?\)",
    ),
    (
        "truncated-error",
        httpx.Response(400, content=b'{"error_type": "ITEM_ERROR", "error_co'),
        PlaidMalformedResponse,
        r"HTTP 400 .*does not parse",
    ),
    (
        "missing-field",
        httpx.Response(200, json={"requestid": "x"}),
        PlaidMalformedResponse,
        r"missing required field\(s\) request_id",
    ),
    (
        "wrong-type",
        httpx.Response(200, json={"request_id": 12345}),
        PlaidMalformedResponse,
        r"\$\.request_id: expected type string, got number",
    ),
    (
        "not-an-object",
        httpx.Response(200, json=["request_id"]),
        PlaidMalformedResponse,
        r"expected type object, got array",
    ),
    (
        "error-missing-code",
        httpx.Response(400, json={"error_type": "ITEM_ERROR", "error_message": "m", "display_message": None}),
        PlaidMalformedResponse,
        r"missing required field\(s\) error_code",
    ),
    (
        "error-null-message",
        httpx.Response(
            500,
            json={
                "error_type": "API_ERROR",
                "error_code": "INTERNAL_SERVER_ERROR",
                "error_message": None,
                "display_message": None,
            },
        ),
        PlaidMalformedResponse,
        r"\$\.error_message: expected type string, got null",
    ),
]


@pytest.mark.parametrize(
    ("name", "response", "expected", "message"), BAD_ANSWERS, ids=[b[0] for b in BAD_ANSWERS]
)
def test_bad_answers_raise_distinct_clear_errors(
    name: str, response: httpx.Response, expected: type[PlaidError], message: str
) -> None:
    client = sync_client(Script([response]), retries=0)
    with pytest.raises(PlaidError) as caught:
        client.refresh(TOKEN)
    assert type(caught.value) is expected
    assert re.search(message, str(caught.value)), str(caught.value)
    assert caught.value.status_code == response.status_code
    assert caught.value.__cause__ is None  # no JSONDecodeError/ValidationError (holding the body) chained


def test_a_plaid_error_at_a_status_the_spec_does_not_list_is_its_typed_class() -> None:
    body = {
        "error_type": "INVALID_INPUT",
        "error_code": "INVALID_API_KEYS",
        "error_message": "bad keys",
        "display_message": None,
    }
    with pytest.raises(InvalidApiKeys) as caught:
        sync_client(Script([httpx.Response(401, json=body)])).refresh(TOKEN)
    assert caught.value.error_code == "INVALID_API_KEYS"
    assert caught.value.status_code == 401


TRANSPORT_FAILURES: list[tuple[Exception, type[PlaidError], str]] = [
    (httpx.ConnectError("[Errno 111] Connection refused"), PlaidConnectionError, "connect"),
    (httpx.ConnectTimeout("timed out"), PlaidTimeout, "connect"),
    (httpx.ReadTimeout("timed out"), PlaidTimeout, "read"),
    (httpx.WriteTimeout("timed out"), PlaidTimeout, "write"),
    (httpx.PoolTimeout("timed out"), PlaidTimeout, "pool"),
    (httpx.ReadError("connection reset"), PlaidConnectionError, "read"),
    (
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        PlaidConnectionError,
        "protocol",
    ),
]


@pytest.mark.parametrize(
    ("failure", "expected", "phase"),
    TRANSPORT_FAILURES,
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_transport_failures_become_plaid_errors(
    failure: Exception, expected: type[PlaidError], phase: str
) -> None:
    client = sync_client(Script([failure]), retries=0)
    with pytest.raises(expected) as caught:
        client.refresh(TOKEN)
    assert caught.value.phase == phase  # type: ignore[attr-defined]
    assert "POST /transactions/refresh" in str(caught.value)
    if phase == "pool":
        assert "max_connections" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "response", "expected", "message"), BAD_ANSWERS[:8], ids=[b[0] for b in BAD_ANSWERS[:8]]
)
def test_async_client_raises_the_same_errors(
    name: str, response: httpx.Response, expected: type[PlaidError], message: str
) -> None:
    async def run() -> PlaidError:
        async with async_client(Script([response]), retries=0) as client:
            try:
                await client.refresh(TOKEN)
            except PlaidError as error:
                return error
        raise AssertionError("no error raised")

    assert type(asyncio.run(run())) is expected


def test_async_matches_by_code_and_webhook_key_parses() -> None:
    key_body = {
        "key": {
            "alg": "ES256",
            "crv": "P-256",
            "kid": "k1",
            "kty": "EC",
            "use": "sig",
            "x": "a",
            "y": "b",
            "created_at": 1560466143,
            "expired_at": None,
            "brand_new": True,
        },
        "request_id": "Ci4xtmi2kYKXqGv",
    }

    async def run() -> None:
        script = Script([plaid_response("TRANSACTIONS_REFRESH_LIMIT"), httpx.Response(200, json=key_body)])
        async with async_client(script, retries=0) as client:
            with pytest.raises(TransactionsRefreshLimit) as caught:
                await client.refresh(TOKEN)
            assert isinstance(caught.value, RateLimitError)
            assert caught.value.status_code == 429
            key = await client.get_webhook_verification_key("k1")
            assert (key.kid, key.expired_at, key.additional_properties) == ("k1", None, {"brand_new": True})

    asyncio.run(run())


def test_success_tolerates_unknown_fields() -> None:
    response = httpx.Response(200, json={"request_id": "abc", "new_field": {"x": [1]}, "other": None})
    result = sync_client(Script([response])).refresh(TOKEN)
    assert result.request_id == "abc"
    assert result.additional_properties == {"new_field": {"x": [1]}, "other": None}
    assert ok().status_code == 200


@pytest.mark.parametrize(
    "response", [plaid_response("ITEM_LOGIN_REQUIRED"), httpx.Response(520, json={})], ids=repr
)
def test_errors_survive_pickling_with_their_fields(response: httpx.Response) -> None:
    import pickle

    with pytest.raises(PlaidError) as caught:
        sync_client(Script([response]), retries=0).refresh(TOKEN)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is type(caught.value)
    assert (str(copy), repr(copy)) == (str(caught.value), repr(caught.value))
    assert copy.error_code == caught.value.error_code


def test_transport_errors_survive_pickling() -> None:
    import pickle

    with pytest.raises(PlaidTimeout) as caught:
        sync_client(Script([httpx.ConnectTimeout("t")]), retries=0).refresh(TOKEN)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), copy.phase, str(copy)) == (PlaidTimeout, "connect", str(caught.value))
