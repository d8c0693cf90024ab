"""Which server the contract suite talks to, chosen from the environment.

- Nothing set: the embedded reference server, in-process over ASGI (no sockets, fastest), or on a loopback
  port through uvicorn with `PLAID_CONTRACT_TRANSPORT=loopback`.
- `PLAID_BASE_URL` (with `PLAID_CLIENT_ID`, `PLAID_SECRET`, `PLAID_ACCESS_TOKEN`): any live server, such as
  Plaid Sandbox, a stub or a proxy. Special Items come from `PLAID_TOKEN_*` variables (`SPECIAL_TOKEN_ENV`).
- `PLAID_CONTRACT_APP=module:factory`: any in-process ASGI app, from a factory called as
  `factory(rate_limited=False)` (and `rate_limited=True` for the rate-limit scenario). The suite's own proof
  (tests/contract_suite) uses it to run the suite against deliberately broken servers.

A `Target` never shows its credentials: its repr and every message built here are redacted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import anyio.from_thread
import httpx

from plaid_refresh.redaction import REDACTED

# Special-Item scenarios and the variable that gives each one's access token on a live target.
SPECIAL_TOKEN_ENV: Final[Mapping[str, str]] = {
    "capital_one": "PLAID_TOKEN_CAPITAL_ONE",  # Capital One Item with only credit/loan accounts
    "login_required": "PLAID_TOKEN_LOGIN_REQUIRED",  # Item in ITEM_LOGIN_REQUIRED (sandbox/item/reset_login)
    "no_transactions": "PLAID_TOKEN_NO_TRANSACTIONS",  # Item without the Transactions product
    "institution_down": "PLAID_TOKEN_INSTITUTION_DOWN",  # Item whose institution is down
    # An Item the suite may refresh 3 times in a row to hit TRANSACTIONS_REFRESH_LIMIT. Opt-in on live
    # targets: every call is a billable refresh in Production.
    "rate_limit": "PLAID_TOKEN_RATE_LIMIT",
    # An Item whose webhook URL reaches the suite's receiver (PLAID_CONTRACT_WEBHOOK_LISTEN) and whose refresh
    # finds changes: its webhooks must verify with the key the target serves.
    "webhook": "PLAID_TOKEN_WEBHOOK",
}
LIVE_REQUIRED_ENV: Final = ("PLAID_CLIENT_ID", "PLAID_SECRET", "PLAID_ACCESS_TOKEN")
TRANSPORTS: Final = ("asgi", "loopback")
# Plaid's endpoint can take 30 s or more; a live run must not give up before Plaid does.
# PLAID_CONTRACT_TIMEOUT (seconds) overrides it, e.g. to bound a run against a mock that hangs.
LIVE_TIMEOUT_SECONDS: Final = 60.0
LOCAL_TIMEOUT: Final = httpx.Timeout(10.0)


class TargetError(Exception):
    """The environment does not describe a usable target; the message says what to set."""


@dataclass(frozen=True, repr=False)
class Target:
    """A server under test plus what the suite needs to talk to it."""

    name: str  # shown in the summary: "reference (in-process)", a base URL, ...
    client_id: str
    secret: str
    access_token: str  # an Item that refreshes successfully
    app: Any = None  # an ASGI app for in-process targets
    base_url: str | None = None  # for live and loopback targets
    webhook_key_id: str | None = None  # a key id /webhook_verification_key/get knows, if any
    timeout: float = LIVE_TIMEOUT_SECONDS  # per request, for networked targets
    special_tokens: Mapping[str, str] = field(default_factory=dict)
    is_reference: bool = False  # the reference server or a wrapper of it (its special Items always exist)
    embedded: bool = False  # the embedded reference server itself: the differential oracle has nothing to add
    webhook_listen: str | None = None  # host:port the suite receives the target's webhooks on, if any
    # In-process targets: builds a fresh app; `rate_limited=True` gives one with Plaid's documented limits.
    app_factory: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if (self.app is None) == (self.base_url is None):
            raise TargetError("a target needs exactly one of an ASGI app or a base URL")

    def __repr__(self) -> str:
        return f"Target(name={self.name!r}, credentials={REDACTED})"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in output."""
        return (self.client_id, self.secret, self.access_token, *self.special_tokens.values())

    @property
    def environment(self) -> str:
        """The Plaid environment named by the access token (`access-<environment>-...`), or "sandbox"."""
        parts = self.access_token.split("-", 2)
        return parts[1] if len(parts) == 3 and parts[0] == "access" and parts[1] else "sandbox"

    def other_environment_token(self) -> str:
        """A well-formed token of an environment this target does not serve."""
        other = "production" if self.environment != "production" else "sandbox"
        return f"access-{other}-{uuid.uuid4()}"

    def variables(self) -> dict[str, str]:
        """Each sensitive value of the run and the environment variable that names it (for curl lines)."""
        names = {
            self.secret: "PLAID_SECRET",
            self.client_id: "PLAID_CLIENT_ID",
            self.access_token: "PLAID_ACCESS_TOKEN",
        }
        for scenario, token in self.special_tokens.items():
            names.setdefault(token, SPECIAL_TOKEN_ENV[scenario])
        return {value: name for value, name in names.items() if value}

    def credential_headers(self) -> dict[str, str]:
        return {"PLAID-CLIENT-ID": self.client_id, "PLAID-SECRET": self.secret}

    def special_token(self, scenario: str) -> str | None:
        return self.special_tokens.get(scenario)

    @contextlib.contextmanager
    def client(self) -> Iterator[httpx.Client]:
        """An httpx client bound to this target: real HTTP for URLs, an in-process ASGI bridge for apps."""
        if self.base_url is not None:
            timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
            with httpx.Client(base_url=self.base_url, timeout=timeout) as client:
                yield client
            return
        # httpx.Client enters and exits its transport (the portal's event loop thread) itself.
        transport = SyncASGITransport(self.app)
        with httpx.Client(base_url="http://testserver", transport=transport, timeout=LOCAL_TIMEOUT) as client:
            yield client


