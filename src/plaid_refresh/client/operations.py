"""The spec's operations as the client calls them: the generated request builders, the success
models, the credentials header auth, and the checks a request body passes before it is sent."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import httpx
from plaid_refresh_client.api.transactions import transactions_refresh
from plaid_refresh_client.api.webhooks import webhook_verification_key_get
from plaid_refresh_client.models import (
    JWKPublicKey,
    PlaidVersion,
    TransactionsRefreshResponse,
    WebhookVerificationKeyGetResponse,
)

from plaid_refresh.client.config import PLAID_VERSION
from plaid_refresh.client.credentials import Credentials
from plaid_refresh.client.errors import PlaidArgumentError
from plaid_refresh.client.validation import describe_errors, request_validator

USER_AGENT = "plaid-refresh-toolkit"

# The generated enum must know the version this client sends (raises at import otherwise).
SENT_VERSION = PlaidVersion(PLAID_VERSION)


@dataclass(frozen=True)
class Operation:
    """One spec operation: the generated request builder and the success model."""

    path: str
    build_kwargs: Callable[..., dict[str, Any]]
    parse: Callable[[dict[str, Any]], Any]


def _parse_refresh(data: dict[str, Any]) -> TransactionsRefreshResponse:
    return TransactionsRefreshResponse.from_dict(data)


def _parse_key(data: dict[str, Any]) -> JWKPublicKey:
    return WebhookVerificationKeyGetResponse.from_dict(data).key


# The generated `_get_kwargs` builds method, path, JSON body and headers exactly as the spec says; the
# generated `sync_detailed` is not used because it crashes on non-JSON bodies and non-IANA statuses.
REFRESH = Operation("/transactions/refresh", transactions_refresh._get_kwargs, _parse_refresh)
KEY_GET = Operation("/webhook_verification_key/get", webhook_verification_key_get._get_kwargs, _parse_key)


class PlaidHeaderAuth(httpx.Auth):
    """Adds PLAID-CLIENT-ID / PLAID-SECRET to every request (the only place credentials are sent).
    Not default headers of the pool: httpx.Headers' repr would print them."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Set one by one: `headers.update` builds a Headers and works out the request headers'
        # encoding first, three times the cost (callgrind: ~64k against ~21k instructions a call).
        headers = request.headers
        for name, value in self._credentials.headers().items():
            headers[name] = value
        yield request

    def __repr__(self) -> str:
        return "PlaidHeaderAuth()"


def check_body(operation: Operation, body: dict[str, Any]) -> None:
    """Raise PlaidArgumentError (naming fields, never values) if `body` would break the spec."""
    problems = describe_errors(request_validator(operation.path), body)
    if problems:
        raise PlaidArgumentError(
            f"POST {operation.path}: the request body would break the spec: " + "; ".join(problems)
        )
