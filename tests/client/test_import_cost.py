"""Importing the client costs little more than importing httpx: the generated client, tenacity and
asyncio are loaded when they are first needed (bench/ measures the time; this checks the mechanism)."""

from __future__ import annotations

import subprocess
import sys

from plaid_refresh_client.models import KnownErrorType

from plaid_refresh.client.retry import DEFAULT_RETRY_ERROR_TYPES

# httpcore (and h11 under it): httpx loads them only when its first transport is built; the sync
# client's deadline-bounded sockets (hard_deadline.py) must not load them at import either.
DEFERRED = ("plaid_refresh_client", "tenacity", "asyncio", "jsonschema", "yaml", "httpcore", "h11")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys\n{code}\nprint(' '.join(sorted(set(sys.modules))))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return {name.split(".")[0] for name in out.stdout.split()}


def test_importing_the_sync_client_loads_none_of_the_deferred_packages() -> None:
    loaded = _loaded_after("from plaid_refresh import PlaidRefreshClient, ItemLoginRequired, PlaidError")
    assert "httpx" in loaded
    # httpx before 0.28 imports httpcore itself (make lowest runs these tests there): judge only what this
    # client adds to what `import httpx` loads in the same environment.
    added = loaded - _loaded_after("import httpx")
    assert added.isdisjoint(DEFERRED), sorted(added & set(DEFERRED))


def test_building_a_client_loads_the_generated_client_but_not_tenacity() -> None:
    loaded = _loaded_after(
        "from plaid_refresh import PlaidRefreshClient\n"
        "PlaidRefreshClient.sandbox(client_id='5f0bd2b1c0c0b2001234abcd', secret='s' * 30).close()"
    )
    assert "plaid_refresh_client" in loaded
    assert "tenacity" not in loaded  # only a call that retries imports it


def test_the_async_client_is_still_importable_by_name() -> None:
    loaded = _loaded_after(
        "from plaid_refresh import AsyncPlaidRefreshClient\nassert AsyncPlaidRefreshClient"
    )
    assert "asyncio" in loaded


def test_default_retry_error_types_are_types_of_the_spec() -> None:
    assert {error_type.value for error_type in KnownErrorType} >= DEFAULT_RETRY_ERROR_TYPES
