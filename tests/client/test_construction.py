"""One-call construction, from_env, defaults, repr, context managers and the shared pool."""

from __future__ import annotations

import asyncio
import json
import pickle
from typing import Any

import httpx
import pytest

from plaid_refresh import (
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_TIMEOUT,
    AsyncPlaidRefreshClient,
    PlaidArgumentError,
    PlaidConfigurationError,
    PlaidRefreshClient,
    RetryPolicy,
    Secret,
)

from .helpers import CLIENT_ID, SECRET, TOKEN, Script, ok, sync_client

ENV = {"PLAID_CLIENT_ID": CLIENT_ID, "PLAID_SECRET": SECRET}


@pytest.mark.parametrize(
    ("factory", "url"),
    [
        (PlaidRefreshClient.sandbox, "https://sandbox.plaid.com"),
        (PlaidRefreshClient.production, "https://production.plaid.com"),
        (AsyncPlaidRefreshClient.sandbox, "https://sandbox.plaid.com"),
        (AsyncPlaidRefreshClient.production, "https://production.plaid.com"),
    ],
)
def test_named_environments_use_the_spec_servers(factory: object, url: str) -> None:
    client = factory(client_id=CLIENT_ID, secret=SECRET)  # type: ignore[operator]
    assert client.base_url == url
    assert client.environment == url.split("//")[1].split(".")[0]


def test_custom_base_url_is_normalised() -> None:
    client = PlaidRefreshClient.custom("http://127.0.0.1:8080/", client_id=CLIENT_ID, secret=SECRET)
    assert client.base_url == "http://127.0.0.1:8080"
    assert client.environment == "custom"


@pytest.mark.parametrize("url", ["", "ftp://x", "sandbox.plaid.com", "http://u:p@host", "https://h/?q=1"])
def test_bad_base_urls_are_refused(url: str) -> None:
    with pytest.raises(PlaidConfigurationError, match="base_url"):
        PlaidRefreshClient.custom(url, client_id=CLIENT_ID, secret=SECRET)


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(PlaidConfigurationError, match="production, sandbox"):
        PlaidRefreshClient(client_id=CLIENT_ID, secret=SECRET, environment="development")


def test_defaults_are_the_documented_safe_ones() -> None:
    client = PlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=SECRET)
    assert client.timeout == DEFAULT_TIMEOUT == httpx.Timeout(connect=5.0, read=90.0, write=10.0, pool=30.0)
    assert client.deadline == DEFAULT_DEADLINE == 120.0
    assert client.limits == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_connections is not None
    assert DEFAULT_LIMITS.max_connections >= 100
    assert client.retry_policy.max_attempts == 4
    # The generated client underneath gets the same timeout and pool (it has none by default).
    http = client._http
    assert http.timeout == DEFAULT_TIMEOUT
    assert http.follow_redirects is False


def test_options_are_configurable() -> None:
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=10)
    client = PlaidRefreshClient.sandbox(
        client_id=CLIENT_ID, secret=SECRET, timeout=3, deadline=None, limits=limits, retries=0
    )
    assert client.timeout == httpx.Timeout(3.0)
    assert client.deadline is None
    assert client.limits is limits
    assert client.retry_policy == RetryPolicy.disabled()
    assert (
        PlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=SECRET, retries=2).retry_policy.max_attempts
        == 3
    )


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": httpx.Timeout(5.0, read=None)},
        {"deadline": -1},
        {"retries": -1},
        {"limits": 5},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(PlaidConfigurationError):
        PlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=SECRET, **options)


def test_from_env_reads_the_four_variables() -> None:
    client = PlaidRefreshClient.from_env({**ENV, "PLAID_ENV": "production"})
    assert client.base_url == "https://production.plaid.com"
    custom = AsyncPlaidRefreshClient.from_env({**ENV, "PLAID_BASE_URL": "http://127.0.0.1:9"})
    assert (custom.environment, custom.base_url) == ("custom", "http://127.0.0.1:9")
    both = PlaidRefreshClient.from_env(
        {**ENV, "PLAID_ENV": "sandbox", "PLAID_BASE_URL": "http://127.0.0.1:9"}
    )
    assert (both.environment, both.base_url) == ("sandbox", "http://127.0.0.1:9")


