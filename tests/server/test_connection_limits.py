"""Connection limits of `plaid-refresh serve`'s protocol, on real sockets: head size, header/body/idle
timeouts, the connection cap, and Upgrade requests (WebSocket, h2c) never switching protocols."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator

import orjson
import pytest

from plaid_refresh.server import DEFAULT_SECRET, TOKEN_HEALTHY, ServerConfig, create_app
from plaid_refresh.server.config import ConnectionLimits
from plaid_refresh.server.testing import running_server
from tests.server.conftest import PLAID_ERROR, PLAID_ERROR_FIELDS
from tests.server.raw_http import closed_within, connect, read_answer, request_bytes

# Short timeouts so each test takes about a second; the sweep checks deadlines every 1/4 of the shortest.
SHORT = ConnectionLimits(header_timeout=0.4, body_timeout=0.4, idle_timeout=0.4, max_connections=8)
VALID = orjson.dumps({"access_token": TOKEN_HEALTHY})


@pytest.fixture(scope="module")
def short_url() -> Iterator[str]:
    app = create_app(ServerConfig(rate_limit=False, access_log=False))
    with running_server(app, limits=SHORT) as url:
        yield url


@pytest.fixture(scope="module")
def default_url() -> Iterator[str]:
    with running_server(create_app(ServerConfig(rate_limit=False, access_log=False))) as url:
        yield url


def _assert_plaid(answer_body: bytes, code: str) -> dict[str, object]:
    error: dict[str, object] = orjson.loads(answer_body)
    PLAID_ERROR.validate(error)
    assert set(error) >= PLAID_ERROR_FIELDS
    assert error["error_code"] == code, error
    return error


def test_a_valid_request_with_an_oversized_header_is_refused_quickly(default_url: str) -> None:
    """httptools has no head limit: a 100 KB header reached the app (a 64 MB one stalled the loop)."""
    with connect(default_url) as sock:
        started = time.monotonic()
        sock.sendall(request_bytes(VALID, extra=[("X-Padding", "a" * 100_000)]))
        answer = read_answer(sock)
        assert time.monotonic() - started < 2
    assert answer.status == 400
    assert answer.headers["connection"] == "close"
    error = _assert_plaid(answer.body, "INVALID_HEADERS")
    assert "16384-byte limit" in str(error["error_message"])


def test_a_64_mb_header_line_costs_little(default_url: str) -> None:
    """The server answers after at most one read past the limit and closes; it never buffers the line."""
    with connect(default_url) as sock:
        sock.sendall(b"POST /transactions/refresh HTTP/1.1\r\nX-Big: ")
        sent = 0
        chunk = b"a" * 65536
        with contextlib.suppress(ConnectionError, TimeoutError):
            while sent < 64 * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
        assert sent < 64 * 1024 * 1024, "the server kept reading a 64 MB header line"
        _assert_plaid(read_answer(sock).body, "INVALID_HEADERS")


def test_a_client_still_sending_when_refused_reads_the_answer_without_a_reset(default_url: str) -> None:
    """A head over the limit is answered before the client has sent all of it. Closing a socket with
    unread bytes makes the kernel send RST, and the client's next write failed (EPIPE in CI) before it
    read the answer. The server closes its side and drops what still arrives, for a bounded time."""
    with connect(default_url) as sock:
        sock.sendall(b"POST /transactions/refresh HTTP/1.1\r\nX-Big: " + b"a" * 20_000)
        answer = read_answer(sock)  # answered before the head is whole
        time.sleep(0.2)  # the server has acted on its refusal by now
        for _ in range(16):  # 1 MiB more, a chunk at a time: a reset would fail one of these writes
            sock.sendall(b"a" * 65536)
            time.sleep(0.005)
        assert closed_within(sock, 5.0) is not None
    _assert_plaid(answer.body, "INVALID_HEADERS")


def test_a_refused_connection_is_not_kept_open_by_a_client_that_never_stops(default_url: str) -> None:
    """Dropping the rest of a refused request is bounded: in time, and in bytes."""
    with connect(default_url) as sock:
        sock.sendall(b"POST /transactions/refresh HTTP/1.1\r\nX-Big: " + b"a" * 20_000)
        read_answer(sock)
        started = time.monotonic()
        sent = 0
        with contextlib.suppress(ConnectionError, TimeoutError):
            while sent < 256 * 1024 * 1024 and time.monotonic() - started < 10:
                sock.sendall(b"a" * 65536)
                sent += 65536
        assert time.monotonic() - started < 5, "the server kept a refused connection open"
        assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes of a refused request"


def test_headers_at_the_limit_are_served(default_url: str) -> None:
    with connect(default_url) as sock:
        sock.sendall(request_bytes(VALID, extra=[("X-Padding", "a" * 15_000)]))
        assert read_answer(sock).status == 200


def test_a_silent_connection_is_closed_after_the_header_timeout(short_url: str) -> None:
    with connect(short_url) as sock:
        waited = closed_within(sock, 3.0)
    assert waited is not None, "a connection that sent nothing was still open after 3 s"
    assert 0.3 < waited < 1.5


def test_a_header_drip_is_closed_after_the_header_timeout(short_url: str) -> None:
    data = request_bytes(VALID)
    with connect(short_url) as sock:
        started = time.monotonic()
        with contextlib.suppress(ConnectionError):
            for byte in data[:-10]:
                sock.sendall(bytes([byte]))
                time.sleep(0.05)
                if time.monotonic() - started > 3:
                    break
        waited = closed_within(sock, 3.0)
    assert waited is not None, "a header drip kept its connection for more than 3 s"
    assert time.monotonic() - started < 2.5


def test_a_body_that_never_completes_is_closed_after_the_body_timeout(short_url: str) -> None:
    with connect(short_url) as sock:
        sock.sendall(request_bytes(VALID[:-3], content_length=len(VALID)))
        waited = closed_within(sock, 3.0)
    assert waited is not None, "a stalled body kept its connection for more than 3 s"
    assert waited < 1.5


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(short_url: str) -> None:
    with connect(short_url) as sock:
        sock.sendall(request_bytes(VALID))
        assert read_answer(sock).status == 200
        waited = closed_within(sock, 3.0)
    assert waited is not None
    assert 0.3 < waited < 1.5


def test_a_slow_app_is_not_cut_off_by_the_read_timeouts(short_url: str) -> None:
    """The deadlines cover reading a request, not the app's work: a request answered after the timeouts
    (here: two requests back to back on one connection, each well within them) is fine."""
    with connect(short_url) as sock:
        for _ in range(2):
            sock.sendall(request_bytes(VALID))
            assert read_answer(sock).status == 200
            time.sleep(0.2)


def test_connections_over_the_cap_get_a_plaid_503_and_are_closed() -> None:
    limits = ConnectionLimits(max_connections=4)
    with running_server(create_app(ServerConfig(rate_limit=False, access_log=False)), limits=limits) as url:
        held = [connect(url) for _ in range(4)]
        try:
            time.sleep(0.2)  # let the server accept them all
            with connect(url) as extra:
                answer = read_answer(extra)
                assert closed_within(extra, 2.0) is not None
            assert answer.status == 503
            _assert_plaid(answer.body, "PLANNED_MAINTENANCE")
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        with connect(url) as sock:  # room again once they are gone
            sock.sendall(request_bytes(VALID))
            assert read_answer(sock).status == 200


def test_connections_over_the_cap_linger_only_up_to_the_cap() -> None:
    """Each refused connection over the cap lingers (so its 503 is read, not reset), but a flood of them
    does not hold more than `max_connections` more sockets open: the rest are closed at once."""
    limits = ConnectionLimits(max_connections=2)
    with running_server(create_app(ServerConfig(rate_limit=False, access_log=False)), limits=limits) as url:
        held = [connect(url) for _ in range(2)]
        time.sleep(0.2)
        open_fds = len(os.listdir("/proc/self/fd"))  # the server runs in this process
        flood = [connect(url) for _ in range(40)]
        try:
            for sock in flood:
                assert read_answer(sock).status == 503
            time.sleep(0.2)
            server_side = len(os.listdir("/proc/self/fd")) - open_fds - len(flood)
            assert server_side <= limits.max_connections, server_side
        finally:
            for sock in held + flood:
                sock.close()


WEBSOCKET = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]
H2C = [
    ("Upgrade", "h2c"),
    ("Connection", "Upgrade, HTTP2-Settings"),
    ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA"),
]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_websocket_upgrade_is_answered_by_the_app(
    default_url: str, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No WebSocket handshake, no text/plain 500: the app answers with a Plaid error (405, or INVALID_HEADERS:
    llhttp does not read the body of an Upgrade request), the connection closes, and at DEBUG level nothing
    logs the headers (the websockets library logged PLAID-SECRET)."""
    caplog.set_level(logging.DEBUG)
    with connect(default_url) as sock:
        sock.sendall(request_bytes(VALID, method=method, extra=WEBSOCKET))
        answer = read_answer(sock)
        assert closed_within(sock, 2.0) is not None
    assert answer.headers["content-type"] == "application/json"
    if method == "GET":
        assert answer.status == 405
        _assert_plaid(answer.body, "METHOD_NOT_ALLOWED")
    else:
        assert answer.status == 400
        _assert_plaid(answer.body, "INVALID_HEADERS")
    assert all(DEFAULT_SECRET not in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("body", [VALID, b"{not json"])
def test_an_h2c_upgrade_gets_a_plaid_4xx_and_never_switches(default_url: str, body: bytes) -> None:
    with connect(default_url) as sock:
        sock.sendall(request_bytes(body, extra=H2C))
        answer = read_answer(sock)
        assert closed_within(sock, 2.0) is not None  # never switches to HTTP/2
    assert answer.status == 400, answer.body
    assert answer.headers["connection"] == "close"
    _assert_plaid(answer.body, "INVALID_HEADERS")


def test_the_connection_serves_again_after_an_upgrade_was_refused(default_url: str) -> None:
    with connect(default_url) as sock:
        sock.sendall(request_bytes(VALID))
        assert read_answer(sock).status == 200


def test_limits_are_validated() -> None:
    for bad in ({"header_timeout": float("nan")}, {"idle_timeout": 0}, {"max_connections": 0}):
        with pytest.raises(ValueError, match="must be"):
            ConnectionLimits(**bad)


def test_socket_helper_sees_a_close() -> None:
    """closed_within can tell open from closed (so the timeout tests can fail)."""
    server = socket.create_server(("127.0.0.1", 0))
    with server, socket.create_connection(server.getsockname()) as sock:
        peer, _ = server.accept()
        assert closed_within(sock, 0.3) is None
        peer.close()
        assert closed_within(sock, 1.0) is not None


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.parametrize(
    "refused",
    [b"GARBAGE\x00\r\n\r\n", b"POST / HTTP/1.1\r\nX-Padding: " + b"a" * 20_000],
    ids=["not-HTTP", "oversized-head"],
)
def test_a_refusal_while_a_request_is_in_flight_raises_nothing(refused: bytes) -> None:
    """A refusal shuts our side down (lingering close) while an earlier request on the connection is still
    being served: that request's answer was written after write_eof, a RuntimeError and an "Exception in ASGI
    application" traceback. It is dropped instead, as when the refusal closed the connection."""
    records = _Records()
    uvicorn_error = logging.getLogger("uvicorn.error")
    config = ServerConfig(rate_limit=False, access_log=False, latency=0.3)
    with running_server(create_app(config)) as url:
        uvicorn_error.addHandler(records)  # once uvicorn has configured its logging
        try:
            with connect(url) as sock:
                sock.sendall(request_bytes(VALID))
                time.sleep(0.1)  # the refresh is waiting out its latency
                sock.sendall(refused)
                answer = read_answer(sock)
                assert answer.status == 400
                assert closed_within(sock, 3.0) is not None
                time.sleep(0.4)  # past the latency: the in-flight request has tried to answer
        finally:
            uvicorn_error.removeHandler(records)
    errors = [record.getMessage() for record in records.records if record.levelno >= logging.ERROR]
    assert errors == []


@pytest.mark.parametrize("whole", [True, False], ids=["head-whole-in-the-read", "head-split-over-reads"])
def test_an_oversized_head_pipelined_after_a_body_is_refused(default_url: str, whole: bool) -> None:
    """Head bytes were counted only for reads that began in a head: a 100 KB head pipelined in the same
    read as the end of the previous request's body reached the app (200) despite the 16 KB limit. (The refusal
    comes while the first request is in flight: as for any refusal then, its answer is dropped.)"""
    first = request_bytes(VALID)
    second = request_bytes(VALID, extra=[("X-Padding", "a" * 100_000)])
    with connect(default_url) as sock:
        sock.sendall(first[:-5])  # the first request's head and most of its body
        time.sleep(0.1)
        if whole:
            sock.sendall(first[-5:] + second)
        else:
            sock.sendall(first[-5:] + second[:-20])
            time.sleep(0.1)
            sock.sendall(second[-20:])
        answer = read_answer(sock)  # the first request's answer, if it came before the refusal, is dropped
    assert answer.status == 400
    _assert_plaid(answer.body, "INVALID_HEADERS")
