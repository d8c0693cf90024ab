"""The Plaid side of the receiver contract: a signer, its key server, and the receiver under test.

Configuration (environment):
- RECEIVER_URL: the receiver to test (webhooks are POSTed to exactly this URL). Unset: the example
  receiver (examples/webhook_receiver) is started on loopback, configured to use the key server.
- WEBHOOK_KEY_SERVER_PORT: where the key server listens on 127.0.0.1 (default 8789 with RECEIVER_URL,
  an ephemeral port otherwise). A receiver under test must fetch keys from
  http://127.0.0.1:<port>/webhook_verification_key/get.
- WEBHOOK_KEY_SERVER_CLIENT_ID / WEBHOOK_KEY_SERVER_SECRET: the credentials the key server accepts
  (default: the reference server's built-in ones).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import pytest

from contract_tests.webhooks.keyserver import default_credentials, key_server_app
from contract_tests.webhooks.loopback import serve
from contract_tests.webhooks.payloads import examples
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook

DEFAULT_EXTERNAL_KEY_PORT = 8789


@attrs.define
class PlaidSide:
    """Sends webhooks to the receiver the way Plaid does."""

    signer: WebhookSigner
    key_server_url: str
    receiver_url: str
    description: str
    http: httpx.Client

    def post(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        try:
            return self.http.post(
                self.receiver_url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.TransportError as exc:
            pytest.fail(f"the receiver at {self.receiver_url} did not answer: {type(exc).__name__}: {exc}")

    def send_signed(self, payload: dict[str, Any]) -> httpx.Response:
        body = serialize_webhook(payload)
        return self.post({"Plaid-Verification": self.signer.sign(body)}, body)

    def fresh_body(self, code: str = "DEFAULT_UPDATE") -> bytes:
        """A spec example with a unique item_id, so no two tests share a body."""
        payload = examples()[code]
        payload["item_id"] = f"contract-{uuid.uuid4().hex}"
        return serialize_webhook(payload)


def _port() -> int:
    raw = os.environ.get("WEBHOOK_KEY_SERVER_PORT")
    if not raw:
        return DEFAULT_EXTERNAL_KEY_PORT if os.environ.get("RECEIVER_URL") else 0
    try:
        return int(raw)
    except ValueError:
        raise pytest.UsageError(f"WEBHOOK_KEY_SERVER_PORT is not a port number: {raw!r}") from None


@pytest.fixture(scope="session")
def plaid() -> Iterator[PlaidSide]:
    signer = WebhookSigner.generate()
    default_id, default_secret = default_credentials()
    client_id = os.environ.get("WEBHOOK_KEY_SERVER_CLIENT_ID") or default_id
    secret = os.environ.get("WEBHOOK_KEY_SERVER_SECRET") or default_secret
    kind, key_app = key_server_app(signer, client_id, secret)
    receiver_url = os.environ.get("RECEIVER_URL")
    with serve(key_app, _port()) as key_url, httpx.Client(timeout=10.0) as http:
        if receiver_url:
            yield PlaidSide(signer, key_url, receiver_url, f"RECEIVER_URL ({kind} at {key_url})", http)
            return
        from examples.webhook_receiver import build_receiver

        receiver = build_receiver(key_url, client_id, secret)
        with serve(receiver) as url:
            yield PlaidSide(signer, key_url, url, f"example receiver ({kind} at {key_url})", http)


def pytest_report_header(config: pytest.Config) -> str:
    target = os.environ.get("RECEIVER_URL") or "the example receiver, started on loopback"
    return f"webhook receiver under test: {target}"
