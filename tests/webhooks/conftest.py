"""Shared pieces for the webhook tests: a hand-moved clock, a signer on it, a counting key fetcher."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from plaid_refresh_client.models import JWKPublicKey

from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from plaid_refresh.webhooks.verification import UnknownKey, WebhookVerifier

START = 1_800_000_000.0


class FakeClock:
    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountingFetcher:
    """Serves the keys of the given signers and counts fetches per kid."""

    def __init__(self, *signers: WebhookSigner, expired_at: int | None = None) -> None:
        self.keys = {s.key_id: {**s.public_jwk(), "expired_at": expired_at} for s in signers}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, key_id: str) -> JWKPublicKey:
        with self._lock:
            self.calls[key_id] = self.calls.get(key_id, 0) + 1
        if key_id not in self.keys:
            raise UnknownKey(f"unknown key id {key_id!r}")
        return JWKPublicKey.from_dict(self.keys[key_id])


def example_payload(code: str = "DEFAULT_UPDATE") -> dict[str, Any]:
    from contract_tests.webhooks.payloads import examples

    return examples()[code]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def signer(clock: FakeClock) -> WebhookSigner:
    return WebhookSigner.generate(clock=clock)


@pytest.fixture
def fetcher(signer: WebhookSigner) -> CountingFetcher:
    return CountingFetcher(signer)


@pytest.fixture
def verifier(fetcher: CountingFetcher, clock: FakeClock) -> WebhookVerifier:
    return WebhookVerifier(fetcher, clock=clock)


@pytest.fixture
def body() -> bytes:
    return serialize_webhook(example_payload())
