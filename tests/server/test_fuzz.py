"""Fuzzing the live server: schemathesis (positive and negative, from the spec) plus raw malformed bytes.

Goal: zero 5xx, and every non-2xx body a complete Plaid error. Deterministic and bounded."""

from __future__ import annotations

import hashlib
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case

from plaid_refresh.server import BUILTIN_TOKENS, DEFAULT_CLIENT_ID, DEFAULT_SECRET, ServerConfig, create_app
from plaid_refresh.server.testing import running_server
from plaid_refresh.spec import spec_path
from tests.server.conftest import CREDENTIALS, HEADERS, PLAID_ERROR, PLAID_ERROR_FIELDS

# Always pass config=: otherwise a schemathesis.toml found on disk would be loaded implicitly.
SCHEMA = schemathesis.openapi.from_path(
    spec_path(),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"mode": "all", "max-examples": 150, "deterministic": True, "database": "none"},
            "phases": {"stateful": {"enabled": False}},
            "checks": {
                # Plaid answers bad keys with 400 INVALID_API_KEYS, never 401/403.
                "ignored_auth": {"enabled": False},
                # Valid-looking bodies still name Items that may refuse (ITEM_ERROR, 429...): 4xx is correct.
                "positive_data_acceptance": {"enabled": False},
            },
        }
    ),
)
TOKENS = sorted(BUILTIN_TOKENS)
SEEN: Counter[tuple[int, str | None]] = Counter()  # (status, error_code) answered to the fuzzer


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_server(create_app(ServerConfig(rate_limit=False, access_log=False))) as url:
        yield url


@SCHEMA.hook
def map_case(context: Any, case: Case[Any]) -> Case[Any]:
    """Send the right credentials as headers, and make well-formed bodies name real built-in Items
    so the fuzzer reaches past authentication into the Item paths."""
    case.headers.update(CREDENTIALS)
    body = case.body
    if isinstance(body, dict):
        for field in ("client_id", "secret"):
            value = body.get(field)
            if isinstance(value, str) and len(value) <= 256:  # keep the negative (too long) ones
                del body[field]
        token = body.get("access_token")
        if isinstance(token, str) and len(token) <= 256:
            body["access_token"] = TOKENS[
                hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()[0] % 7
            ]
    return case


@schemathesis.check
def plaid_shaped(ctx: Any, response: Any, case: Case[Any]) -> bool | None:
    """No 5xx; every error is a complete Plaid error; every answer has a request_id."""
    assert response.status_code < 500, f"server error {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body.get("request_id"), str), "no request_id"
    SEEN[response.status_code, body.get("error_code")] += 1
    if response.status_code >= 400:
        PLAID_ERROR.validate(body)
        missing = PLAID_ERROR_FIELDS - set(body)
        assert not missing, f"error body lacks {missing}"
    return None


@SCHEMA.parametrize()
def test_schemathesis(case: Case[Any], base_url: str) -> None:
    case.call_and_validate(base_url=base_url, additional_checks=[plaid_shaped])


def test_the_fuzzer_reached_every_layer() -> None:
    """Runs after test_schemathesis (file order): the generated cases were not all stopped at one check."""
    codes = {code for _, code in SEEN}
    assert (200, None) in SEEN, SEEN
    assert {"MISSING_FIELDS", "UNKNOWN_FIELDS", "INVALID_FIELD"} <= codes, SEEN
    assert codes & {"ITEM_LOGIN_REQUIRED", "PRODUCTS_NOT_SUPPORTED", "INSTITUTION_DOWN"}, SEEN


REFRESH = "/transactions/refresh"
RAW_BODIES = [
    b"",
    b"{",
    b"}",
    b"[]",
    b"0",
    b"true",
    b'{"access_token": "access-sandbox-healthy",}',
    b'{"access_token": "\xc3\x28"}',
    b"\xff\xfe\xfd",
    b'{"access_token": "\\ud800"}',
    b'{"access_token": "a\x00b"}',
    b'{"access_token": 1e999}',
    b'{"access_token": "access-sandbox-healthy", "access_token": 5}',
    b'{"' + b"k" * 5000 + b'": 1}',
    b"[" * 10000 + b"]" * 10000,
    b'{"access_token": "' + b"x" * 200_000 + b'"}',
    b'{"client_id": "\\udfff", "secret": "s", "access_token": "access-sandbox-healthy"}',
    b"\x00" * 100,
    '{"access_token": "ünïcødé-🦆"}'.encode(),
]


@pytest.mark.parametrize("content", RAW_BODIES, ids=range(len(RAW_BODIES)))
@pytest.mark.parametrize("path", [REFRESH, "/webhook_verification_key/get"])
def test_raw_malformed_bodies(base_url: str, path: str, content: bytes) -> None:
    with httpx.Client(base_url=base_url) as http:
        response = http.post(path, headers=HEADERS, content=content)
    _assert_plaid_error(response)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/jsonx", "", "*/*"],
)
def test_wrong_content_types(base_url: str, content_type: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        response = http.post(REFRESH, headers={**CREDENTIALS, "Content-Type": content_type}, content=b"{}")
    assert _assert_plaid_error(response)["error_code"] == "INVALID_HEADERS"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"])
@pytest.mark.parametrize(
    "path", [REFRESH, "/", "/nope", "/transactions/refresh/../refresh", "/%00", "/" + "a" * 4000]
)
def test_wrong_methods_and_unknown_paths(base_url: str, method: str, path: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        response = http.request(method, path, headers=HEADERS, content=b"{}")
    assert response.status_code in (404, 405)
    _assert_plaid_error(response)


def test_raw_socket_garbage_never_crashes_the_server(base_url: str) -> None:
    """Bytes that are not even HTTP: the server may drop the connection but keeps serving."""
    host, port = base_url.removeprefix("http://").split(":")
    for garbage in (
        b"\x16\x03\x01\x00\xa5\x01\x00\x00",
        b"GARBAGE\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(garbage)
            sock.settimeout(5)
            try:
                answer = sock.recv(4096)
            except (ConnectionResetError, TimeoutError):
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 5")
    with httpx.Client(base_url=base_url) as http:
        body = {
            "access_token": "access-sandbox-healthy",
            "client_id": DEFAULT_CLIENT_ID,
            "secret": DEFAULT_SECRET,
        }
        assert http.post(REFRESH, json=body).status_code == 200


def _assert_plaid_error(response: httpx.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text[:300]
    body: dict[str, Any] = response.json()
    PLAID_ERROR.validate(body)
    assert set(body) >= PLAID_ERROR_FIELDS
    assert body["request_id"]
    return body
