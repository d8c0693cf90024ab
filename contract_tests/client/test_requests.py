"""Every request the client sends validates against the spec (openapi-core), always carries
Plaid-Version, and carries credentials as headers only; inputs are drawn from the spec by schemathesis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given, settings

from plaid_refresh import PlaidRefreshClient

from .harness import (
    CLIENT_ID,
    KEY_GET,
    REFRESH,
    SECRET,
    Recorder,
    access_tokens,
    check_request,
    check_requests_of,
    key_ids,
    real_async_client,
    real_client,
)

pytestmark = pytest.mark.own_client


@settings(settings.get_profile("client-contract"))
@given(token=access_tokens())
def test_refresh_requests_match_the_spec(token: str) -> None:
    check_requests_of(real_client, REFRESH, token)


@settings(settings.get_profile("client-contract"))
@given(key_id=key_ids())
def test_key_get_requests_match_the_spec(key_id: str) -> None:
    check_requests_of(real_client, KEY_GET, key_id)


@settings(settings.get_profile("client-contract"), max_examples=25)
@given(token=access_tokens(), key_id=key_ids())
def test_async_requests_match_the_spec(token: str, key_id: str) -> None:
    recorder = Recorder()
    key_answer = Recorder(
        httpx.Response(
            200,
            json={
                "key": {
                    "alg": "ES256",
                    "crv": "P-256",
                    "kid": key_id,
                    "kty": "EC",
                    "use": "sig",
                    "x": "x",
                    "y": "y",
                    "created_at": 1,
                    "expired_at": None,
                },
                "request_id": "r",
            },
        )
    )

    async def run() -> None:
        async with real_async_client(transport=httpx.MockTransport(recorder)) as client:
            await client.refresh(token)
        async with real_async_client(transport=httpx.MockTransport(key_answer)) as client:
            await client.get_webhook_verification_key(key_id)

    asyncio.run(run())
    for request in [*recorder.requests, *key_answer.requests]:
        check_request(request)


def test_production_requests_match_the_spec_too() -> None:
    def production(**options: Any) -> PlaidRefreshClient:
        return PlaidRefreshClient.production(client_id=CLIENT_ID, secret=SECRET, **options)

    check_requests_of(production, REFRESH, "access-production-de3ce8ef-33f8-452c-a685-8671031fc0f6")
