"""Deliberately broken clients. Each one breaks one rule; test_contract_can_fail.py shows that the
same checks that pass for the real client reject every one of them."""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any

import httpx
from plaid_refresh_client.models import KnownErrorCode, TransactionsRefreshRequest
from plaid_refresh_client.types import UNSET

from plaid_refresh import PlaidRefreshClient, RetryPolicy
from plaid_refresh.client.core import ClientCore, Operation

from .harness import CLIENT_ID, SECRET, ClientFactory


class _NoVersionCore(ClientCore):
    def request_kwargs(self, operation: Operation, body: Any) -> dict[str, Any]:
        return operation.build_kwargs(body=body, plaid_version=UNSET)


class _SecretInBodyCore(ClientCore):
    def request_kwargs(self, operation: Operation, body: Any) -> dict[str, Any]:
        if isinstance(body, TransactionsRefreshRequest):
            client_id, secret = self.credentials.values()
            body = TransactionsRefreshRequest(
                access_token=body.access_token, client_id=client_id, secret=secret
            )
        return super().request_kwargs(operation, body)


class _DropClientIdAuth(httpx.Auth):
    def __init__(self, inner: httpx.Auth) -> None:
        self.inner = inner

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        for prepared in self.inner.auth_flow(request):
            del prepared.headers["PLAID-CLIENT-ID"]
            yield prepared


class _NoClientIdCore(ClientCore):
    def auth(self) -> httpx.Auth:
        return _DropClientIdAuth(super().auth())


class _RetryEverything(RetryPolicy):
    def should_retry(self, error: BaseException) -> bool:
        return True


class _SwallowUnknownCodesCore(ClientCore):
    """Like the generated client with a closed enum: an unknown code yields no exception at all."""

    def interpret(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[Any, str | None]:
        try:
            code = response.json().get("error_code")
        except ValueError:
            code = None
        if code is not None and code not in {c.value for c in KnownErrorCode}:
            return None, None
        return super().interpret(operation, response, secrets)


class _StrictCore(ClientCore):
    """Rejects answers carrying fields it does not know."""

    def interpret(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[Any, str | None]:
        result, request_id = super().interpret(operation, response, secrets)
        if getattr(result, "additional_properties", None):
            raise ValueError("unexpected fields in the answer")
        return result, request_id


class _HtmlCrashCore(ClientCore):
    """Parses every body as JSON like the generated client: HTML pages crash with JSONDecodeError."""

    def interpret(
        self, operation: Operation, response: httpx.Response, secrets: Iterable[str]
    ) -> tuple[Any, str | None]:
        response.json()
        return super().interpret(operation, response, secrets)


def _with_core(core: type[ClientCore]) -> ClientFactory:
    class Broken(PlaidRefreshClient):
        _core_class = core

    def factory(**options: Any) -> PlaidRefreshClient:
        client: PlaidRefreshClient = Broken.sandbox(
            client_id=CLIENT_ID, secret=SECRET, sleep=lambda _: None, **options
        )
        return client

    return factory


def _retries_everything(**options: Any) -> PlaidRefreshClient:
    attempts = options.pop("retries", 2)
    policy = _RetryEverything(max_attempts=(attempts if isinstance(attempts, int) else 2) + 1)
    return PlaidRefreshClient.sandbox(
        client_id=CLIENT_ID, secret=SECRET, sleep=lambda _: None, retries=policy, **options
    )


VARIANTS: dict[str, ClientFactory] = {
    "drops Plaid-Version": _with_core(_NoVersionCore),
    "sends the secret in the body": _with_core(_SecretInBodyCore),
    "drops PLAID-CLIENT-ID": _with_core(_NoClientIdCore),
    "retries a 400": _retries_everything,
    "swallows unknown error codes": _with_core(_SwallowUnknownCodesCore),
    "rejects unknown extra fields": _with_core(_StrictCore),
    "crashes on an HTML body": _with_core(_HtmlCrashCore),
}
