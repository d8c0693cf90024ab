"""At-least-once webhook delivery: a SQLite outbox and an asyncio worker that POSTs, signs and retries.

`WebhookOutbox.enqueue(url, payload)` is the reference server's `webhook_sink`: it validates the
payload against the spec, serialises it the way Plaid does (`serialize_webhook`), stores one row and
wakes the worker. It never waits for the network, so a refresh answers without waiting for delivery.

The worker POSTs the stored bytes with `Content-Type: application/json` and a `Plaid-Verification`
JWT signed at each attempt (so `iat` is fresh for every retry). An attempt fails on a refused
connection, a timeout (10 s, as Plaid) or a non-2xx answer; it is retried after `base_delay` seconds,
then `factor` times the previous delay (Plaid: 30 s, x4), and the row is marked `failed` after
`max_attempts` attempts. Rows live in SQLite when a path is given, so pending deliveries survive a
restart and resume on `start()`. Retries resend the exact same bytes: receivers can deduplicate on
the body's SHA-256 (see docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs
import httpx

from plaid_refresh.webhooks.parsing import known_webhook
from plaid_refresh.webhooks.signing import WebhookSigner, serialize_webhook

logger = logging.getLogger("plaid_refresh.webhooks.delivery")

Status = Literal["pending", "delivered", "failed"]
DELIVERY_TIMEOUT: Final = 10.0  # Plaid: no answer within 10 s is a failed delivery
MAX_POLL_INTERVAL: Final = 60.0  # the worker re-reads the outbox at least this often
BATCH: Final = 256  # due rows loaded per pass, so a large backlog is not read into memory at once

_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    created_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    last_error TEXT,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
"""
_COLUMNS = "id, url, body, created_at, attempts, next_attempt_at, status, last_error, finished_at"


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment (they may carry tokens): fit for logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid url>"
    return f"{parts.scheme}://{host}{port}{parts.path}"


