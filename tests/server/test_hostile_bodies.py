"""Hostile bodies get a Plaid 4xx: deep nesting (RecursionError in jsonschema's messages was a 500), and
UNKNOWN_FIELDS never echoes a secret or a token sent as a field name."""

from __future__ import annotations

import httpx
import orjson
import pytest

from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_HEALTHY, ServerConfig
from tests.server.conftest import HEADERS, JSON, Serve, assert_plaid_error

REFRESH = "/transactions/refresh"
KEY_GET = "/webhook_verification_key/get"


def _nested(depth: int, leaf: bytes = b'"x"', kind: str = "list") -> bytes:
    if kind == "list":
        return b"[" * depth + leaf + b"]" * depth
    return b'{"a":' * depth + leaf + b"}" * depth


@pytest.mark.parametrize("path", [REFRESH, KEY_GET])
@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", [40, 1000])
@pytest.mark.parametrize("where", ["known", "unknown"])
@pytest.mark.parametrize("headers", [HEADERS, JSON], ids=["credentials", "no-credentials"])
def test_deep_nesting_is_a_plaid_4xx(
    client: httpx.Client, path: str, kind: str, depth: int, where: str, headers: dict[str, str]
) -> None:
    field = (b"access_token" if path == REFRESH else b"key_id") if where == "known" else b"extra"
    body = b'{"' + field + b'": ' + _nested(depth, kind=kind) + b"}"
    response = client.post(path, headers=headers, content=body)
    error = assert_plaid_error(response, 400, "INVALID_BODY")
    assert "nested more than 32 levels" in error["error_message"]


def test_shallow_nesting_still_gets_the_precise_code(client: httpx.Client) -> None:
    body = b'{"access_token": ' + _nested(5) + b"}"
    error = assert_plaid_error(client.post(REFRESH, headers=HEADERS, content=body), 400, "INVALID_FIELD")
    assert "access_token must be of type string" in error["error_message"]


HEX_SECRET = "0123456789abcdef0123456789abcd"  # shaped like a real Plaid secret (30 hex characters)


@pytest.mark.parametrize(
    "key",
    [DEFAULT_SECRET, DEFAULT_CLIENT_ID, HEX_SECRET, TOKEN_HEALTHY, "secret_" + HEX_SECRET, "Bearer abc.def"],
)
def test_unknown_fields_never_echo_a_secret_sent_as_a_key(client: httpx.Client, key: str) -> None:
    body = {"access_token": TOKEN_HEALTHY, key: 1, "colour": 2}
    response = client.post(REFRESH, headers=HEADERS, content=orjson.dumps(body))
    error = assert_plaid_error(response, 400, "UNKNOWN_FIELDS")
    message = error["error_message"]
    assert key not in message
    assert key not in response.text
    assert "colour" in message  # an ordinary name is still named
    assert "1 field whose name is not shown" in message


def test_our_own_short_credentials_are_never_echoed(serve: Serve) -> None:
    with serve(ServerConfig(client_id="myclient", secret="hunter_two", rate_limit=False)) as (url, _):
        headers = {**JSON, "PLAID-CLIENT-ID": "myclient", "PLAID-SECRET": "hunter_two"}
        body = {"access_token": TOKEN_HEALTHY, "hunter_two": 1, "myclient": 2}
        response = httpx.post(url + REFRESH, headers=headers, content=orjson.dumps(body))
    error = assert_plaid_error(response, 400, "UNKNOWN_FIELDS")
    assert "hunter_two" not in response.text
    assert "myclient" not in response.text
    assert "2 fields whose name is not shown" in error["error_message"]


def test_unknown_field_names_are_bounded(client: httpx.Client) -> None:
    body = {"access_token": TOKEN_HEALTHY, **{f"field_{chr(97 + i % 26)}{i}": i for i in range(500)}}
    response = client.post(REFRESH, headers=HEADERS, content=orjson.dumps(body))
    error = assert_plaid_error(response, 400, "UNKNOWN_FIELDS")
    assert len(error["error_message"]) < 400
    assert "490 fields whose name is not shown" in error["error_message"]
