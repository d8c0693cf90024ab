"""The reference server: a raw ASGI 3 application that behaves like Plaid for /transactions/refresh.

Why no framework: on uvicorn with httptools + uvloop a raw ASGI app serves ~52k requests/s on this
machine, the same endpoint under Starlette ~16k/s; the framework, not the checks, is the cost. Two
routes do not need routing, middleware or request objects, so the app talks ASGI directly and keeps
the hot path to: one scan of the headers, one orjson parse, one compiled jsonschema check (built
from the spec at start-up), a dict lookup for the Item, and one orjson dump.

Order of checks (first failure answers): route (404 NOT_FOUND), method (405), Content-Type
(INVALID_HEADERS), Plaid-Version (INCOMPATIBLE_API_VERSION), body size / UTF-8 / JSON / object
(INVALID_BODY), schema (MISSING_FIELDS, UNKNOWN_FIELDS, INVALID_FIELD), credentials
(INVALID_API_KEYS), then the operation itself.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import random
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import attrs
import orjson

from plaid_refresh.redaction import scrub
from plaid_refresh.server.config import ServerConfig
from plaid_refresh.server.errors import error_body
from plaid_refresh.server.items import (
    CAPITAL_ONE,
    TOKEN_PATTERN,
    Item,
    ItemsFileError,
    builtin_items,
    load_items_file,
)
from plaid_refresh.server.ratelimit import SlidingWindowLimiter
from plaid_refresh.server.request_ids import RequestIds
from plaid_refresh.server.simulation import NO_CHANGES, simulate, webhook_payloads
from plaid_refresh.server.store import MemoryStore, open_store
from plaid_refresh.server.validation import Operation, compile_operations
from plaid_refresh.webhooks.delivery import RetryPolicy, WebhookOutbox
from plaid_refresh.webhooks.signing import WebhookSigner

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
WebhookSink = Callable[[str, dict[str, Any]], None]
Sleep = Callable[[float], Awaitable[None]]

access_logger = logging.getLogger("plaid_refresh.server.access")
logger = logging.getLogger("plaid_refresh.server")

_JSON = b"application/json"
_CONTENT_TYPE = (b"content-type", _JSON)
_ALLOW = (b"allow", b"POST")
# Subtypes Plaid asks for when Transactions cannot work on an Item's accounts (PRODUCTS_NOT_SUPPORTED).
_REQUIRED_SUBTYPES = ["checking", "savings"]


class Response:
    """What a handler decided; sent by ReferenceServer.__call__, then logged."""

    __slots__ = ("body", "code", "headers", "item_id", "status", "webhooks")

    def __init__(self, status: int, body: bytes, code: str | None = None) -> None:
        self.status = status
        self.body = body
        self.code = code
        self.headers: tuple[tuple[bytes, bytes], ...] = ()
        self.item_id: str | None = None
        self.webhooks: tuple[str, list[dict[str, Any]]] | None = None


def _error(code: str, request_id: str, message: str | None = None, **extra: Any) -> Response:
    status, body = error_body(code, request_id, message, **extra)
    return Response(status, body, code)


def _is_json(content_type: bytes) -> bool:
    if content_type == _JSON:
        return True
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == _JSON


@attrs.frozen
class _Delayed:
    """A refresh admitted by the rate limiter, to finish after the latency knob's delay."""

    seconds: float
    item: Item


class _Disconnected(Exception):
    """The caller went away before its request was complete: nothing is executed, nothing answered."""