@attrs.frozen
class RetryPolicy:
    """When to retry. Plaid's documented schedule is the default: 30 s, then x4 each time; 7 attempts
    span ~11.4 hours, the last within Plaid's 24-hour window."""

    base_delay: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    factor: float = attrs.field(default=4.0, validator=attrs.validators.ge(1))
    max_attempts: int = attrs.field(default=7, validator=attrs.validators.ge(1))

    def delay_after(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1-based)."""
        return float(self.base_delay * self.factor ** (attempts - 1))


@attrs.frozen
class Delivery:
    """One webhook in the outbox."""

    id: str
    url: str = attrs.field(repr=safe_url)
    body: bytes = attrs.field(repr=False)
    created_at: float
    attempts: int
    next_attempt_at: float
    status: Status
    last_error: str | None
    finished_at: float | None


class WebhookOutbox:
    """The outbox and its delivery worker. `enqueue` is thread-safe and cheap; `start()`/`stop()`
    run inside an asyncio event loop (the server's lifespan)."""

    def __init__(
        self,
        signer: WebhookSigner,
        *,
        path: str | Path | None = None,
        policy: RetryPolicy | None = None,
        timeout: float = DELIVERY_TIMEOUT,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        concurrency: int = 8,
    ) -> None:
        self._signer = signer
        self.policy = policy or RetryPolicy()
        self._timeout = timeout
        self._clock = clock
        self._transport = transport
        self._concurrency = concurrency
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path) if self.path else ":memory:", check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA busy_timeout=5000")
        if self.path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None
        self._in_flight: dict[str, asyncio.Task[None]] = {}
        self._semaphore: asyncio.Semaphore | None = None
        self._stopping = False
        self._closed = False

    def __repr__(self) -> str:
        return f"WebhookOutbox(path={str(self.path) if self.path else ':memory:'!r})"

    # -- producer side (any thread) -------------------------------------------------------------

    def add(self, url: str, payload: dict[str, Any]) -> str:
        """Store a webhook for delivery and wake the worker; returns the delivery id."""
        code = payload.get("webhook_code")
        known = known_webhook(payload)
        if known is not None and not known.validator.is_valid(payload):
            # A bug in the sender, not a delivery problem: never send what the spec forbids.
            raise ValueError(f"the {code} payload does not validate against the spec")
        if not url.startswith(("http://", "https://")):
            raise ValueError("the webhook URL must be http(s)")
        body = serialize_webhook(payload)
        delivery_id = uuid.uuid4().hex
        now = self._clock()
        with self._lock:
            self._db.execute(
                "INSERT INTO webhook_deliveries (id, url, body, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (delivery_id, url, body, now, now),
            )
        logger.info("webhook %s queued for %s (%s)", delivery_id, safe_url(url), code)
        self._wake()
        return delivery_id

    def enqueue(self, url: str, payload: dict[str, Any]) -> None:
        """The reference server's webhook_sink."""
        self.add(url, payload)

    def _wake(self) -> None:
        loop, event = self._loop, self._wakeup
        if loop is None or event is None or loop.is_closed():
            return  # not started: the row waits for start()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    # -- reading ---------------------------------------------------------------------------------

    def deliveries(self, status: Status | None = None) -> list[Delivery]:
        query = f"SELECT {_COLUMNS} FROM webhook_deliveries"  # noqa: S608 - constant column list
        params: tuple[str, ...] = ()
        if status is not None:
            query += " WHERE status = ?"
            params = (status,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, id", params).fetchall()
        return [Delivery(*row) for row in rows]

    def get(self, delivery_id: str) -> Delivery | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE id = ?",  # noqa: S608
                (delivery_id,),
            ).fetchone()
        return Delivery(*row) if row else None

    def _due(self, now: float) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM webhook_deliveries "  # noqa: S608
                "WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
                (now, len(self._in_flight) + BATCH),
            ).fetchall()
        return [Delivery(*row) for row in rows if row[0] not in self._in_flight]

    def _next_due_at(self) -> float | None:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, next_attempt_at FROM webhook_deliveries WHERE status = 'pending' "
                "ORDER BY next_attempt_at LIMIT ?",
                (len(self._in_flight) + 1,),
            ).fetchall()
        return next((at for rid, at in rows if rid not in self._in_flight), None)

    # -- delivering ------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(self._timeout),
                transport=self._transport,
                follow_redirects=False,
                headers={"User-Agent": "plaid-refresh-webhooks"},
            )
        return self._http

    async def _attempt(self, delivery: Delivery) -> None:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self._concurrency)
        async with self._semaphore:
            error: str | None
            try:
                response = await self._client().post(
                    delivery.url,
                    content=delivery.body,
                    headers={
                        "Content-Type": "application/json",
                        "Plaid-Verification": self._signer.sign(delivery.body),
                    },
                )
                error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            except httpx.TimeoutException:
                error = f"no answer within {self._timeout:g} s"
            except httpx.ConnectError:
                error = "connection failed (refused or unreachable)"
            except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
                error = f"{type(exc).__name__}"
            except Exception as exc:  # never let one delivery kill the worker
                logger.exception("unexpected error delivering webhook %s", delivery.id)
                error = f"unexpected {type(exc).__name__}"
            self._record(delivery, error)

    def _record(self, delivery: Delivery, error: str | None) -> None:
        now = self._clock()
        attempts = delivery.attempts + 1
        where = safe_url(delivery.url)
        if error is None:
            status, next_at = "delivered", delivery.next_attempt_at
            logger.info("webhook %s delivered to %s (attempt %d)", delivery.id, where, attempts)
        elif attempts >= self.policy.max_attempts:
            status, next_at = "failed", delivery.next_attempt_at
            logger.warning(
                "webhook %s to %s failed for good after %d attempts: %s", delivery.id, where, attempts, error
            )
        else:
            status, next_at = "pending", now + self.policy.delay_after(attempts)
            logger.info(
                "webhook %s to %s: attempt %d failed (%s); next in %.3g s",
                delivery.id,
                where,
                attempts,
                error,
                next_at - now,
            )
        with self._lock:
            self._db.execute(
                "UPDATE webhook_deliveries SET attempts = ?, status = ?, next_attempt_at = ?, "
                "last_error = ?, finished_at = ? WHERE id = ?",
                (attempts, status, next_at, error, None if status == "pending" else now, delivery.id),
            )

    def _launch_due(self) -> list[asyncio.Task[None]]:
        launched = []
        for delivery in self._due(self._clock()):
            task = asyncio.create_task(self._attempt(delivery), name=f"webhook-{delivery.id}")
            self._in_flight[delivery.id] = task
            task.add_done_callback(functools.partial(self._finished, delivery.id))
            launched.append(task)
        return launched

    def _finished(self, delivery_id: str, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(delivery_id, None)
        if self._wakeup is not None:
            self._wakeup.set()

    async def run_due(self) -> int:
        """Attempt every pending delivery that is due now, wait for the attempts, and return how many
        were attempted. The worker does this continuously; tests call it with a controlled clock."""
        launched = self._launch_due()
        if launched:
            await asyncio.gather(*launched, return_exceptions=True)
        if self._worker is None and self._http is not None:
            # Called outside start()/stop(): do not keep a connection pool tied to this event loop.
            await self._http.aclose()
            self._http = None
            self._semaphore = None
        return len(launched)

    async def _run(self) -> None:
        assert self._wakeup is not None
        while not self._stopping:
            self._wakeup.clear()
            try:
                self._launch_due()
                next_at = self._next_due_at()
            except sqlite3.Error:  # e.g. a locked database: keep the worker alive and try again
                logger.exception("webhook outbox: cannot read the outbox; retrying")
                next_at = self._clock() + 1.0
            wait = MAX_POLL_INTERVAL if next_at is None else max(0.0, next_at - self._clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=min(wait, MAX_POLL_INTERVAL))

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the worker on the running loop; pending rows (e.g. from before a restart) resume."""
        if self._worker is not None:
            return
        if self._closed:
            raise RuntimeError("the outbox is closed")
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._semaphore = asyncio.Semaphore(self._concurrency)
        pending = len(self.deliveries("pending"))
        if pending:
            logger.info("webhook outbox: resuming %d pending deliveries", pending)
        self._worker = asyncio.create_task(self._run(), name="webhook-outbox")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the worker. In-flight attempts get `grace` seconds to finish; the rest are cancelled
        and stay pending (their attempt is not counted), to resume at the next start()."""
        self._stopping = True
        worker, self._worker = self._worker, None
        if worker is not None:
            if self._wakeup is not None:
                self._wakeup.set()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        in_flight = list(self._in_flight.values())
        if in_flight:
            _, still = await asyncio.wait(in_flight, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
                logger.info("webhook outbox: %d in-flight deliveries left pending", len(still))
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        self._loop = None
        self._wakeup = None

    def close(self) -> None:
        """Release the database (after stop())."""
        if not self._closed:
            self._closed = True
            with self._lock:
                self._db.close()
