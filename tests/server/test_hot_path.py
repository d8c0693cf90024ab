"""What a loaded `plaid-refresh serve` pays per request beyond the work itself (docs/bench.md, issue 13):
no cyclic garbage, one write per response, and no per-request state the garbage collector must walk.

Requests are fed to the served protocol (`serving.uvicorn_config`) in process, through a transport that
records what is written: no sockets, so the counts are exact.
"""

from __future__ import annotations

import asyncio
import gc
from collections import deque
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import uvloop
from uvicorn.server import ServerState

from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_HEALTHY, ServerConfig, create_app
from plaid_refresh.server.app import ReferenceServer
from plaid_refresh.server.serving import uvicorn_config


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def request(method: str = "POST", extra: bytes = b"") -> bytes:
    body = orjson.dumps({"access_token": TOKEN_HEALTHY}) if method == "POST" else b""
    head = (
        f"{method} /transactions/refresh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"PLAID-CLIENT-ID: {DEFAULT_CLIENT_ID}\r\nPLAID-SECRET: {DEFAULT_SECRET}\r\n"
        f"Plaid-Version: 2020-09-14\r\nContent-Length: {len(body)}\r\n"
    )
    return head.encode() + extra + b"\r\n" + body


class Served:
    """One connection of the served protocol, on its own event loop."""

    def __init__(self, app: ReferenceServer) -> None:
        self.loop = uvloop.new_event_loop()
        config = uvicorn_config(app, host="127.0.0.1", port=8000, lifespan="off", log_level="warning")
        config.load()
        self.state = ServerState()
        self.transport = RecordingTransport()
        self.protocol = config.http_protocol_class(  # type: ignore[call-arg]
            config=config, server_state=self.state, app_state={}, _loop=self.loop
        )
        self.protocol.connection_made(self.transport)

    def feed(self, data: bytes) -> None:
        async def run() -> None:
            self.protocol.data_received(data)
            while self.state.tasks:
                await asyncio.sleep(0)

        self.loop.run_until_complete(run())

    def close(self) -> None:
        self.protocol.connection_lost(None)
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


@pytest.fixture
def served() -> Iterator[Served]:
    connection = Served(create_app(ServerConfig(access_log=False, item_limit_per_minute=1000)))
    yield connection
    connection.close()


def test_a_response_leaves_in_one_write(served: Served) -> None:
    """uvicorn writes head and body apart: two send() calls and TCP segments per answer."""
    for _ in range(3):
        served.transport.writes.clear()
        served.feed(request())
        assert len(served.transport.writes) == 1
        head, _, body = served.transport.writes[0].partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert orjson.loads(body)["request_id"]


def test_a_head_request_is_answered_head_only(served: Served) -> None:
    served.feed(request("HEAD"))
    assert b"".join(served.transport.writes).startswith(b"HTTP/1.1 405 ")
    assert b"".join(served.transport.writes).endswith(b"\r\n\r\n")


def test_100_continue_is_written_before_the_answer(served: Served) -> None:
    served.feed(request(extra=b"Expect: 100-continue\r\n"))
    assert served.transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert served.transport.writes[1].startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(served.transport.writes) == 2


def test_requests_leave_no_cyclic_garbage(served: Served) -> None:
    """Each request's objects are freed by reference counting: a cycle (one crept in with the one-write
    transport) left every request to the collector, ~10 objects each."""
    served.feed(request())  # warm: caches filled on the first answer
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(20):
            served.feed(request())
        gc.collect()
        garbage = list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert garbage == []


def test_refreshes_write_only_to_state_made_at_start_up() -> None:
    """serving.serve() freezes what start-up built, out of the collector's reach. The histories and rate
    windows used to be made by each Item's first refresh, after that: every full collection then walked each
    of their elements, every refresh of the last minute and every record (~4 µs per request under load)."""
    app = create_app(ServerConfig(access_log=False, item_limit_per_minute=1000))
    connection = Served(app)
    gc.collect()
    gc.freeze()
    try:
        for _ in range(3):
            connection.feed(request())
        assert len(app.store.history()) == 3
        tracked = {id(o) for o in gc.get_objects() if type(o) is deque}
    finally:
        gc.unfreeze()
        connection.close()
    assert app.limiter is not None
    windows = [*app.limiter._items.values(), *app.limiter._clients.values()]
    histories = list(app.store._history.values())
    assert windows
    assert histories
    assert not [d for d in [*windows, *histories] if id(d) in tracked]
