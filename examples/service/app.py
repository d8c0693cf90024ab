"""A small ASGI service: `POST /items/{item_id}/refresh` asks Plaid for fresh transactions.

It uses the client exactly as docs/client.md says: one AsyncPlaidRefreshClient for the life of the
process (built with `from_env()`), closed at shutdown, and Plaid failures handled by exception class.
Each failure becomes an answer *this* service's callers can act on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from plaid_refresh import (
    ApiError,
    AsyncPlaidRefreshClient,
    InstitutionError,
    InvalidAccessToken,
    InvalidApiKeys,
    ItemError,
    ItemLoginRequired,
    PlaidError,
    PlaidProtocolError,
    PlaidTransportError,
    RateLimitError,
)

log = logging.getLogger("examples.service")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_ROUTE = re.compile(r"^/items/(?P<item_id>[A-Za-z0-9_-]{1,64})/refresh$")


def outcome_for(error: PlaidError) -> tuple[int, dict[str, Any]]:
    """This service's answer (status, JSON body) for a failed refresh. Most specific class first."""
    reference = {"plaid_error_code": error.error_code, "plaid_request_id": error.request_id}
    if isinstance(error, ItemLoginRequired):
        # The user changed their password or MFA: only they can fix it, through Link update mode.
        return 409, {"status": "needs_relink", **reference}
    if isinstance(error, RateLimitError):
        # The client already retried with backoff; the per-Item window is one minute.
        return 429, {"status": "rate_limited", "retry_after_seconds": 60, **reference}
    if isinstance(error, (InvalidApiKeys, InvalidAccessToken)):
        log.error("Plaid rejected our configuration: %s", error)  # a bug or a rotated key: page someone
        return 500, {"status": "misconfigured", **reference}
    if isinstance(error, ItemError):
        return 422, {"status": "item_cannot_refresh", "message": error.display_message, **reference}
    if isinstance(error, InstitutionError):
        return 503, {"status": "bank_unavailable", "message": error.display_message, **reference}
    if isinstance(error, (ApiError, PlaidTransportError, PlaidProtocolError)):
        # Plaid errors/maintenance (already retried), timeouts, connection failures, proxy pages.
        return 503, {"status": "plaid_unavailable", "reason": type(error).__name__, **reference}
    return 502, {"status": "plaid_error", **reference}


class RefreshService:
    """The ASGI app. `tokens` maps item ids to Plaid access tokens (a database in real life)."""

    def __init__(self, client: AsyncPlaidRefreshClient, tokens: Mapping[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        match = _ROUTE.match(scope["path"])
        if match is None:
            await _reply(send, 404, {"status": "not_found"})
        elif scope["method"] != "POST":
            await _reply(send, 405, {"status": "method_not_allowed"}, [(b"allow", b"POST")])
        else:
            status, body = await self.refresh(match["item_id"])
            headers = [(b"retry-after", b"60")] if status == 429 else []
            await _reply(send, status, body, headers)

    async def refresh(self, item_id: str) -> tuple[int, dict[str, Any]]:
        token = self.tokens.get(item_id)
        if token is None:
            return 404, {"status": "unknown_item"}
        try:
            result = await self.client.refresh(token)
        except PlaidError as error:
            status, body = outcome_for(error)
            log.info("refresh of item %s failed: %s", item_id, error)  # PlaidError text never holds secrets
            return status, body
        return 202, {"status": "refresh_started", "plaid_request_id": result.request_id}

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()  # one pool for the whole process, closed once
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _reply(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def create_app(tokens: Mapping[str, str], client: AsyncPlaidRefreshClient | None = None) -> RefreshService:
    """The service, with a client from PLAID_ENV / PLAID_BASE_URL, PLAID_CLIENT_ID, PLAID_SECRET."""
    return RefreshService(client or AsyncPlaidRefreshClient.from_env(), tokens)