class ReferenceServer:
    """The ASGI application. Build it with `create_app`."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        clock: Callable[[], float],
        sleep: Sleep,
        rng: random.Random,
        webhook_sink: WebhookSink | None,
        signer: WebhookSigner | None,
        items: Iterable[Item],
        webhook_delivery: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._sink = webhook_sink
        self._operations: dict[str, Operation] = compile_operations()
        builtin = builtin_items(config.environment) if config.include_builtin_items else ()
        from_file = load_items_file(config.items_path) if config.items_path is not None else ()
        _check_builtin_ids(builtin, from_file, str(config.items_path))
        self.store: MemoryStore = open_store(config.db_path)
        try:
            # Items kept in --db (e.g. a webhook URL an earlier Items file gave a built-in Item) win over the
            # built-in defaults; this start's Items file and `items` win over both.
            stored = self.store.items
            loaded = [item for item in builtin if item.access_token not in stored]
            self.store.put_items([*loaded, *from_file, *items])
            if signer is None:
                signer = self.store.signer()
            if signer is None:
                signer = WebhookSigner.generate()
                self.store.save_signer(signer)
            self.signer = signer
            self._jwk = signer.public_jwk()
            # Built-in delivery: a durable outbox in the same database, signed with this signer.
            self.outbox: WebhookOutbox | None = None
            if webhook_delivery is not None and self._sink is None:
                self.outbox = WebhookOutbox(signer, path=config.db_path, policy=webhook_delivery)
                self._sink = self.outbox.enqueue
        except BaseException:
            self.store.close()  # releases the database's lock: a fixed configuration can start at once
            raise
        self.limiter = (
            SlidingWindowLimiter(config.item_limit_per_minute, config.client_limit_per_minute, clock)
            if config.rate_limit
            else None
        )
        if self.limiter is not None:  # the only client whose calls are ever counted: the configured one
            self.limiter.prepare((config.client_id,), (item.item_id for item in self.store.items.values()))
        self._client_id = config.client_id.encode()
        self._client_id_text = config.client_id
        self._token_prefix = f"access-{config.environment}-"
        self._secret = config.secret.encode()
        self._credentials = (config.secret, config.client_id)  # never echoed, even as a field name
        self._log_access = config.access_log
        self._max_body = config.max_body_bytes
        # A Content-Length with fewer digits than max_body_bytes is within it (the hot path's test).
        self._length_digits = len(str(config.max_body_bytes))
        self._request_ids = iter(RequestIds())
        self._starts: dict[tuple[int, int], Message] = {}
        self._closed = False

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await self._lifespan(receive, send)
            return  # Other scope types (websocket) are not served: returning closes them.
        # One coroutine for the whole request, and the checks of a valid head and body written out inline
        # (each Python call costs a request ~500 instructions). Anything else is handed to _check_head or
        # _read_rest, which alone decide what is wrong with it.
        log = self._log_access and access_logger.isEnabledFor(logging.INFO)
        started = time.perf_counter() if log else 0.0
        request_id: str = next(self._request_ids)
        try:
            operation = self._operations.get(scope["path"])
            headers: dict[bytes, bytes] = dict(scope["headers"])  # lower-case names; a repeat: the last wins
            version = headers.get(b"plaid-version")
            length = headers.get(b"content-length")
            if (
                operation is None
                or scope["method"] != "POST"
                or headers.get(b"content-type") != _JSON
                or b"upgrade" in headers
                or (version is not None and version not in operation.accepted_versions)
                or (length is not None and len(length) >= self._length_digits)  # maybe over max_body_bytes
            ):
                checked = self._check_head(scope, request_id)
            else:
                checked = operation, headers
            if isinstance(checked, Response):
                response = checked
            else:
                operation, headers = checked
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                raw: bytes | None = message.get("body", b"")
                if message.get("more_body", False) or len(raw) > self._max_body:  # type: ignore[arg-type]
                    raw = await self._read_rest(receive, message)
                if raw is None:
                    limit = self._max_body
                    response = _error(
                        "INVALID_BODY", request_id, f"the body is larger than the {limit}-byte limit"
                    )
                else:
                    outcome = self._run(operation, headers, raw, request_id)
                    if isinstance(outcome, _Delayed):
                        await self._sleep(outcome.seconds)
                        response = self._refresh_after_delay(outcome.item, request_id)
                    else:
                        response = outcome
        except _Disconnected:
            return  # never executed: nothing recorded, queued or counted, and no one to answer
        except Exception as exc:  # the top-level guard: never a bare 500, never a traceback on the wire
            self._log_unexpected(exc, request_id)
            response = _error("INTERNAL_SERVER_ERROR", request_id)
        # Enqueue before answering: once the caller sees 200, its webhooks are already in the (durable)
        # outbox, so a crash between answer and hand-off cannot lose them. Delivery itself is async.
        if response.webhooks is not None:
            self._deliver(*response.webhooks)
        body = response.body
        start = None if response.headers else self._starts.get((response.status, len(body)))
        if start is None:
            head = [_CONTENT_TYPE, (b"content-length", str(len(body)).encode()), *response.headers]
            start = {"type": "http.response.start", "status": response.status, "headers": head}
            if not response.headers and len(self._starts) < 256:  # every 200 has the same length
                self._starts[response.status, len(body)] = start
        await send(start)  # uvicorn reads the message, never changes it: one per (status, length) is reused
        await send({"type": "http.response.body", "body": body})
        if log:
            self._log(scope, request_id, response, started)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.outbox is not None:
                    await self.outbox.start()  # resumes deliveries left pending in the database
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.outbox is not None:
                    await self.outbox.stop()  # unfinished deliveries stay pending for the next start
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def close(self) -> None:
        """Release the database. uvicorn calls this (lifespan shutdown) after in-flight requests finished."""
        if not self._closed:
            self._closed = True
            self.store.close()
            if self.outbox is not None:
                self.outbox.close()

    async def _read_rest(self, receive: Receive, message: Message) -> bytes | None:
        """The whole body, from its first message on; None once it is over max_body_bytes (the rest is not
        read)."""
        limit = self._max_body
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return None if len(body) > limit else body
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def _check_head(self, scope: Scope, request_id: str) -> Response | tuple[Operation, dict[bytes, bytes]]:
        """Route, method and headers: an error Response, or the Operation whose body is to be read and the
        request's headers."""
        operation = self._operations.get(scope["path"])
        if operation is None:
            return _error("NOT_FOUND", request_id)
        if scope["method"] != "POST":
            response = _error("METHOD_NOT_ALLOWED", request_id, f"{operation.path} only accepts POST")
            response.headers = (_ALLOW,)
            return response
        headers = dict(scope["headers"])  # names are lower-case; a repeated header: the last one counts
        content_type = headers.get(b"content-type")
        if content_type is None or not _is_json(content_type):
            return _error("INVALID_HEADERS", request_id)
        if b"upgrade" in headers:
            # Never switched to (WebSocket, h2c); llhttp leaves the body unread: refuse, the protocol closes.
            return _error("INVALID_HEADERS", request_id, "protocol upgrades are not supported: use HTTP/1.1")
        version = headers.get(b"plaid-version")
        if version is not None and not operation.check_version(version.decode("latin-1")):
            return _error("INCOMPATIBLE_API_VERSION", request_id)
        content_length = headers.get(b"content-length")
        limit = self.config.max_body_bytes
        if content_length is not None and content_length.isdigit() and int(content_length) > limit:
            return _error("INVALID_BODY", request_id, f"the body is larger than the {limit}-byte limit")
        return operation, headers

    def _run(
        self, operation: Operation, headers: dict[bytes, bytes], raw: bytes, request_id: str
    ) -> Response | _Delayed:
        """Body, schema, credentials, then the operation."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return _error("INVALID_BODY", request_id, "the body is not valid UTF-8")
            return _error("INVALID_BODY", request_id)
        if type(data) is not dict:
            return _error("INVALID_BODY", request_id, "the body must be a JSON object")
        fast = operation.fast_check
        if fast is None or not fast(data):  # the compiled fast path answers "valid" without a call more
            problem = operation.check_body(data, self._credentials)
            if problem is not None:
                return _error(problem.code, request_id, problem.message)
        # Credentials: a body field wins over its header, as at Plaid.
        client_id = (
            data["client_id"].encode("utf-8", "surrogatepass")
            if "client_id" in data
            else headers.get(b"plaid-client-id")
        )
        secret = (
            data["secret"].encode("utf-8", "surrogatepass")
            if "secret" in data
            else headers.get(b"plaid-secret")
        )
        if (
            client_id is None
            or secret is None
            or not hmac.compare_digest(client_id, self._client_id)
            or not hmac.compare_digest(secret, self._secret)
        ):
            return _error("INVALID_API_KEYS", request_id)
        if operation.operation_id == "transactionsRefresh":
            return self._refresh(data, request_id)
        return self._verification_key(data, request_id)

    # -- operations ---------------------------------------------------------------------------------

    def _verification_key(self, data: dict[str, Any], request_id: str) -> Response:
        if data["key_id"] != self.signer.key_id:
            return _error("INVALID_WEBHOOK_VERIFICATION_KEY_ID", request_id)
        return Response(200, orjson.dumps({"key": self._jwk, "request_id": request_id}))

    def _refresh(self, data: dict[str, Any], request_id: str) -> Response | _Delayed:
        token: str = data["access_token"]
        item = self.store.items.get(token)
        if item is None:  # which of the three reasons, only on this (error) path
            match = TOKEN_PATTERN.match(token)
            if match is None:
                return _error("INVALID_ACCESS_TOKEN", request_id)
            if match.group(1) != self.config.environment:
                return _error(
                    "INVALID_ACCESS_TOKEN",
                    request_id,
                    f"provided access token is not for the {self.config.environment} environment",
                )
            return _error("INVALID_ACCESS_TOKEN", request_id, "provided access token does not match any item")
        if not token.startswith(self._token_prefix):  # an Item of another environment (Items file)
            return _error(
                "INVALID_ACCESS_TOKEN",
                request_id,
                f"provided access token is not for the {self.config.environment} environment",
            )
        if self.limiter is not None and not self.limiter.allow(self._client_id_text, item.item_id):
            response = _error("TRANSACTIONS_REFRESH_LIMIT", request_id)
            response.item_id = item.item_id
            return response
        knobs = item.knobs
        config = self.config
        latency = config.latency if knobs.latency is None else knobs.latency
        if latency > 0:
            randomised = config.latency_random if knobs.latency_random is None else knobs.latency_random
            return _Delayed(self._rng.uniform(0.0, latency) if randomised else latency, item)
        response = self._refresh_item(item, request_id)
        response.item_id = item.item_id
        return response

    def _refresh_after_delay(self, item: Item, request_id: str) -> Response:
        response = self._refresh_item(item, request_id)
        response.item_id = item.item_id
        return response

    def _refresh_item(self, item: Item, request_id: str) -> Response:
        config = self.config
        knobs = item.knobs
        error_rate = config.error_rate if knobs.error_rate is None else knobs.error_rate
        if error_rate > 0 and self._rng.random() < error_rate:
            return _error("INTERNAL_SERVER_ERROR", request_id)
        maintenance_rate = (
            config.maintenance_rate if knobs.maintenance_rate is None else knobs.maintenance_rate
        )
        if maintenance_rate > 0 and self._rng.random() < maintenance_rate:
            return _error("PLANNED_MAINTENANCE", request_id)
        if item.error is not None:
            return _error(item.error, request_id)
        if "transactions" not in item.products:
            return _error("PRODUCT_NOT_ENABLED", request_id)
        if item.institution_id == CAPITAL_ONE and all(a.type != "depository" for a in item.accounts):
            return _error(
                "PRODUCTS_NOT_SUPPORTED",
                request_id,
                required_account_subtypes=_REQUIRED_SUBTYPES,
                provided_account_subtypes=sorted({a.subtype for a in item.accounts}),
            )
        # No await from here to the record: the sequence number and the record are atomic on the loop.
        seq = self.store.next_seq(item.item_id)
        # A static Item never finds changes (simulate's first rule), asked without a call.
        changes = NO_CHANGES if item.changes == "static" else simulate(item, seq)
        self.store.record_row(
            (request_id, item.item_id, time.time(), seq, changes.added, changes.modified, changes.removed)
        )
        # request_ids are alphanumeric: the JSON needs no escaping.
        response = Response(200, b'{"request_id":"' + request_id.encode() + b'"}')
        if item.webhook and self._sink is not None and changes.any:
            response.webhooks = (item.webhook, webhook_payloads(item, changes, config.environment))
        return response

    # -- webhook hand-off ----------------------------------------------------------------------------

    def _deliver(self, url: str, payloads: list[dict[str, Any]]) -> None:
        """Hand each webhook to the sink, just before the response is sent. The sink runs on the event loop,
        so it must be quick (e.g. append to an outbox); a failing sink is logged, never raised."""
        assert self._sink is not None
        for payload in payloads:
            try:
                self._sink(url, payload)
            except Exception as exc:
                self._log_unexpected(exc, None, what="webhook sink failed")

    def _log(self, scope: Scope, request_id: str, response: Response, started: float) -> None:
        client = scope.get("client")
        # Only the path is taken from the request; it is scrubbed of the configured credentials in case
        # a caller put them there. Headers and bodies (tokens, secrets) are never logged.
        path = scope["path"]
        if len(path) > 256:
            path = path[:256] + "..."
        access_logger.info(
            orjson.dumps(
                {
                    "event": "request",
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scrub(path, (self.config.secret, self.config.client_id)),
                    "status": response.status,
                    "error_code": response.code,
                    "item_id": response.item_id,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "client": client[0] if client else None,
                }
            ).decode()
        )

    def _log_unexpected(
        self, exc: BaseException, request_id: str | None, what: str = "unhandled error"
    ) -> None:
        text = "".join(traceback.format_exception(exc))
        text = scrub(text, (self.config.secret, self.config.client_id, *self.store.items))
        logger.error(orjson.dumps({"event": what, "request_id": request_id, "traceback": text}).decode())


def _check_builtin_ids(builtin: Iterable[Item], from_file: Iterable[Item], source: str) -> None:
    """An Items-file entry may redefine a built-in token, but not take a built-in Item's id under another
    token: two tokens would then share one Item's history and rate limit, and the store would drop one."""
    owners = {item.item_id: item.access_token for item in builtin}
    for index, item in enumerate(from_file):
        owner = owners.get(item.item_id)
        if owner is not None and owner != item.access_token:
            raise ItemsFileError(
                f"{source}: items[{index}]: item_id {item.item_id!r} belongs to the built-in Item {owner}; "
                "choose another item_id (or use that access_token to redefine the built-in Item)"
            )


