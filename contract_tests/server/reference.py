"""The embedded reference server as a contract-suite target: the one module that knows its API.

The generated phases run against a server with rate limiting off (otherwise 2 calls per Item per minute turn
a run into a wall of 429s); the rate-limit scenario builds its own server with the documented limits.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import plaid_refresh.server as builtin
from contract_tests.server.target import Target, TargetError
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, ServerConfig, create_app

# The reference server's built-in Items, by scenario name (see SPECIAL_TOKEN_ENV in target.py).
SPECIAL_TOKENS = {
    "capital_one": builtin.TOKEN_CAPITAL_ONE_CREDIT,
    "login_required": builtin.TOKEN_ITEM_LOGIN_REQUIRED,
    "no_transactions": builtin.TOKEN_NO_TRANSACTIONS,
    "institution_down": builtin.TOKEN_INSTITUTION_DOWN,
    "rate_limit": builtin.TOKEN_USER_GOOD,
}


def create_reference_app(*, rate_limited: bool = False) -> Any:
    """A fresh reference server (own Item state and rate-limit windows), quiet and deterministic."""
    return create_app(ServerConfig(rate_limit=rate_limited, access_log=False, seed=0))


def webhook_key_id(app: Any) -> str | None:
    """The id of the key the reference server signs webhooks with, if it exposes one."""
    key_id = getattr(app, "key_id", None) or getattr(getattr(app, "signer", None), "key_id", None)
    return key_id if isinstance(key_id, str) else None


def reference_target(
    factory: Callable[..., Any] = create_reference_app, *, name: str = "reference server (in-process)"
) -> Target:
    """An in-process Target for the app `factory(rate_limited=False)` builds: the reference server or a
    wrapper of one, with the reference server's default credentials and built-in Items."""
    try:
        app = factory(rate_limited=False)
    except TypeError as exc:  # a factory with another signature: say what is expected, no traceback
        raise TargetError(
            f"the app factory must accept `rate_limited: bool` (called as factory(rate_limited=False)): {exc}"
        ) from None
    return Target(
        name=name,
        app=app,
        app_factory=factory,
        client_id=DEFAULT_CLIENT_ID,
        secret=DEFAULT_SECRET,
        access_token=builtin.TOKEN_HEALTHY,
        webhook_key_id=webhook_key_id(app),
        special_tokens=dict(SPECIAL_TOKENS),
        is_reference=True,
        embedded=factory is create_reference_app,
    )


def mirror_of(target: Target) -> tuple[Any, dict[str, str]]:
    """The differential oracle's mirror of `target`: a fresh reference server with the target's credentials,
    rate limiting off and no webhooks, and the rewrites (target value -> mirror value) that map the target's
    tokens onto the matching built-in Items and its webhook key id onto the mirror's."""
    app = create_app(
        ServerConfig(
            client_id=target.client_id, secret=target.secret, rate_limit=False, access_log=False, seed=0
        )
    )
    rewrites = {target.access_token: builtin.TOKEN_HEALTHY}
    # The webhook Item refreshes like any healthy Item (the mirror sends no webhooks).
    matching = {**SPECIAL_TOKENS, "webhook": builtin.TOKEN_TRANSACTIONS_DYNAMIC}
    for scenario, token in target.special_tokens.items():
        if scenario in matching:
            rewrites[token] = matching[scenario]
    mirror_key_id = webhook_key_id(app)
    if target.webhook_key_id is not None and mirror_key_id is not None:
        rewrites[target.webhook_key_id] = mirror_key_id
    return app, rewrites


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve `app` with uvicorn on an ephemeral 127.0.0.1 port; yields the base URL."""
    from plaid_refresh.server.testing import running_server

    with running_server(app) as base_url:
        yield str(base_url)
