"""uvicorn's httptools protocol with the reference server's connection limits and Plaid-shaped refusals.

What it changes, and only that (parsing and every request the app sees stay uvicorn's own code):
- Bytes that are not valid HTTP (uvicorn would answer a text/plain 400 before any app runs) get a complete
  Plaid error: 400 INVALID_REQUEST / INVALID_BODY, with a fresh request_id and `Connection: close`.
- A request head (request line + headers) over `ConnectionLimits.max_header_bytes` gets 400 INVALID_HEADERS
  and the connection closes; httptools itself has no limit (a 64 MB header line stalled the loop for seconds).
- `Upgrade` (WebSocket, h2c) is never honoured: the request is served by the app as plain HTTP/1.1 and the
  connection closes after the answer. No WebSocket library is ever handed the request (and its headers).
- A head must arrive within `header_timeout`, a body within `body_timeout` of its head, and a kept-alive
  connection may idle `idle_timeout`; a connection out of time is closed (its request never executed).
  Deadlines are checked by one sweep per server (a few times a second), not a timer per request.
- Over `max_connections` open connections, a new one is answered 503 PLANNED_MAINTENANCE and closed.
- A refused connection is closed gracefully ("lingering close", as nginx does): the answer is written, our
  side shut down, and what the peer still sends is read and dropped for up to `LINGER_SECONDS` and
  `LINGER_MAX_BYTES`. Closing with unread bytes makes the kernel answer RST, which fails the peer's next
  write and can destroy the answer before the peer has read it.

Serve with `plaid_refresh.server.serving` (it builds uvicorn's Config with these), or
`uvicorn.run(app, http=protocol_with_limits(ConnectionLimits()), ws="none", loop="uvloop", ...)`.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, ClassVar

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from plaid_refresh.server.config import ConnectionLimits
from plaid_refresh.server.errors import error_body
from plaid_refresh.server.request_ids import RequestIds

INVALID_HTTP_CODE = "INVALID_BODY"
INVALID_HTTP_MESSAGE = "the request could not be parsed as HTTP/1.1"

# Bounds of a lingering close: long enough for a client that sends its whole request before reading (httpx,
# requests) to finish a few MB on loopback or a LAN, short and small enough to cost a hostile peer's worth.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 4 * 1024 * 1024

_REQUEST_IDS = RequestIds()
# `url` from a request's end until the next one begins (uvicorn's on_message_begin resets it): a distinct
# object, so `is` tells whether a new head began within a read.
_ENDED = bytes(8)
# One deadline sweep per running server (uvicorn's ServerState), while it has connections.
_SWEEPS: weakref.WeakKeyDictionary[ServerState, asyncio.TimerHandle] = weakref.WeakKeyDictionary()


def plaid_error_response(
    default_headers: list[tuple[bytes, bytes]],
    code: str = INVALID_HTTP_CODE,
    message: str = INVALID_HTTP_MESSAGE,
) -> bytes:
    """A whole HTTP/1.1 response (status line, headers, body) carrying the Plaid error `code`, closing."""
    request_id = _REQUEST_IDS.next_id()
    status, body = error_body(code, request_id, message)
    head = [STATUS_LINE[status]]
    for name, value in default_headers:
        head += [name, b": ", value, b"\r\n"]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: ",
        str(len(body)).encode("ascii"),
        b"\r\n",
        b"connection: close\r\n",
        b"\r\n",
    ]
    return b"".join(head) + body


def invalid_http_response(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """The whole HTTP/1.1 response for a request that is not valid HTTP."""
    return plaid_error_response(default_headers)


class _HeadRefused(Exception):
    """Raised in a parser callback to stop parsing a request already answered (httptools re-raises it as
    HttpParserCallbackError, which data_received expects)."""


class PlaidHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with connection limits and Plaid-shaped refusals (see the module doc)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    _refusals_lingering: ClassVar[int] = 0  # connections over the cap, answered and lingering now

    # Slots: uvicorn's own 28 attributes nearly fill CPython 3.11's shared-key instance dict (30 keys); ours
    # as slots keep it within, and are the quickest attributes to read.
    __slots__ = (
        "_body_timeout",
        "_closing_for_good",
        "_counted_refusal",
        "_deadline",
        "_dropped_bytes",
        "_head_bytes",
        "_header_timeout",
        "_lingering",
        "_max_head",
        "_reading_head",
        "_uncounted_head",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limits = self.limits
        self.timeout_keep_alive = limits.idle_timeout  # type: ignore[assignment]  # uvicorn types it int
        self._max_head = limits.max_header_bytes
        self._header_timeout = limits.header_timeout
        self._body_timeout = limits.body_timeout
        self._deadline: float | None = None  # when reading the current request must be done
        self._head_bytes = 0
        self._reading_head = True
        self._closing_for_good = False  # refused, over a limit or upgraded: no more bytes are parsed
        self._lingering = False  # answered and shut down for writing: bytes received are dropped
        self._dropped_bytes = 0
        self._counted_refusal = False
        self._uncounted_head = False  # a head that began within a read after an earlier request
        self.url = _ENDED

    # -- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            self.transport = transport
            self._closing_for_good = True
            message = f"the server is at its limit of {self.limits.max_connections} connections; retry later"
            transport.write(
                plaid_error_response(self.server_state.default_headers, "PLANNED_MAINTENANCE", message)
            )
            # Not counted in `connections`, so the sweep never sees it: its own timer ends the linger. At most
            # `max_connections` linger at once, so a flood cannot hold more sockets than twice the cap.
            cls = type(self)
            if cls._refusals_lingering >= self.limits.max_connections:
                transport.close()
            elif self._start_lingering():
                cls._refusals_lingering += 1
                self._counted_refusal = True
                self.loop.call_later(LINGER_SECONDS, transport.close)
            return
        super().connection_made(transport)
        self._deadline = self.loop.time() + self.limits.header_timeout
        if self.server_state not in _SWEEPS:
            self._schedule_sweep()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted_refusal:
            self._counted_refusal = False
            type(self)._refusals_lingering -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._closing_for_good:
            if self._lingering:
                self._dropped_bytes += len(data)
                if self._dropped_bytes > LINGER_MAX_BYTES:
                    self.transport.close()
            return
        keep_alive_task = self.timeout_keep_alive_task  # uvicorn's _unset_keepalive_if_required, inline
        if keep_alive_task is not None:
            keep_alive_task.cancel()
            self.timeout_keep_alive_task = None
        if self._reading_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._refuse_upgrade()
            return
        except httptools.HttpParserError:
            if not self._closing_for_good:  # else a callback below refused the request and answered
                self.logger.warning("Invalid HTTP request received.")
                self.send_400_response("Invalid HTTP request received.")
            return
        # Deadlines are set here, for a request this read left incomplete (its head or body started within
        # this read, to within the parse): a request that came whole never reads the clock.
        if self._reading_head:
            if self._head_bytes:  # a head partly read
                # Checked after each read, so at most one read (<= 256 KiB) past the limit is ever parsed.
                if self._head_bytes > self._max_head:
                    self._refuse_head()
                elif self._deadline is None:
                    self._deadline = self.loop.time() + self._header_timeout
            elif self.url is not _ENDED:
                # A head begun within this read, after an earlier request's end: its bytes were not
                # counted (only reads that begin in a head are), so on_headers_complete measures it.
                self._uncounted_head = True
                if self._deadline is None:
                    self._deadline = self.loop.time() + self._header_timeout
        elif self._deadline is None:  # a body partly read
            self._deadline = self.loop.time() + self._body_timeout

    def _refuse_head(self) -> None:
        limit = self.limits.max_header_bytes
        message = f"the request line and headers are larger than the {limit}-byte limit"
        self._close_with(plaid_error_response(self.server_state.default_headers, "INVALID_HEADERS", message))

    def send_400_response(self, msg: str) -> None:
        # uvicorn 0.54.0 calls this only on httptools.HttpParserError (not HTTP at all); answer a Plaid error.
        self._close_with(invalid_http_response(self.server_state.default_headers))

    def _close_with(self, response: bytes) -> None:
        self._closing_for_good = True
        self._deadline = None
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # An earlier request still being served: after write_eof its answer could not be written (a
            # RuntimeError). As when a refusal closed the connection at once: its caller is gone.
            cycle.disconnected = True
            cycle.message_event.set()
        if not self.transport.is_closing():
            self.transport.write(response)
            if self._start_lingering():
                self._deadline = self.loop.time() + LINGER_SECONDS  # the sweep closes it then
            else:
                self.transport.close()

    def _start_lingering(self) -> bool:
        """Shut down our side once the answer is flushed and keep reading (to drop) until the peer closes
        (eof_received closes the transport), `LINGER_MAX_BYTES` arrived or `LINGER_SECONDS` passed."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return False
        self.transport.write_eof()
        self._lingering = True
        return True

    def _refuse_upgrade(self) -> None:
        """Serve the request as plain HTTP/1.1 (the app answers it), then close: never switch protocols."""
        self._closing_for_good = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False
        elif not self.transport.is_closing():
            self.transport.close()

    def _should_upgrade_to_ws(self) -> bool:
        return False

    # -- parser callbacks (per request) ---------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._reading_head = False
        limit = self._max_head
        head_bytes = self._head_bytes
        # Not counted (0: it came whole within a read that began in an earlier request): measured.
        if (head_bytes > limit or not head_bytes or self._uncounted_head) and self._head_size() > limit:
            # The whole head came in one read (with or without its body): refuse it before the app runs.
            self._refuse_head()
            raise _HeadRefused
        self._head_bytes = 0
        self._uncounted_head = False
        self._deadline = None  # data_received sets the body's, if this read leaves it incomplete
        HttpToolsProtocol.on_headers_complete(self)  # not super(): one object less per request
        if self.scope["method"] != "HEAD":  # uvicorn writes no body for HEAD: nothing to join the head with
            self.cycle.transport = _OneWriteResponses(self.transport)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._reading_head = True
        self._deadline = None
        self.url = _ENDED
        # uvicorn's on_message_complete, inline (uvicorn 0.54); its upgrade test is always false here, since
        # this protocol never upgrades (_should_upgrade_to_ws).
        cycle = self.cycle
        if not cycle.response_complete:
            cycle.more_body = False
            cycle.message_event.set()

    def _head_size(self) -> int:
        """The request line and headers as received (to within a few bytes of separators)."""
        return len(self.url) + 16 + sum(len(name) + len(value) + 4 for name, value in self.headers)

    # -- deadlines ------------------------------------------------------------------------------------

    def _schedule_sweep(self) -> None:
        limits = self.limits
        interval = min(1.0, max(0.02, min(limits.header_timeout, limits.body_timeout) / 4))
        _SWEEPS[self.server_state] = self.loop.call_later(
            interval, _sweep, self.server_state, self.loop, interval
        )

    def _out_of_time(self) -> None:
        self._closing_for_good = True
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()  # connection_lost tells a waiting app http.disconnect: it executes nothing


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"  # what uvicorn writes before a response, if asked to


