"""Do the target's webhooks verify with the key the target serves? The suite receives them itself.

- The embedded reference server: a fresh one on loopback with one extra Item whose webhook URL is the
  suite's receiver (an ephemeral 127.0.0.1 port), webhooks delivered as in production (the outbox).
- Any other target: `PLAID_TOKEN_WEBHOOK` names an Item whose webhook URL reaches the suite's receiver, which
  listens on `PLAID_CONTRACT_WEBHOOK_LISTEN` (host:port).

Each webhook a refresh of that Item fires is verified with the project's WebhookVerifier, whose key fetcher
asks the target's own /webhook_verification_key/get.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

RECEIVE_TIMEOUT: Final = 15.0  # seconds to wait for the first webhook after a refresh
WEBHOOK_TOKEN: Final = "access-sandbox-contract-webhook-check"
_MAX_BODY: Final = 1 << 20


class Receiver:
    """A tiny HTTP server that keeps every POST it gets (headers with lower-case names, body)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        arrived = threading.Condition()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = min(int(self.headers.get("content-length") or 0), _MAX_BODY)
                body = self.rfile.read(length)
                with arrived:
                    received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    arrived.notify_all()
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet: nothing of it is needed
                return

        self.received = received
        self._arrived = arrived
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/webhook"

    def wait(self, count: int, timeout: float = RECEIVE_TIMEOUT) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.received) < count and time.monotonic() < deadline:
                self._arrived.wait(max(0.0, deadline - time.monotonic()))
            return list(self.received)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port` of PLAID_CONTRACT_WEBHOOK_LISTEN."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"PLAID_CONTRACT_WEBHOOK_LISTEN must look like 127.0.0.1:8790, got {value!r}")
    return host, int(port)


@contextlib.contextmanager
def reference_with_webhooks(receiver_url: str) -> Iterator[str]:
    """A fresh reference server on loopback that delivers webhooks of WEBHOOK_TOKEN's Item to
    `receiver_url` (first retry after 0.2 s); yields its base URL."""
    from plaid_refresh.server import ServerConfig, create_app
    from plaid_refresh.server.items import Account, Item
    from plaid_refresh.server.testing import running_server
    from plaid_refresh.webhooks.delivery import RetryPolicy

    item = Item(
        access_token=WEBHOOK_TOKEN,
        item_id="item-contract-webhook-check",
        institution_id="ins_109508",
        accounts=(Account("acc-checking", "depository", "checking", "Checking"),),
        webhook=receiver_url,
        changes="dynamic",
    )
    app = create_app(
        ServerConfig(rate_limit=False, access_log=False, seed=0),
        items=[item],
        webhook_delivery=RetryPolicy(base_delay=0.2, factor=1.0, max_attempts=3),
    )
    with running_server(app) as base_url:
        yield base_url
