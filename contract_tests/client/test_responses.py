"""Every answer the spec allows parses to the right type or exception; every answer it does not
allow raises a clear PlaidError subclass; unknown extra fields are tolerated; retries follow the rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plaid_refresh import PlaidError, PlaidMalformedResponse, PlaidNonJsonResponse, PlaidUnexpectedStatus

from .harness import (
    KEY_GET,
    OPERATIONS,
    REFRESH,
    check_bad_answer,
    check_error_maps,
    check_retry_rule,
    check_success_parses,
    documented,
    named_examples,
    real_client,
    response_bodies,
)

pytestmark = pytest.mark.own_client

EXAMPLES = [(path, status, name, body) for path in OPERATIONS for status, name, body in named_examples(path)]
ERROR_STATUSES = [(path, status) for path in OPERATIONS for status in documented(path) if status != 200]


def test_every_documented_status_has_named_examples() -> None:
    for path in OPERATIONS:
        for status, response in documented(path).items():
            assert response["content"]["application/json"].get("examples"), (path, status)


@pytest.mark.parametrize(
    ("path", "status", "name", "body"), EXAMPLES, ids=[f"{p}-{s}-{n}" for p, s, n, _ in EXAMPLES]
)
def test_each_named_example_parses_to_its_type(
    path: str, status: int, name: str, body: dict[str, Any]
) -> None:
    if status == 200:
        check_success_parses(real_client, path, body)
    else:
        check_error_maps(real_client, path, status, body)
        check_retry_rule(real_client, path, status, body)


_extra = st.dictionaries(
    st.text(min_size=1, max_size=12).map(lambda k: f"x_{k}"),
    st.one_of(st.none(), st.integers(), st.text(max_size=20), st.lists(st.integers(), max_size=3)),
    max_size=4,
)


@settings(settings.get_profile("client-contract"))
@given(path=st.sampled_from(OPERATIONS), data=st.data())
def test_drawn_success_bodies_parse_and_keep_extra_fields(path: str, data: st.DataObject) -> None:
    body = data.draw(response_bodies(path, 200))
    body.update(data.draw(_extra))
    check_success_parses(real_client, path, body)


@settings(settings.get_profile("client-contract"), max_examples=120)
@given(where=st.sampled_from(ERROR_STATUSES), data=st.data())
def test_drawn_error_bodies_map_to_their_class(where: tuple[str, int], data: st.DataObject) -> None:
    """Drawn from the PlaidError schema: known and unknown codes/types, optional fields, extra fields."""
    path, status = where
    body = data.draw(response_bodies(path, status))
    body.update(data.draw(_extra))
    check_error_maps(real_client, path, status, body)


@settings(settings.get_profile("client-contract"))
@given(
    where=st.sampled_from(ERROR_STATUSES),
    code=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30),
    error_type=st.sampled_from(["ITEM_ERROR", "RATE_LIMIT_EXCEEDED", "API_ERROR", "SOMETHING_NEW"]),
)
def test_unknown_codes_never_break_the_client(where: tuple[str, int], code: str, error_type: str) -> None:
    path, status = where
    body = {
        "error_type": error_type,
        "error_code": f"NEW_{code}",
        "error_message": "m",
        "display_message": None,
    }
    check_error_maps(real_client, path, status, body)
    check_retry_rule(real_client, path, status, body)


HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
BAD: list[tuple[str, httpx.Response, type[PlaidError]]] = [
    (
        "html-502",
        httpx.Response(502, content=HTML, headers={"content-type": "text/html"}),
        PlaidNonJsonResponse,
    ),
    (
        "html-200",
        httpx.Response(200, content=HTML, headers={"content-type": "text/html"}),
        PlaidNonJsonResponse,
    ),
    ("empty-504", httpx.Response(504, content=b""), PlaidNonJsonResponse),
    ("plain-500", httpx.Response(500, content=b"Internal Server Error"), PlaidNonJsonResponse),
    ("json-401", httpx.Response(401, json={"message": "unauthorized"}), PlaidUnexpectedStatus),
    ("json-502", httpx.Response(502, json={"message": "bad gateway"}), PlaidUnexpectedStatus),
    ("json-504", httpx.Response(504, json={"message": "timeout"}), PlaidUnexpectedStatus),
    ("json-520", httpx.Response(520, json={"message": "unknown"}), PlaidUnexpectedStatus),
    ("truncated-200", httpx.Response(200, content=b'{"request_id": "abc'), PlaidMalformedResponse),
    ("truncated-400", httpx.Response(400, content=b'{"error_type": "ITEM_ERROR",'), PlaidMalformedResponse),
    ("missing-200", httpx.Response(200, json={}), PlaidMalformedResponse),
    ("missing-400", httpx.Response(400, json={"error_type": "ITEM_ERROR"}), PlaidMalformedResponse),
    ("wrong-type-200", httpx.Response(200, json={"request_id": None}), PlaidMalformedResponse),
    (
        "wrong-type-429",
        httpx.Response(
            429, json={"error_type": 1, "error_code": [], "error_message": "m", "display_message": None}
        ),
        PlaidMalformedResponse,
    ),
    ("array-200", httpx.Response(200, json=[]), PlaidMalformedResponse),
]


@pytest.mark.parametrize("path", OPERATIONS)
@pytest.mark.parametrize(("name", "response", "expected"), BAD, ids=[b[0] for b in BAD])
def test_invalid_answers_raise_clear_errors(
    path: str, name: str, response: httpx.Response, expected: type[PlaidError]
) -> None:
    if path == KEY_GET and name.endswith("-200") and name.startswith(("missing", "wrong")):
        response = httpx.Response(200, json={"request_id": "r", "key": {"alg": "ES256"}})  # key lacks fields
    check_bad_answer(real_client, path, response, expected)


def test_refresh_is_the_default_operation() -> None:
    assert REFRESH in OPERATIONS