class SyncASGITransport(httpx.BaseTransport):
    """httpx's ASGITransport is async-only; this runs it on an anyio portal so scenario code stays synchronous
    and identical for in-process and networked targets."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal: anyio.from_thread.BlockingPortal | None = None

    def __enter__(self) -> SyncASGITransport:
        self._portal = self._portal_cm.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._portal = None
        self._portal_cm.__exit__(None, None, None)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._portal is None:
            raise RuntimeError("SyncASGITransport used outside its `with` block")
        body = request.read()
        return self._portal.call(self._send, request.method, str(request.url), request.headers.raw, body)

    async def _send(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> httpx.Response:
        request = httpx.Request(method, url, headers=headers, content=body)
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


def _timeout(env: Mapping[str, str]) -> float:
    value = env.get("PLAID_CONTRACT_TIMEOUT", "").strip()
    if not value:
        return LIVE_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 600:
        raise TargetError(f"PLAID_CONTRACT_TIMEOUT must be a number of seconds in (0, 600], got {value!r}")
    return seconds


def _missing(env: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    return [name for name in names if not env.get(name, "").strip()]


def _load_app_factory(spec: str) -> Callable[..., Any]:
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise TargetError(f"PLAID_CONTRACT_APP must look like 'package.module:factory', got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TargetError(f"PLAID_CONTRACT_APP={spec!r} cannot be loaded: {exc}") from None
    if not callable(factory):
        raise TargetError(f"PLAID_CONTRACT_APP={spec!r} is not callable")
    return factory  # type: ignore[no-any-return]


def target_from_env(env: Mapping[str, str] | None = None) -> Target:
    """The target the environment describes. Reference/app targets come back in-process; `open_target`
    moves them onto loopback when asked. Raises TargetError with an actionable message."""
    env = os.environ if env is None else env
    base_url = env.get("PLAID_BASE_URL", "").strip()
    transport = env.get("PLAID_CONTRACT_TRANSPORT", "asgi").strip() or "asgi"
    if transport not in TRANSPORTS:
        raise TargetError(
            f"PLAID_CONTRACT_TRANSPORT must be one of {', '.join(TRANSPORTS)}, got {transport!r}"
        )
    if base_url:
        if not base_url.startswith(("http://", "https://")):
            raise TargetError(f"PLAID_BASE_URL must start with http:// or https://, got {base_url!r}")
        missing = _missing(env, LIVE_REQUIRED_ENV)
        if missing:
            raise TargetError(
                f"PLAID_BASE_URL={base_url} needs credentials; missing or empty: {', '.join(missing)}. "
                "Set them in the environment (never on the command line, where they end up in shell history)."
            )
        return Target(
            name=base_url.rstrip("/"),
            timeout=_timeout(env),
            base_url=base_url.rstrip("/"),
            client_id=env["PLAID_CLIENT_ID"].strip(),
            secret=env["PLAID_SECRET"].strip(),
            access_token=env["PLAID_ACCESS_TOKEN"].strip(),
            webhook_key_id=env.get("PLAID_WEBHOOK_KEY_ID", "").strip() or None,
            webhook_listen=env.get("PLAID_CONTRACT_WEBHOOK_LISTEN", "").strip() or None,
            special_tokens={
                scenario: env[var].strip()
                for scenario, var in SPECIAL_TOKEN_ENV.items()
                if env.get(var, "").strip()
            },
        )
    # Imported lazily: a live run must not need the reference server's code.
    from contract_tests.server import reference

    app_spec = env.get("PLAID_CONTRACT_APP", "").strip()
    factory = _load_app_factory(app_spec) if app_spec else reference.create_reference_app
    name = f"{app_spec} (in-process)" if app_spec else "reference server (in-process)"
    return reference.reference_target(factory, name=name)


@contextlib.contextmanager
def open_target(env: Mapping[str, str] | None = None) -> Iterator[Target]:
    """`target_from_env`, with in-process apps moved onto a loopback uvicorn server when
    PLAID_CONTRACT_TRANSPORT=loopback. The server stops when the block exits."""
    env = os.environ if env is None else env
    target = target_from_env(env)
    if target.app is None or env.get("PLAID_CONTRACT_TRANSPORT", "asgi").strip() != "loopback":
        yield target
        return
    with on_loopback(target) as served:
        yield served


@contextlib.contextmanager
def on_loopback(target: Target) -> Iterator[Target]:
    """The same in-process target, served by uvicorn on an ephemeral 127.0.0.1 port until the block exits."""
    from contract_tests.server import reference

    with reference.serve(target.app) as base_url:
        yield dataclasses.replace(
            target,
            name=f"{target.name.replace('(in-process)', '').strip()} (loopback {base_url})",
            app=None,
            base_url=base_url,
        )
