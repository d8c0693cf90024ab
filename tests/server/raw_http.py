"""Raw-socket helpers for the hostile-peer tests: send exact bytes, read the answer with h11, see closes."""

from __future__ import annotations

import socket
import time
from typing import Any

import h11
import orjson

from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET

REFRESH = "/transactions/refresh"


def address(base_url: str) -> tuple[str, int]:
    host, port = base_url.removeprefix("http://").split(":")
    return host, int(port)


def connect(base_url: str, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(address(base_url), timeout=timeout)


def request_bytes(
    body: bytes,
    *,
    path: str = REFRESH,
    method: str = "POST",
    extra: list[tuple[str, str]] | None = None,
    content_length: int | None = None,
) -> bytes:
    """A POST with the default credentials and JSON headers, as bytes (Content-Length may lie)."""
    length = len(body) if content_length is None else content_length
    headers = [
        ("Host", "127.0.0.1"),
        ("Content-Type", "application/json"),
        ("Plaid-Version", "2020-09-14"),
        ("PLAID-CLIENT-ID", DEFAULT_CLIENT_ID),
        ("PLAID-SECRET", DEFAULT_SECRET),
        ("Content-Length", str(length)),
        *(extra or []),
    ]
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode("latin-1") + body


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> Any:
        return orjson.loads(self.body)


def read_answer(sock: socket.socket) -> Answer:
    """One complete HTTP/1.1 response from `sock` (AssertionError if the server closes before)."""
    conn = h11.Connection(h11.CLIENT)
    # h11 must believe it sent a request before it reads a response.
    conn.send(h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", "0")]))
    conn.send(h11.EndOfMessage())
    status = 0
    headers: dict[str, str] = {}
    body = b""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = sock.recv(65536)
            assert data, "the server closed the connection without a complete answer"
            conn.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
            headers = {k.decode().lower(): v.decode("latin-1") for k, v in event.headers}
        elif isinstance(event, h11.Data):
            body += bytes(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return Answer(status, headers, body)


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """How long until the server closed `sock` (reading and discarding anything it sends), or None if it
    was still open after `seconds`."""
    started = time.monotonic()
    sock.settimeout(0.05)
    while time.monotonic() - started < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None
