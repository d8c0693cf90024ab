"""A request that never arrives complete is never executed: no refresh recorded, no webhook queued, no
rate-limit quota used (Content-Length promising more than arrives, a chunked body that never ends)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import attrs
import orjson
import pytest

from plaid_refresh.server import TOKEN_TRANSACTIONS_DYNAMIC, ServerConfig, create_app
from plaid_refresh.server.app import ReferenceServer
from plaid_refresh.server.config import ConnectionLimits
from plaid_refresh.server.items import builtin_items
from plaid_refresh.server.testing import running_server
from tests.server.raw_http import closed_within, connect, read_answer, request_bytes

BODY = orjson.dumps({"access_token": TOKEN_TRANSACTIONS_DYNAMIC})
DYNAMIC_ITEM = "item-user-transactions-dynamic"
LIMITS = ConnectionLimits(body_timeout=0.4)


class Sink:
    def __init__(self) -> None:
        self.webhooks: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, payload: dict[str, Any]) -> None:
        self.webhooks.append((url, payload))


@pytest.fixture
def served() -> Iterator[tuple[str, ReferenceServer, Sink]]:
    """A server with Plaid's rate limit (2 refreshes per Item per minute) and a recording webhook sink;
    the dynamic Item has a webhook URL, so each executed refresh queues webhooks."""

    sink = Sink()
    dynamic = next(i for i in builtin_items() if i.access_token == TOKEN_TRANSACTIONS_DYNAMIC)
    item = attrs.evolve(dynamic, webhook="https://receiver.invalid/hook")
    app = create_app(ServerConfig(access_log=False), webhook_sink=sink, items=[item])
    with running_server(app, limits=LIMITS) as url:
        yield url, app, sink


def _nothing_executed(app: ReferenceServer, sink: Sink) -> None:
    time.sleep(0.3)  # an executed refresh would be recorded within milliseconds
    assert app.store.history(DYNAMIC_ITEM) == []
    assert sink.webhooks == []


def _quota_intact(url: str) -> None:
    """Both refreshes Plaid allows per Item per minute are still available."""
    for _ in range(2):
        with connect(url) as sock:
            sock.sendall(request_bytes(BODY))
            answer = read_answer(sock)
        assert answer.status == 200, answer.body


def test_content_length_promising_more_then_close(served: tuple[str, ReferenceServer, Sink]) -> None:
    url, app, sink = served
    for _ in range(3):
        with connect(url) as sock:
            # The JSON is complete, but Content-Length promises 50 bytes more; then the client goes away.
            sock.sendall(request_bytes(BODY, content_length=len(BODY) + 50))
            time.sleep(0.05)
    _nothing_executed(app, sink)
    _quota_intact(url)


def test_content_length_promising_more_then_silence(served: tuple[str, ReferenceServer, Sink]) -> None:
    url, app, sink = served
    with connect(url) as sock:
        sock.sendall(request_bytes(BODY, content_length=len(BODY) + 50))
        assert closed_within(sock, 3.0) is not None, "the body timeout did not close the connection"
    _nothing_executed(app, sink)
    _quota_intact(url)


@pytest.mark.parametrize("ending", ["close", "silence"])
def test_a_chunked_body_that_never_ends(served: tuple[str, ReferenceServer, Sink], ending: str) -> None:
    url, app, sink = served
    head = (
        b"POST /transactions/refresh HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"PLAID-CLIENT-ID: 5f0bd2b1c0c0b2001234abcd\r\nPLAID-SECRET: reference-server-sandbox-secret\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (len(BODY), BODY)  # the whole JSON in one chunk; the final 0-chunk never comes
    for _ in range(3):
        with connect(url) as sock:
            sock.sendall(head + chunk)
            if ending == "silence":
                assert closed_within(sock, 3.0) is not None
            else:
                time.sleep(0.05)
    _nothing_executed(app, sink)
    _quota_intact(url)


def test_a_complete_request_is_executed(served: tuple[str, ReferenceServer, Sink]) -> None:
    """The control: the same bytes, complete, are executed and queue webhooks (the tests above can fail)."""
    url, app, sink = served
    with connect(url) as sock:
        sock.sendall(request_bytes(BODY))
        assert read_answer(sock).status == 200
    assert len(app.store.history(DYNAMIC_ITEM)) == 1
    assert sink.webhooks
