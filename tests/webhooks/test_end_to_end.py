"""End to end over loopback HTTP: a refresh through the generated client against the reference
server, then signed webhooks reaching the example receiver, verified, valid against the spec; and
restart safety: receiver down, server restarted on the same --db, receiver back, every webhook arrives."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from plaid_refresh_client import Client
from plaid_refresh_client.api.transactions import transactions_refresh
from plaid_refresh_client.models import PlaidVersion, TransactionsRefreshRequest, TransactionsRefreshResponse

from contract_tests.webhooks.loopback import free_port, serve
from examples.webhook_receiver import WebhookReceiver, build_receiver
from plaid_refresh.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_SECRET,
    Item,
    ReferenceServer,
    ServerConfig,
    create_app,
)
from plaid_refresh.server.items import Account
from plaid_refresh.spec import load_spec, resolve, standalone_schema
from plaid_refresh.webhooks.delivery import RetryPolicy, WebhookOutbox
from plaid_refresh.webhooks.verification import UnknownWebhook

TOKEN = "access-sandbox-e2e-webhooks"
ITEM_ID = "item-e2e-webhooks"
# Refreshes 1-3 of a dynamic Item fire 7 webhooks: SYNC_UPDATES_AVAILABLE x3, DEFAULT_UPDATE x3
# (new_transactions 2, 3, 1), TRANSACTIONS_REMOVED x1 (the third refresh removes one). The three
# SYNC_UPDATES_AVAILABLE bodies are byte-identical, so the receiver processes one and acknowledges
# two as duplicates (docs/webhooks.md: dedupe on the body hash; processing is idempotent anyway).
SENT = 7
PROCESSED = {"SYNC_UPDATES_AVAILABLE": 1, "DEFAULT_UPDATE": 3, "TRANSACTIONS_REMOVED": 1}
DUPLICATES = 2
FAST_RETRIES = RetryPolicy(base_delay=0.05, factor=1.5, max_attempts=60)


def dynamic_item(webhook_url: str) -> Item:
    return Item(
        TOKEN,
        ITEM_ID,
        "ins_109508",
        (Account("acc-e2e", "depository", "checking", "Checking"),),
        webhook=webhook_url,
        changes="dynamic",
    )


def spec_validators() -> dict[str, Draft202012Validator]:
    """Compiled here from the spec's webhooks section, independently of the helper's own."""
    validators = {}
    for webhook in load_spec()["webhooks"].values():
        schema = resolve(webhook["post"]["requestBody"]["content"]["application/json"]["schema"])
        validators[schema["properties"]["webhook_code"]["enum"][0]] = Draft202012Validator(
            standalone_schema(schema)
        )
    return validators


def refresh(base_url: str, times: int) -> None:
    """Refresh through the generated client, as a service would."""
    client = Client(
        base_url=base_url,
        headers={"PLAID-CLIENT-ID": DEFAULT_CLIENT_ID, "PLAID-SECRET": DEFAULT_SECRET},
        timeout=httpx.Timeout(30.0),
    )
    with client:
        for _ in range(times):
            answer = transactions_refresh.sync_detailed(
                client=client,
                body=TransactionsRefreshRequest(access_token=TOKEN),
                plaid_version=PlaidVersion.VALUE_0,
            )
            assert answer.status_code == 200, answer.content
            assert isinstance(answer.parsed, TransactionsRefreshResponse)


def wait_for(condition: Callable[[], bool], what: str, limit: float = 15.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def processed(receiver: WebhookReceiver) -> dict[str, int]:
    counts: dict[str, int] = {}
    for webhook in receiver.received:
        code = str(webhook.webhook_code)
        counts[code] = counts.get(code, 0) + 1
    return counts


def config(db: Path | None = None) -> ServerConfig:
    return ServerConfig(db_path=db, rate_limit=False, access_log=False)


def outbox_of(app: ReferenceServer) -> WebhookOutbox:
    assert app.outbox is not None, "create_app(webhook_delivery=...) wires an outbox"
    return app.outbox


def test_refresh_then_verified_webhooks_reach_the_receiver() -> None:
    receiver_port = free_port()
    webhook_url = f"http://127.0.0.1:{receiver_port}/plaid/webhooks"
    app = create_app(config(), items=[dynamic_item(webhook_url)], webhook_delivery=FAST_RETRIES)
    outbox = outbox_of(app)
    with serve(app) as server_url:
        receiver = build_receiver(server_url, DEFAULT_CLIENT_ID, DEFAULT_SECRET)
        with serve(receiver, receiver_port):
            refresh(server_url, 3)
            wait_for(lambda: len(outbox.deliveries("delivered")) == SENT, "7 delivered webhooks")
            attempts = {d.attempts for d in outbox.deliveries()}
    assert attempts == {1}
    assert processed(receiver) == PROCESSED
    assert receiver.duplicates == DUPLICATES
    assert receiver.rejected == 0
    validators = spec_validators()
    for webhook in receiver.received:
        assert not isinstance(webhook, UnknownWebhook)
        assert webhook.item_id == ITEM_ID
        payload: dict[str, Any] = webhook.to_dict()
        assert list(validators[payload["webhook_code"]].iter_errors(payload)) == []


def test_every_webhook_arrives_across_a_receiver_outage_and_a_server_restart(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite3"
    server_port, receiver_port = free_port(), free_port()
    webhook_url = f"http://127.0.0.1:{receiver_port}/plaid/webhooks"
    item = dynamic_item(webhook_url)

    # 1. The receiver is down: the server refreshes, deliveries fail and stay pending.
    first = create_app(config(db), items=[item], webhook_delivery=FAST_RETRIES)
    first_outbox = outbox_of(first)
    with serve(first, server_port) as server_url:
        refresh(server_url, 3)
        wait_for(
            lambda: (
                len(first_outbox.deliveries()) == SENT
                and all(d.attempts >= 1 for d in first_outbox.deliveries())
            ),
            "a first failed attempt for every webhook",
        )
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, last_error FROM webhook_deliveries").fetchall()
    assert len(rows) == SENT
    assert {status for status, _ in rows} == {"pending"}
    assert {error for _, error in rows} == {"connection failed (refused or unreachable)"}

    # 2. The server restarts on the same database (same signing key, same outbox) while the receiver
    #    is still down, then 3. the receiver comes back: every webhook arrives, verified.
    second = create_app(config(db), items=[item], webhook_delivery=FAST_RETRIES)
    outbox = outbox_of(second)
    assert second.signer.key_id == first.signer.key_id
    with serve(second, server_port) as server_url:
        assert len(outbox.deliveries("pending")) == SENT
        wait_for(
            lambda: all(d.attempts >= 2 for d in outbox.deliveries()),
            "the resumed worker to retry every webhook while the receiver is still down",
        )
        receiver = build_receiver(server_url, DEFAULT_CLIENT_ID, DEFAULT_SECRET)
        with serve(receiver, receiver_port):
            wait_for(lambda: len(outbox.deliveries("delivered")) == SENT, "7 delivered webhooks")
    assert processed(receiver) == PROCESSED
    assert receiver.duplicates == DUPLICATES
    assert receiver.rejected == 0
    with sqlite3.connect(db) as conn:
        statuses = conn.execute("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status").fetchall()
    assert statuses == [("delivered", SENT)]


def test_the_refresh_answers_without_waiting_for_delivery() -> None:
    """The webhook URL accepts TCP connections but never answers: were the refresh waiting for
    delivery, it could not return before the 10 s delivery timeout. It returns with the attempts
    still in flight."""
    import socket

    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the backlog; nobody ever reads or answers
    webhook_url = f"http://127.0.0.1:{silent.getsockname()[1]}/plaid/webhooks"
    app = create_app(config(), items=[dynamic_item(webhook_url)], webhook_delivery=FAST_RETRIES)
    outbox = outbox_of(app)
    try:
        with serve(app) as server_url:
            refresh(server_url, 1)
            # The sink runs right after the response is sent: the rows appear within moments.
            wait_for(
                lambda: len(outbox.deliveries()) == 2, "SYNC_UPDATES_AVAILABLE and DEFAULT_UPDATE queued"
            )
            rows = outbox.deliveries()
            assert {(d.status, d.attempts) for d in rows} == {("pending", 0)}  # not answered yet
            silent.close()  # resets the hung connections so the server shuts down promptly
    finally:
        silent.close()