class _OneWriteResponses:
    """The transport as one request's RequestResponseCycle sees it. uvicorn writes a response's head on
    http.response.start and its body on http.response.body: two send() calls, two TCP segments, and on
    loopback two rounds of kernel work. The head is held here and written with the first body write, so a
    response the app sends at once (the reference server always does) leaves in one write. A head with no
    body write after it is written when the cycle closes the connection. (No reference to the cycle: a
    cycle <-> transport loop would leave every request to the garbage collector.)"""

    __slots__ = ("_head", "_passing", "_transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._head: bytes | None = None
        self._passing = False

    def write(self, data: bytes) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._passing = True
            self._transport.write(head + data)
        elif self._passing or data == _CONTINUE:
            self._transport.write(data)
        else:  # the first write that is not a 100 Continue: the response head
            self._head = data

    def close(self) -> None:
        head = self._head
        if head is not None:
            self._head = None
            self._passing = True
            self._transport.write(head)
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # anything else a cycle might ask of its transport
        return getattr(self._transport, name)


def _sweep(state: ServerState, loop: asyncio.AbstractEventLoop, interval: float) -> None:
    now = loop.time()
    watched = False
    for connection in list(state.connections):
        if isinstance(connection, PlaidHttpToolsProtocol):
            watched = True
            deadline = connection._deadline
            if deadline is not None and now >= deadline:
                connection._out_of_time()
    if watched:
        _SWEEPS[state] = loop.call_later(interval, _sweep, state, loop, interval)
    else:
        _SWEEPS.pop(state, None)


def protocol_with_limits(limits: ConnectionLimits) -> type[PlaidHttpToolsProtocol]:
    """A PlaidHttpToolsProtocol class enforcing `limits` (uvicorn takes a protocol class, not an instance)."""
    return type("PlaidHttpToolsProtocol", (PlaidHttpToolsProtocol,), {"limits": limits})
