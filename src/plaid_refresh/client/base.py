"""Construction shared by the sync and async clients: environments, from_env, validation, repr."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Self, TypedDict, Unpack

import httpx

from plaid_refresh.client.config import (
    DEFAULT_DEADLINE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    ENVIRONMENTS,
    check_base_url,
    check_deadline,
    check_max_response_bytes,
    check_timeout,
    environment_url,
)
from plaid_refresh.client.credentials import Credentials, Secret
from plaid_refresh.client.errors import PlaidArgumentError, PlaidConfigurationError
from plaid_refresh.client.retry import RetryPolicy
from plaid_refresh.client.scrubbing import protect_library_logs

if TYPE_CHECKING:
    from plaid_refresh.client.core import ClientCore

AnyTransport = httpx.BaseTransport | httpx.AsyncBaseTransport

ENV_ENVIRONMENT = "PLAID_ENV"
ENV_BASE_URL = "PLAID_BASE_URL"
ENV_CLIENT_ID = "PLAID_CLIENT_ID"
ENV_SECRET = "PLAID_SECRET"  # noqa: S105 - the name of a variable, not a secret


class ClientOptions(TypedDict, total=False):
    """Keyword options of every constructor and factory (defaults in docs/client.md)."""

    timeout: httpx.Timeout | float
    deadline: float | None
    limits: httpx.Limits
    retries: RetryPolicy | int | None
    verify: bool | ssl.SSLContext
    clock: Callable[[], float]
    max_response_bytes: int
    transport: AnyTransport | None
    sleep: Callable[[float], Any] | None
    """time.sleep-like for PlaidRefreshClient, asyncio.sleep-like (awaitable) for the async client."""


class BaseClient:
    """Holds a ClientCore; subclasses add the sync or async calls and their httpx client."""

    _core_class: type[ClientCore] | None = None
    """None: ClientCore. Its module (and with it the generated client) is imported when the first
    client is built, so importing plaid_refresh stays as cheap as importing httpx."""

    def __init__(
        self,
        *,
        client_id: str | Secret,
        secret: str | Secret,
        environment: str | None = None,
        base_url: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        deadline: float | None = DEFAULT_DEADLINE,
        limits: httpx.Limits = DEFAULT_LIMITS,
        retries: RetryPolicy | int | None = None,
        verify: bool | ssl.SSLContext = True,
        clock: Callable[[], float] = time.monotonic,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        transport: AnyTransport | None = None,
        sleep: Callable[[float], Any] | None = None,
    ) -> None:
        if base_url is not None:
            url = check_base_url(base_url)
            label = environment or "custom"
        elif environment is not None:
            url, label = environment_url(environment), environment
        else:
            raise PlaidConfigurationError("give an environment (sandbox, production) or a base_url")
        if not isinstance(limits, httpx.Limits):
            raise PlaidConfigurationError("limits must be an httpx.Limits")
        credentials = Credentials(client_id, secret)
        self._core = self._core_type()(
            base_url=url,
            environment=label,
            credentials=credentials,
            timeout=check_timeout(timeout),
            deadline=check_deadline(deadline),
            limits=limits,
            retry=RetryPolicy.coerce(retries),
            verify=verify,
            clock=clock,
            max_response_bytes=check_max_response_bytes(max_response_bytes),
        )
        protect_library_logs(credentials)
        self._closed = False
        self._open(transport, sleep)

    def _core_type(self) -> type[ClientCore]:
        if self._core_class is not None:
            return self._core_class
        from plaid_refresh.client.core import ClientCore

        return ClientCore

    def _open(
        self,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None,
        sleep: Callable[[float], Any] | None,
    ) -> None:
        raise NotImplementedError

    # ---- one-call construction ------------------------------------------------------------------

    @classmethod
    def sandbox(
        cls, *, client_id: str | Secret, secret: str | Secret, **options: Unpack[ClientOptions]
    ) -> Self:
        """A client for https://sandbox.plaid.com."""
        return cls(client_id=client_id, secret=secret, environment="sandbox", **options)

    @classmethod
    def production(
        cls, *, client_id: str | Secret, secret: str | Secret, **options: Unpack[ClientOptions]
    ) -> Self:
        """A client for https://production.plaid.com."""
        return cls(client_id=client_id, secret=secret, environment="production", **options)

    @classmethod
    def custom(
        cls, base_url: str, *, client_id: str | Secret, secret: str | Secret, **options: Unpack[ClientOptions]
    ) -> Self:
        """A client for any Plaid-compatible server (a proxy, a stub, the reference server)."""
        return cls(client_id=client_id, secret=secret, base_url=base_url, **options)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Unpack[ClientOptions]) -> Self:
        """Configured from PLAID_ENV (sandbox | production) or PLAID_BASE_URL (wins when both are set),
        PLAID_CLIENT_ID and PLAID_SECRET. Missing variables are named in the error."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        base_url, environment = get(ENV_BASE_URL), get(ENV_ENVIRONMENT)
        missing = [name for name in (ENV_CLIENT_ID, ENV_SECRET) if get(name) is None]
        if base_url is None and environment is None:
            missing.insert(
                0, f"{ENV_ENVIRONMENT} (one of {', '.join(sorted(ENVIRONMENTS))}) or {ENV_BASE_URL}"
            )
        if missing:
            raise PlaidConfigurationError(
                "cannot configure the Plaid client: environment variable(s) not set or empty: "
                + "; ".join(missing)
            )
        if environment is not None and base_url is None and environment not in ENVIRONMENTS:
            raise PlaidConfigurationError(
                f"{ENV_ENVIRONMENT}={environment[:50]!r} is not one of {', '.join(sorted(ENVIRONMENTS))}; "
                f"set {ENV_BASE_URL} for any other server"
            )
        return cls(
            client_id=Secret(env[ENV_CLIENT_ID].strip()),
            secret=Secret(env[ENV_SECRET].strip()),
            environment=environment,
            base_url=base_url,
            **options,
        )

    # ---- introspection --------------------------------------------------------------------------

    @property
    def environment(self) -> str:
        return self._core.environment

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def timeout(self) -> httpx.Timeout:
        return self._core.timeout

    @property
    def deadline(self) -> float | None:
        return self._core.deadline

    @property
    def limits(self) -> httpx.Limits:
        return self._core.limits

    @property
    def max_response_bytes(self) -> int:
        return self._core.max_response_bytes

    @property
    def retry_policy(self) -> RetryPolicy:
        return self._core.retry

    def __repr__(self) -> str:
        return f"{type(self).__name__}(environment={self.environment!r}, base_url={self.base_url!r})"

    __str__ = __repr__

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError(
            f"{type(self).__name__} cannot be pickled (it holds credentials and a connection pool)"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"{type(self).__name__} is closed; create a new one")

    @staticmethod
    def _token(access_token: str | Secret) -> str:
        if isinstance(access_token, Secret):
            access_token = access_token.reveal()
        if not isinstance(access_token, str):
            raise PlaidArgumentError(f"access_token must be a str, not {type(access_token).__name__}")
        return _valid_unicode("access_token", access_token)

    @staticmethod
    def _key_id(key_id: str) -> str:
        if not isinstance(key_id, str):
            raise PlaidArgumentError(f"key_id must be a str, not {type(key_id).__name__}")
        return _valid_unicode("key_id", key_id)


def _valid_unicode(name: str, value: str) -> str:
    """A str that encodes to UTF-8 (no lone surrogate): encoding the body later would raise a
    UnicodeEncodeError whose `.object` holds the whole body, the token included."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PlaidArgumentError(
            f"{name} must be valid Unicode (it has a lone surrogate); the value is not shown"
        ) from None
    return value
