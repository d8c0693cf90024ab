"""Environments and the safe defaults: timeouts, the per-call deadline and pool limits."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from functools import cache
from urllib.parse import urlsplit

import httpx

from plaid_refresh.client.errors import PlaidConfigurationError


@cache
def _environments() -> dict[str, str]:
    """Named environments from the spec's `servers` (https://sandbox.plaid.com -> "sandbox")."""
    from plaid_refresh.spec import load_spec  # lazy: importing the client must not parse the spec

    found: dict[str, str] = {}
    for server in load_spec()["servers"]:
        url = str(server["url"]).rstrip("/")
        host = urlsplit(url).hostname or ""
        found[host.split(".", 1)[0]] = url
    return found


class _Environments(Mapping[str, str]):
    """Read from the spec on first use."""

    def __getitem__(self, name: str) -> str:
        return _environments()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(_environments())

    def __len__(self) -> int:
        return len(_environments())

    def __repr__(self) -> str:
        return repr(_environments())


ENVIRONMENTS: Mapping[str, str] = _Environments()
"""{"sandbox": "https://sandbox.plaid.com", "production": "https://production.plaid.com"}"""

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=90.0, write=10.0, pool=30.0)
"""Connecting fails fast; a refresh may take 30 s or more, so reads may take up to 90 s."""

DEFAULT_DEADLINE = 120.0
"""Overall seconds per call, across every attempt and backoff sleep."""

DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=20, keepalive_expiry=30.0)
"""Enough connections that 100 concurrent slow refreshes never wait for the pool. Idle connections
kept: httpx's default 20; httpcore scans every pooled connection on each request start and end, so a
larger idle pool makes busy async calls slower (measured in docs/bench.md) without adding capacity."""

DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024
"""Plaid's answers to these calls are under 2 KB (a request_id, an error object, one JWK); a proxy's
HTML error page is a few KB. 256 KiB leaves room for both and for fields Plaid may add, and bounds
what a hostile or broken server can make one call hold."""

PLAID_VERSION = "2020-09-14"


def check_base_url(base_url: str) -> str:
    """A usable base URL (http or https, with a host), without a trailing slash."""
    if not isinstance(base_url, str) or not base_url.strip():
        raise PlaidConfigurationError("base_url is empty")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PlaidConfigurationError(
            f"base_url must be an http:// or https:// URL with a host, got {base_url.strip()[:100]!r}"
        )
    if parts.username or parts.password:
        raise PlaidConfigurationError("base_url must not carry a user or password; pass client_id/secret")
    if parts.query or parts.fragment:
        raise PlaidConfigurationError("base_url must not have a query or fragment")
    return base_url.strip().rstrip("/")


def environment_url(environment: str) -> str:
    try:
        return ENVIRONMENTS[environment]
    except KeyError:
        known = ", ".join(sorted(ENVIRONMENTS))
        raise PlaidConfigurationError(
            f"unknown Plaid environment {environment[:50]!r}; use one of {known}, or a custom base URL"
        ) from None


def check_timeout(timeout: httpx.Timeout | float) -> httpx.Timeout:
    if isinstance(timeout, httpx.Timeout):
        phases = (timeout.connect, timeout.read, timeout.write, timeout.pool)
        if any(p is None for p in phases):
            raise PlaidConfigurationError("every timeout phase (connect, read, write, pool) must be set")
        if any(p is not None and not _positive_finite(p) for p in phases):
            raise PlaidConfigurationError("timeouts must be positive, finite numbers of seconds")
        return timeout
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and _positive_finite(timeout):
        return httpx.Timeout(float(timeout))
    raise PlaidConfigurationError("timeout must be an httpx.Timeout or a positive number of seconds")


def check_deadline(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)) or not _positive_finite(deadline):
        raise PlaidConfigurationError(
            "deadline must be a positive, finite number of seconds, or None for no deadline"
        )
    return float(deadline)


def _positive_finite(value: float) -> bool:
    # NaN compares false with everything: `value <= 0` would let it (and inf) through.
    return 0 < value < math.inf


def check_max_response_bytes(cap: int) -> int:
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1024:
        raise PlaidConfigurationError("max_response_bytes must be an int of at least 1024 (bytes)")
    return cap
