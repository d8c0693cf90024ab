"""The Plaid side of the receiver contract: a signer, its key server, and the receiver under test.

Configuration (environment):
- RECEIVER_URL: the receiver to test (webhooks are POSTed to exactly this URL). Unset: the example
  receiver (examples/webhook_receiver) is started on loopback, configured to use the key server.
- WEBHOOK_KEY_SERVER_PORT: where the key server listens on 127.0.0.1 (default 8789 with RECEIVER_URL,
  an ephemeral port otherwise). A receiver under test must fetch keys from
  http://127.0.0.1:<port>/webhook_verification_key/get.
- WEBHOOK_KEY_SERVER_CLIENT_ID / WEBHOOK_KEY_SERVER_SECRET: the credentials the key server accepts
  (default: the reference server's built-in ones).

Every answer of the receiver, in every test, is scanned for the Plaid-Verification token and the key
server's secret (a receiver must echo neither), and must come within Plaid's 10 s delivery timeout.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import httpx
import jwt
import pytest

from contract_tests.webhooks.keyserver import KeyRing, default_credentials
from contract_tests.webhooks.loopback import serve
from contract_tests.webhooks.payloads import examples
from plaid_refresh.webhooks.signing import WebhookSigner, body_sha256, serialize_webhook

DEFAULT_EXTERNAL_KEY_PORT = 8789
PLAID_TIMEOUT = 10.0
"""Plaid counts a delivery as failed when no answer comes within 10 seconds."""


@attrs.define
class PlaidSide:
    """Sends webhooks to the receiver the way Plaid does (and the way an attacker would)."""

    keys: KeyRing
    key_server_url: str
    receiver_url: str
    description: str
    http: httpx.Client
    secret: str

    @property
    def signer(self) -> WebhookSigner:
        return self.keys.current

    def post(self, headers: dict[str, str], body: bytes) -> httpx.Response:
        try:
            response = self.http.post(
                self.receiver_url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.TimeoutException:
            pytest.fail(f"the receiver did not answer within Plaid's {PLAID_TIMEOUT:g} s: a failed delivery")
        except httpx.TransportError as exc:
            pytest.fail(f"the receiver at {self.receiver_url} did not answer: {type(exc).__name__}: {exc}")
        self.scan(response, headers.get("Plaid-Verification", ""))
        return response

    def scan(self, response: httpx.Response, token: str) -> None:
        """The answer must not echo the token (or its signature) nor the key server's secret."""
        shown = response.content + b"".join(k + v for k, v in response.headers.raw)
        signature = token.rsplit(".", 1)[-1] if token.count(".") == 2 else ""
        for name, value in (("token", token), ("token's signature", signature), ("secret", self.secret)):
            if len(value) >= 16 and value.encode() in shown:
                pytest.fail(f"the receiver's answer (HTTP {response.status_code}) contains the {name}")

    def token(
        self,
        body: bytes,
        *,
        signer: WebhookSigner | None = None,
        iat: Any = None,
        claims: dict[str, Any] | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """A genuinely signed token; `iat`/`claims`/`header` override what Plaid would put."""
        signer = signer or self.signer
        payload: dict[str, Any] = {
            "iat": int(time.time()) if iat is None else iat,
            "request_body_sha256": body_sha256(body),
        }
        payload.update(claims or {})
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not ...},
            signer.private_key,
            algorithm="ES256",
            headers={"kid": signer.key_id, **(header or {})},
        )

    def deliver(self, body: bytes, **token_options: Any) -> httpx.Response:
        return self.post({"Plaid-Verification": self.token(body, **token_options)}, body)

    def send_signed(self, payload: dict[str, Any]) -> httpx.Response:
        return self.deliver(serialize_webhook(payload))

    def fresh_payload(self, code: str = "DEFAULT_UPDATE", **changes: Any) -> dict[str, Any]:
        """A spec example with a unique item_id, so no two tests share a body."""
        payload = examples()[code]
        payload["item_id"] = f"contract-{uuid.uuid4().hex}"
        payload.update(changes)
        return payload

    def fresh_body(self, code: str = "DEFAULT_UPDATE", **changes: Any) -> bytes:
        return serialize_webhook(self.fresh_payload(code, **changes))


def accepted(response: httpx.Response) -> bool:
    """Plaid counts only a 200 as delivered; any other 2xx accepted a forgery all the same."""
    return response.status_code // 100 == 2


def assert_delivered(response: httpx.Response, what: str) -> None:
    assert response.status_code == 200, (
        f"a genuine {what} was answered HTTP {response.status_code} {response.text[:200]!r}: "
        "Plaid counts anything but 200 as a failed delivery and retries it"
    )


def assert_refused(response: httpx.Response, what: str) -> None:
    assert not accepted(response), f"the receiver accepted {what} with HTTP {response.status_code}"


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
    default_id, default_secret = default_credentials()
    client_id = os.environ.get("WEBHOOK_KEY_SERVER_CLIENT_ID") or default_id
    secret = os.environ.get("WEBHOOK_KEY_SERVER_SECRET") or default_secret
    keys = KeyRing(client_id, secret)
    receiver_url = os.environ.get("RECEIVER_URL")
    timeout = httpx.Timeout(PLAID_TIMEOUT)
    with serve(keys, _port()) as key_url, httpx.Client(timeout=timeout, follow_redirects=False) as http:
        if receiver_url:
            where = f"RECEIVER_URL (contract key server at {key_url})"
            yield PlaidSide(keys, key_url, receiver_url, where, http, secret)
            return
        from examples.webhook_receiver import build_receiver

        receiver = build_receiver(key_url, client_id, secret)
        with serve(receiver) as url:
            yield PlaidSide(keys, key_url, url, f"example receiver (key server at {key_url})", http, secret)


@pytest.fixture
def keys(plaid: PlaidSide) -> Iterator[KeyRing]:
    """The key server, restored to "up" after a test that changed it."""
    try:
        yield plaid.keys
    finally:
        plaid.keys.down = None


def pytest_report_header(config: pytest.Config) -> str:
    target = os.environ.get("RECEIVER_URL") or "the example receiver, started on loopback"
    return f"webhook receiver under test: {target}"