def create_app(
    config: ServerConfig | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    rng: random.Random | None = None,
    webhook_sink: WebhookSink | None = None,
    signer: WebhookSigner | None = None,
    items: Iterable[Item] = (),
    webhook_delivery: RetryPolicy | None = None,
) -> ReferenceServer:
    """Build the reference server's ASGI app.

    - `clock`: the rate limiter's clock (seconds, monotonic); inject one to test limits without sleeping.
    - `sleep`: awaited for added latency; inject one to observe the configured delays.
    - `rng`: the fault and random-latency generator; default seeded from `config.seed`.
    - `webhook_sink(url, payload)`: called before the response is sent for each webhook a refresh fires
      (only for Items with a `webhook` URL whose refresh found changes).
    - `signer`: the webhook signing key served by /webhook_verification_key/get; default: the key
      stored in `config.db_path`, else a new one (stored there when a database is used).
    - `items`: extra Items, added after the built-in ones and the Items file.
    - `webhook_delivery`: deliver webhooks with this retry policy through a `WebhookOutbox` (signed
      with `signer`, persisted in `config.db_path`, started/stopped by the ASGI lifespan); ignored
      when `webhook_sink` is given. Default: no delivery.

    Raises ItemsFileError / StoreError (clear messages) for a bad Items file or database."""
    config = config or ServerConfig()
    return ReferenceServer(
        config,
        clock=clock,
        sleep=sleep,
        rng=rng if rng is not None else random.Random(config.seed),  # noqa: S311 - simulation, not crypto
        webhook_sink=webhook_sink,
        signer=signer,
        items=items,
        webhook_delivery=webhook_delivery,
    )
