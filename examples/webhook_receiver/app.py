"""A framework-free webhook receiver: a plain ASGI app that trusts only verified webhooks.

Answers (what Plaid's retry logic sees):
- 200 `{"status": "accepted"}` for a verified, new Transactions webhook, and 200 `{"status": "duplicate"}`
  for a verified webhook already seen (same raw body): acknowledged, not processed twice;
- 200 `{"status": "not handled"}` for a verified webhook of another product or code (AUTH DEFAULT_UPDATE,
  ITEM ERROR, ...): the Item's one webhook URL gets every product's webhooks, and rejecting them would
  count toward Plaid's rule that stops all delivery to a receiver rejecting over 90%;
- 401 for a forged or stale one (bad or missing signature, wrong algorithm, unknown or expired key,
  old iat, tampered body): nobody should resend it;
- 400 for an authentic body that does not match the spec;
- 503 when the key server could not be asked: Plaid retries later;
- 405 / 413 for other methods / oversized bodies. GET /healthz answers 200.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from plaid_refresh.webhooks.signing import body_sha256
from plaid_refresh.webhooks.verification import (
    AsyncWebhookVerifier,
    InvalidPayload,
    KeyFetchError,
    OtherWebhook,
    PlaidKeyFetcher,
    Webhook,
    WebhookVerificationError,
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

logger = logging.getLogger("webhook_receiver")
MAX_BODY_BYTES = 1024 * 1024


class SeenBodies:
    """Bounded, thread-safe memory of processed webhooks, keyed by the SHA-256 of the raw body.
    Plaid retries resend the same bytes, so a retry of a processed webhook has a known key.
    A production receiver keeps this in its database (a unique column), not in memory."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, key: str) -> bool:
        """True when the key is new (process the webhook), False for a duplicate."""
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
            return True


class _TooLarge(Exception):
    pass


class WebhookReceiver:
    """The ASGI app. `received` holds the last verified, new webhooks (for demos and tests);
    `on_webhook` is where a real receiver would enqueue its own processing."""

    def __init__(
        self,
        verifier: AsyncWebhookVerifier,
        *,
        seen: SeenBodies | None = None,
        on_webhook: Callable[[Webhook], None] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        keep: int = 1000,
    ) -> None:
        self.verifier = verifier
        self.seen = seen if seen is not None else SeenBodies()
        self.received: collections.deque[Webhook] = collections.deque(maxlen=keep)
        self.duplicates = 0
        self.rejected = 0
        self._on_webhook = on_webhook
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._handle(scope, receive)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._on_shutdown is not None:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        method = scope["method"]
        if method == "GET" and scope["path"] == "/healthz":
            return 200, _json({"status": "ok"})
        if method != "POST":
            return 405, _json({"error": "MethodNotAllowed", "message": "webhooks are POSTed"})
        try:
            body = await _read_body(receive)
        except _TooLarge:
            return 413, _json({"error": "TooLarge", "message": f"bodies over {MAX_BODY_BYTES} bytes"})
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            headers.setdefault(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
        try:
            webhook = await self.verifier.verify(headers, body)
        except KeyFetchError as exc:
            logger.warning("cannot verify now (%s): answering 503 so the sender retries", exc)
            return 503, _json({"error": type(exc).__name__, "message": str(exc)})
        except WebhookVerificationError as exc:
            self.rejected += 1
            logger.warning("rejected webhook: %s: %s", type(exc).__name__, exc)
            status = 400 if isinstance(exc, InvalidPayload) else 401
            return status, _json({"error": type(exc).__name__, "message": str(exc)})
        digest = body_sha256(body)
        code = str(getattr(webhook, "webhook_code", "?"))
        item_id = getattr(webhook, "item_id", None)
        if not self.seen.add(digest):
            self.duplicates += 1
            logger.info("duplicate %s for item %s (body %s...): acknowledged", code, item_id, digest[:12])
            return 200, _json({"status": "duplicate"})
        self.received.append(webhook)
        if self._on_webhook is not None:
            self._on_webhook(webhook)
        if isinstance(webhook, OtherWebhook):
            kind = f"{webhook.webhook_type} {webhook.webhook_code}"
            logger.info("acknowledged %s for item %s (not handled here)", kind, item_id)
            return 200, _json({"status": "not handled"})
        logger.info("accepted %s for item %s (body %s...)", code, item_id, digest[:12])
        return 200, _json({"status": "accepted"})


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json(value: dict[str, str]) -> bytes:
    return json.dumps(value).encode()


def build_receiver(
    key_server_url: str,
    client_id: str,
    secret: str,
    *,
    max_age: float = 300.0,
    seen: SeenBodies | None = None,
) -> WebhookReceiver:
    """A receiver that fetches keys from `key_server_url` (Plaid, or the reference server) with the
    given credentials, through the generated client."""
    fetcher = PlaidKeyFetcher(key_server_url, client_id, secret)
    verifier = AsyncWebhookVerifier(fetcher.fetch_async, max_age=max_age)
    return WebhookReceiver(verifier, seen=seen, on_shutdown=fetcher.aclose)
