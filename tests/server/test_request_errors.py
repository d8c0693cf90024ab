"""Every request-level rejection, over real HTTP: status, error_type, error_code, Plaid shape."""

from __future__ import annotations

import httpx
import orjson
import pytest

from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_HEALTHY, ServerConfig
from plaid_refresh.server.errors import CATALOGUE
from plaid_refresh.spec import load_spec, resolve
from tests.server.conftest import CREDENTIALS, HEADERS, JSON, Serve, assert_plaid_error

REFRESH = "/transactions/refresh"
KEY_GET = "/webhook_verification_key/get"


def test_healthy_refresh_is_200_with_request_id(client: httpx.Client) -> None:
    response = client.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY})
    assert response.status_code == 200
    assert set(response.json()) == {"request_id"}
    assert len(response.json()["request_id"]) == 15


def test_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {client.post(REFRESH, headers=HEADERS, json={}).json()["request_id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("path", [REFRESH, KEY_GET])
def test_missing_required_field(client: httpx.Client, path: str) -> None:
    body = assert_plaid_error(client.post(path, headers=HEADERS, json={}), 400, "MISSING_FIELDS")
    assert body["error_type"] == "INVALID_REQUEST"
    assert body["error_message"].endswith("access_token" if path == REFRESH else "key_id")


def test_unknown_field_is_named(client: httpx.Client) -> None:
    response = client.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY, "count": 3})
    body = assert_plaid_error(response, 400, "UNKNOWN_FIELDS")
    assert body["error_message"].endswith(": count")


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": 12},
        {"access_token": None},
        {"access_token": ["x"]},
        {"access_token": "x" * 257},
        {"access_token": TOKEN_HEALTHY, "client_id": 5},
        {"access_token": TOKEN_HEALTHY, "secret": {"a": 1}},
    ],
)
def test_wrong_type_or_length_is_invalid_field(client: httpx.Client, body: dict[str, object]) -> None:
    response = client.post(REFRESH, headers=HEADERS, json=body)
    result = assert_plaid_error(response, 400, "INVALID_FIELD")
    assert "x" * 20 not in result["error_message"]  # values are never echoed


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"not json", "JSON"),
        (b'{"access_token": ', "JSON"),
        (b"", "JSON"),
        (b'["access_token"]', "object"),
        (b'"access-sandbox-healthy"', "object"),
        (b"null", "object"),
        (b'{"access_token": "\xff\xfe"}', "UTF-8"),
    ],
)
def test_invalid_body(client: httpx.Client, content: bytes, fragment: str) -> None:
    body = assert_plaid_error(client.post(REFRESH, headers=HEADERS, content=content), 400, "INVALID_BODY")
    assert fragment in body["error_message"]


def test_body_over_the_size_limit(serve: Serve) -> None:
    with serve(ServerConfig(max_body_bytes=1024)) as (url, _), httpx.Client(base_url=url) as http:
        huge = orjson.dumps({"access_token": TOKEN_HEALTHY, "pad": "x" * 2000})
        body = assert_plaid_error(http.post(REFRESH, headers=HEADERS, content=huge), 400, "INVALID_BODY")
        assert "1024" in body["error_message"]

        def chunks() -> object:  # no Content-Length: the limit applies while reading
            yield b'{"access_token": "'
            for _ in range(10):
                yield b"y" * 200
            yield b'"}'

        response = http.post(REFRESH, headers=HEADERS, content=chunks())  # type: ignore[arg-type]
        assert_plaid_error(response, 400, "INVALID_BODY")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "json"])
def test_wrong_or_missing_content_type(client: httpx.Client, content_type: str | None) -> None:
    headers = dict(CREDENTIALS)
    if content_type is not None:
        headers["Content-Type"] = content_type
    response = client.post(REFRESH, headers=headers, content=b'{"access_token": "access-sandbox-healthy"}')
    assert_plaid_error(response, 400, "INVALID_HEADERS")


def test_content_type_with_charset_is_accepted(client: httpx.Client) -> None:
    headers = {**CREDENTIALS, "Content-Type": "Application/JSON; charset=utf-8"}
    response = client.post(REFRESH, headers=headers, content=b'{"access_token": "access-sandbox-healthy"}')
    assert response.status_code == 200


@pytest.mark.parametrize("version", ["2020-09-14", "2019-05-29", "2018-05-22", "2017-03-08"])
def test_every_plaid_version_plaid_accepts_is_accepted(client: httpx.Client, version: str) -> None:
    headers = {**HEADERS, "Plaid-Version": version}
    assert client.post(REFRESH, headers=headers, json={"access_token": TOKEN_HEALTHY}).status_code == 200


@pytest.mark.parametrize("version", ["2099-01-01", "2016-01-01", "", "latest"])
def test_unsupported_plaid_version(client: httpx.Client, version: str) -> None:
    response = client.post(REFRESH, headers={**HEADERS, "Plaid-Version": version}, json={"access_token": "x"})
    assert_plaid_error(response, 400, "INCOMPATIBLE_API_VERSION")


