"""The example receiver over real HTTP: status codes per outcome, dedupe, its command line."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import httpx
import pytest
from plaid_refresh_client.models import TransactionsRemovedWebhook

from contract_tests.webhooks.keyserver import default_credentials, key_server_app
from contract_tests.webhooks.loopback import free_port, serve
from examples.webhook_receiver import WebhookReceiver, build_receiver
from plaid_refresh.webhooks import forgeries
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook
from tests.webhooks.conftest import example_payload

ROOT = Path(__file__).resolve().parents[2]


@attrs.frozen
class Running:
    signer: WebhookSigner
    receiver: WebhookReceiver
    url: str


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    signer = WebhookSigner.generate()
    client_id, secret = default_credentials()
    _, key_app = key_server_app(signer, client_id, secret)
    with serve(key_app) as key_url:
        receiver = build_receiver(key_url, client_id, secret)
        with serve(receiver) as url:
            yield Running(signer, receiver, url)


def post(running: Running, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{running.url}/plaid/webhooks", content=body, headers=headers, timeout=10)


def test_genuine_webhook_is_accepted_then_acknowledged_as_duplicate(running: Running) -> None:
    payload = {**example_payload("TRANSACTIONS_REMOVED"), "item_id": "dedupe-item"}
    body = serialize_webhook(payload)
    first = post(running, body, {"Plaid-Verification": running.signer.sign(body)})
    again = post(running, body, {"Plaid-Verification": running.signer.sign(body)})
    assert (first.status_code, first.json()) == (200, {"status": "accepted"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    got = [w for w in running.receiver.received if getattr(w, "item_id", None) == "dedupe-item"]
    assert len(got) == 1
    assert isinstance(got[0], TransactionsRemovedWebhook)


@pytest.mark.parametrize("forgery", forgeries.FORGERIES, ids=lambda f: f.name)
def test_forgeries_get_401(running: Running, forgery: forgeries.Forgery) -> None:
    body = serialize_webhook({**example_payload(), "item_id": f"forged-{forgery.name}"})
    headers, sent = forgery(running.signer, body)
    response = post(running, sent, headers)
    assert response.status_code == 401
    assert response.json()["error"] == forgery.rejected_as.__name__


def test_authentic_but_invalid_body_gets_400(running: Running) -> None:
    body = serialize_webhook({**example_payload(), "environment": "development"})
    response = post(running, body, {"Plaid-Verification": running.signer.sign(body)})
    assert (response.status_code, response.json()["error"]) == (400, "InvalidPayload")


def test_unreachable_key_server_gets_503_so_the_sender_retries() -> None:
    signer = WebhookSigner.generate()
    receiver = build_receiver(f"http://127.0.0.1:{free_port()}", *default_credentials())
    body = serialize_webhook(example_payload())
    with serve(receiver) as url:
        response = httpx.post(url, content=body, headers={"Plaid-Verification": signer.sign(body)})
    assert (response.status_code, response.json()["error"]) == (503, "KeyFetchError")


def test_other_methods_health_and_size_limit(running: Running) -> None:
    assert httpx.get(f"{running.url}/healthz").status_code == 200
    assert httpx.get(f"{running.url}/plaid/webhooks").status_code == 405
    huge = b"{" + b" " * (1024 * 1024 + 1) + b"}"
    assert post(running, huge, {"Plaid-Verification": running.signer.sign(huge)}).status_code == 413


def test_cli_help_and_bad_flags() -> None:
    run = [sys.executable, "-m", "examples.webhook_receiver"]
    shown = subprocess.run(
        [*run, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert shown.returncode == 0
    for flag in ("--key-server", "--port", "--max-age", "PLAID_SECRET"):
        assert flag in shown.stdout
    bad = subprocess.run(
        [*run, "--key-server", "ftp://x"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert bad.returncode == 2
    assert "not an http(s) URL" in bad.stderr
    assert "Traceback" not in bad.stderr