@pytest.mark.parametrize("missing", ["PLAID_CLIENT_ID", "PLAID_SECRET", "PLAID_ENV"])
def test_from_env_names_the_missing_variable(missing: str) -> None:
    environ = {**ENV, "PLAID_ENV": "sandbox"}
    environ[missing] = "  "
    with pytest.raises(PlaidConfigurationError) as caught:
        PlaidRefreshClient.from_env(environ)
    assert missing in str(caught.value)
    assert SECRET not in str(caught.value)
    assert CLIENT_ID not in str(caught.value)


def test_from_env_refuses_an_unknown_environment() -> None:
    with pytest.raises(PlaidConfigurationError, match="PLAID_ENV='development'"):
        PlaidRefreshClient.from_env({**ENV, "PLAID_ENV": "development"})


@pytest.mark.parametrize("bad", ["", "has space ", "line\nbreak", "caf\u00e9"])
def test_credentials_that_cannot_be_headers_are_refused_without_echo(bad: str) -> None:
    with pytest.raises(PlaidConfigurationError) as caught:
        PlaidRefreshClient.sandbox(client_id=CLIENT_ID, secret=bad)
    assert "secret" in str(caught.value)
    if bad:
        assert bad not in str(caught.value)


def test_repr_shows_environment_only_and_nothing_pickles() -> None:
    client = PlaidRefreshClient.sandbox(client_id=Secret(CLIENT_ID), secret=SECRET)
    assert repr(client) == "PlaidRefreshClient(environment='sandbox', base_url='https://sandbox.plaid.com')"
    assert str(client) == repr(client)
    assert CLIENT_ID not in repr(vars(client))
    assert SECRET not in repr(vars(client))
    for value in (client, Secret(SECRET), client._core.credentials):
        with pytest.raises(TypeError):
            pickle.dumps(value)
    assert f"{Secret(SECRET)}" == "[REDACTED]"
    assert Secret(SECRET).reveal() == SECRET


def test_access_token_must_be_a_string_and_fit_the_spec() -> None:
    script = Script([ok()])
    client = sync_client(script)
    with pytest.raises(PlaidArgumentError, match="must be a str"):
        client.refresh(12345)  # type: ignore[arg-type]
    with pytest.raises(PlaidArgumentError, match=r"\$\.access_token: fails maxLength 256") as caught:
        client.refresh("x" * 300)
    assert "x" * 300 not in str(caught.value)
    assert script.requests == []  # nothing was sent
    assert client.refresh(Secret(TOKEN)).request_id == "1vwmF5TBQwiqfwP"


def test_one_pool_per_instance_and_context_manager_closes_it() -> None:
    script = Script([ok()])
    with sync_client(script) as client:
        pool = client._http
        client.refresh(TOKEN)
        client.refresh(TOKEN)
        assert client._http is pool
        assert client._client.get_httpx_client() is pool  # the generated Client's own httpx client
    assert pool.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        client.refresh(TOKEN)
    client.close()  # idempotent


def test_async_context_manager_closes_the_pool() -> None:
    async def run() -> bool:
        script = Script([ok()])
        async with AsyncPlaidRefreshClient.sandbox(
            client_id=CLIENT_ID, secret=SECRET, transport=script.transport()
        ) as client:
            assert (await client.refresh(TOKEN)).request_id == "1vwmF5TBQwiqfwP"
            pool = client._http
        return pool.is_closed

    assert asyncio.run(run())


def test_requests_carry_credentials_only_as_headers_and_the_version() -> None:
    script = Script([ok()])
    sync_client(script).refresh(TOKEN)
    (request,) = script.requests
    assert request.headers["PLAID-CLIENT-ID"] == CLIENT_ID
    assert request.headers["PLAID-SECRET"] == SECRET
    assert request.headers["Plaid-Version"] == "2020-09-14"
    assert request.headers["Content-Type"] == "application/json"
    assert request.url == "https://sandbox.plaid.com/transactions/refresh"
    # Parsed, not compared byte for byte: httpx < 0.28 (within the supported range) adds spaces.
    assert json.loads(request.content) == {"access_token": TOKEN}
    # Default client headers do not hold the credentials: they are added per request by the auth hook.
    assert "plaid-secret" not in sync_client(Script([ok()]))._http.headers