def test_plaid_version_is_optional(client: httpx.Client) -> None:
    headers = {**CREDENTIALS, **JSON}
    assert client.post(REFRESH, headers=headers, json={"access_token": TOKEN_HEALTHY}).status_code == 200


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (JSON, {}),
        ({**JSON, "PLAID-CLIENT-ID": DEFAULT_CLIENT_ID}, {}),
        ({**JSON, "PLAID-SECRET": DEFAULT_SECRET}, {}),
        ({**HEADERS, "PLAID-SECRET": "wrong"}, {}),
        ({**HEADERS, "PLAID-CLIENT-ID": "wrong"}, {}),
        (HEADERS, {"secret": "wrong"}),  # the body wins over correct headers
        (HEADERS, {"client_id": "wrong"}),
        (JSON, {"client_id": DEFAULT_CLIENT_ID, "secret": "wrong"}),
    ],
)
def test_invalid_api_keys(client: httpx.Client, headers: dict[str, str], body: dict[str, str]) -> None:
    response = client.post(REFRESH, headers=headers, json={"access_token": TOKEN_HEALTHY, **body})
    assert_plaid_error(response, 400, "INVALID_API_KEYS")


def test_body_credentials_win_over_wrong_headers(client: httpx.Client) -> None:
    headers = {**JSON, "PLAID-CLIENT-ID": "wrong", "PLAID-SECRET": "wrong"}
    body = {"access_token": TOKEN_HEALTHY, "client_id": DEFAULT_CLIENT_ID, "secret": DEFAULT_SECRET}
    assert client.post(REFRESH, headers=headers, json=body).status_code == 200


def test_configured_credentials_replace_defaults(serve: Serve) -> None:
    config = ServerConfig(client_id="my-client", secret="my-secret")
    with serve(config) as (url, _), httpx.Client(base_url=url) as http:
        assert_plaid_error(
            http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY}), 400, "INVALID_API_KEYS"
        )
        headers = {**JSON, "PLAID-CLIENT-ID": "my-client", "PLAID-SECRET": "my-secret"}
        assert http.post(REFRESH, headers=headers, json={"access_token": TOKEN_HEALTHY}).status_code == 200


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        "access-sandbox-",
        "public-sandbox-healthy",
        "access-production-healthy",  # another environment
        "access-sandbox-unknown-item",  # well formed, unknown
        "",
    ],
)
def test_invalid_access_token(client: httpx.Client, token: str) -> None:
    body = assert_plaid_error(
        client.post(REFRESH, headers=HEADERS, json={"access_token": token}), 400, "INVALID_ACCESS_TOKEN"
    )
    assert body["error_type"] == "INVALID_INPUT"


def test_production_server_rejects_sandbox_tokens(serve: Serve) -> None:
    with serve(ServerConfig(environment="production")) as (url, _), httpx.Client(base_url=url) as http:
        response = http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY})
        body = assert_plaid_error(response, 400, "INVALID_ACCESS_TOKEN")
        assert "production" in body["error_message"]
        production_token = TOKEN_HEALTHY.replace("sandbox", "production")
        assert http.post(REFRESH, headers=HEADERS, json={"access_token": production_token}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/", "/transactions/get", "/transactions/refresh/", "/webhook_verification_key"]
)
def test_unknown_route_is_404(client: httpx.Client, path: str) -> None:
    body = assert_plaid_error(client.post(path, headers=HEADERS, json={}), 404, "NOT_FOUND")
    assert body["error_type"] == "INVALID_REQUEST"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
def test_wrong_method_is_405(client: httpx.Client, method: str) -> None:
    response = client.request(method, REFRESH, headers=HEADERS)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    if method != "HEAD":
        assert_plaid_error(response, 405, "METHOD_NOT_ALLOWED")


def test_error_fields_come_from_the_spec_examples(client: httpx.Client) -> None:
    """error_type, status, message and documentation_url are the spec example's, for each code."""
    response = client.post(REFRESH, headers=HEADERS, json={"access_token": "access-sandbox-unknown"})
    spec_example = resolve(load_spec()["components"]["responses"]["BadRequest"])["content"][
        "application/json"
    ]
    example = spec_example["examples"]["INVALID_ACCESS_TOKEN"]["value"]
    body = response.json()
    assert body["documentation_url"] == example["documentation_url"]
    assert body["error_type"] == example["error_type"]
    assert CATALOGUE["INVALID_ACCESS_TOKEN"].status == 400


def test_unexpected_exception_is_a_plaid_shaped_500(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    with serve() as (url, app), httpx.Client(base_url=url) as http:

        def broken(item_id: str) -> int:
            raise RuntimeError(f"boom {DEFAULT_SECRET}")

        app.store.next_seq = broken  # type: ignore[method-assign]
        response = http.post(REFRESH, headers=HEADERS, json={"access_token": TOKEN_HEALTHY})
        body = assert_plaid_error(response, 500, "INTERNAL_SERVER_ERROR")
        assert body["error_type"] == "API_ERROR"
    logged = caplog.text
    assert "RuntimeError" in logged
    assert DEFAULT_SECRET not in logged
