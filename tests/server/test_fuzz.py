"""Fuzzing the live server: schemathesis (positive and negative, from the spec) plus raw malformed bytes.

Goal: zero 5xx, and every non-2xx body a complete Plaid error. Deterministic and bounded."""

from __future__ import annotations

import hashlib
import random
import re
import socket
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
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


# Bytes uvicorn's HTTP parser rejects before the app runs: answered by PlaidHttpToolsProtocol.
NOT_HTTP = {
    "tls-client-hello": b"\x16\x03\x01\x00\xa5\x01\x00\x00",
    "random-1": random.Random(1).randbytes(256),
    "random-2": random.Random(2).randbytes(256),
    "nul-bytes": b"\x00" * 100,
    "unknown-method": b"GARBAGE\r\n\r\n",
    "bad-http-version": b"POST /transactions/refresh HTTP/9.9\r\nHost: x\r\n\r\n",
    "non-ascii-path": b"POST /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
    "header-line-without-colon": b"POST /transactions/refresh HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
    "space-in-header-name": b"POST /transactions/refresh HTTP/1.1\r\nBad Name: v\r\n\r\n",
    "control-char-in-header-value": b"POST /transactions/refresh HTTP/1.1\r\nX: a\x01b\r\n\r\n",
    "bad-content-length": b"POST /transactions/refresh HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    "content-length-and-chunked": (
        b"POST /transactions/refresh HTTP/1.1\r\n"
        b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad-chunk-size": b"POST /transactions/refresh HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}
# httptools sets no head size limit; PlaidHttpToolsProtocol does (ConnectionLimits.max_header_bytes, 16 KiB).
OVERSIZED_HEADERS = {
    "2-MB-header-value": b"POST /transactions/refresh HTTP/1.1\r\nX-Big: " + b"a" * 2_000_000 + b"\r\n\r\n",
    "20000-headers": (
        b"POST /transactions/refresh HTTP/1.1\r\n"
        + b"".join(b"X-%d: v\r\n" % i for i in range(20_000))
        + b"\r\n"
    ),
}
REQUEST_ID = re.compile(r"[A-Za-z0-9]{15}")


def _raw_exchange(base_url: str, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection; the status, headers (lower-cased names) and body answered."""
    host, port = base_url.removeprefix("http://").split(":")
    received = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(data)
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without a complete answer: {received!r}"
            received += chunk
        head, body = received.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines)
        while len(body) < int(headers["content-length"]):
            chunk = sock.recv(65536)
            assert chunk, "connection closed before the whole body"
            body += chunk
    assert status_line.startswith("HTTP/1.1 "), status_line
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize("garbage", list(NOT_HTTP.values()), ids=list(NOT_HTTP))
def test_bytes_that_are_not_http_get_a_plaid_error(base_url: str, garbage: bytes) -> None:
    """Rejected by uvicorn's parser before the app runs, yet answered like every other error: a 400
    INVALID_REQUEST / INVALID_BODY Plaid error with a request_id, as JSON, and the connection is closed."""
    status, headers, body = _raw_exchange(base_url, garbage)
    assert status == 400, body
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    error = orjson.loads(body)
    PLAID_ERROR.validate(error)
    assert set(error) >= PLAID_ERROR_FIELDS
    assert (error["error_type"], error["error_code"]) == ("INVALID_REQUEST", "INVALID_BODY")
    assert REQUEST_ID.fullmatch(error["request_id"]), error["request_id"]


@pytest.mark.parametrize("request_bytes", list(OVERSIZED_HEADERS.values()), ids=list(OVERSIZED_HEADERS))
def test_oversized_headers_get_a_plaid_error(base_url: str, request_bytes: bytes) -> None:
    status, headers, body = _raw_exchange(base_url, request_bytes)
    assert status == 400, body
    assert headers["content-type"] == "application/json"
    error = orjson.loads(body)
    PLAID_ERROR.validate(error)
    assert error["error_code"] == "INVALID_HEADERS"
    assert "16384-byte limit" in error["error_message"]  # the protocol's head limit, not the app
    assert REQUEST_ID.fullmatch(error["request_id"]), error["request_id"]


def test_raw_socket_garbage_never_crashes_the_server(base_url: str) -> None:
    """After every kind of garbage the server keeps serving, and each answer had its own request_id."""
    request_ids = {
        orjson.loads(_raw_exchange(base_url, garbage)[2])["request_id"] for garbage in NOT_HTTP.values()
    }
    assert len(request_ids) == len(NOT_HTTP)
    with httpx.Client(base_url=base_url) as http:
        body = {
            "access_token": "access-sandbox-healthy",
            "client_id": DEFAULT_CLIENT_ID,
            "secret": DEFAULT_SECRET,
        }
        response = http.post(REFRESH, json=body)
    assert response.status_code == 200
    assert REQUEST_ID.fullmatch(response.json()["request_id"])  # the app's ids have the same format
    assert "connection" not in response.headers  # keep-alive: only the not-HTTP answer closes the connection


def _assert_plaid_error(response: httpx.Response) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text[:300]
    body: dict[str, Any] = response.json()
    PLAID_ERROR.validate(body)
    assert set(body) >= PLAID_ERROR_FIELDS
    assert body["request_id"]
    return body
