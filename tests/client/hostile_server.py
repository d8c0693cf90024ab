"""A raw-socket HTTP/1.1 server on 127.0.0.1 whose every answer is written by the test: bombs, drips,
endless bodies, echoes. Each connection runs `behaviour(conn, request_head)` in its own thread; the
server stops accepting and closes every connection it opened when the block ends (bounded time)."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

Behaviour = Callable[[socket.socket, bytes, threading.Event], None]


def read_request(conn: socket.socket) -> bytes:
    """The request's head and body (by Content-Length); b"" if the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        body += chunk
    return head + b"\r\n\r\n" + body


@contextmanager
def hostile_server(behaviour: Behaviour) -> Iterator[tuple[str, list[bytes]]]:
    """Yields the base URL and the list of requests received so far."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    requests: list[bytes] = []
    conns: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                while not stop.is_set():
                    request = read_request(conn)
                    if not request:
                        return
                    requests.append(request)
                    behaviour(conn, request, stop)
            except OSError:
                return  # the client hung up (as it should, on a cap or a deadline)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conns.append(conn)
            thread = threading.Thread(target=handle, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", requests
    finally:
        stop.set()
        acceptor.join(5)
        listener.close()
        for conn in conns:
            with suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(5)


def head(status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(body: bytes, status: str = "200 OK", headers: dict[str, str] | None = None) -> Behaviour:
    """A complete answer with Content-Length."""
    payload = head(status, {**(headers or {}), "Content-Length": str(len(body))}) + body

    def behave(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(payload)

    return behave


def answers(*behaviours: Behaviour) -> Behaviour:
    """The n-th request gets behaviours[n] (the last one repeats)."""
    seen = [0]

    def behave(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        index = min(seen[0], len(behaviours) - 1)
        seen[0] += 1
        behaviours[index](conn, request, stop)

    return behave


def gzip_bomb(decoded_size: int, layers: int = 2) -> bytes:
    """`decoded_size` zero bytes gzipped `layers` times, built in 1 MB steps (never held whole)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = b"\0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decoded_size // len(block))]
    data = b"".join(parts) + compressor.flush()
    for _ in range(layers - 1):
        data = gzip.compress(data, 9)
    return data


def endless_chunks(chunk: bytes = b" " * 65536) -> Behaviour:
    """A chunked 200 whose chunks never end (until the client hangs up or the test ends)."""

    def behave(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(head(headers={"Transfer-Encoding": "chunked"}) + b'10\r\n{"request_id": "\r\n')
        frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        while not stop.is_set():
            conn.sendall(frame)

    return behave


def drip(prefix: bytes, rest: bytes, every: float) -> Behaviour:
    """Sends `prefix` at once, then `rest` one byte every `every` seconds."""

    def behave(conn: socket.socket, request: bytes, stop: threading.Event) -> None:
        conn.sendall(prefix)
        for byte in rest:
            if stop.wait(every):
                return
            conn.sendall(bytes([byte]))

    return behave


def plaid_error(
    code: str, error_type: str, message: str = "m", extra: dict[str, object] | None = None
) -> bytes:
    return json.dumps(
        {
            "error_type": error_type,
            "error_code": code,
            "error_message": message,
            "display_message": None,
            "request_id": "hostileReq00001",
            **(extra or {}),
        }
    ).encode()


def elapsed(since: float) -> float:
    return time.monotonic() - since
