"""A body cut short on the wire is a PlaidTruncatedResponse, not a generic connection failure.

A raw socket server on 127.0.0.1 sends the status line and headers of a 200, then only part of the
body, and closes: the way a proxy or a crashed upstream cuts an answer.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from plaid_refresh import (
    AsyncPlaidRefreshClient,
    PlaidConnectionError,
    PlaidRefreshClient,
    PlaidTruncatedResponse,
)

from .helpers import CLIENT_ID, SECRET

TOKEN = "access-sandbox-2f1c7c8e-4a34-4d5b-9a55-7c6f1b2b3f4e"
BODY = b'{"request_id":"1vwmF5TBQwiqfwP"}'
CUT_BY_LENGTH = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY[:12]
)
CUT_CHUNKED = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"%x\r\n" % len(BODY[:12])
    + BODY[:12]
    + b"\r\n"
)
WHOLE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


@contextmanager
def raw_server(answers: list[bytes]) -> Iterator[tuple[str, list[int]]]:
    """Answers the n-th connection with answers[n] (the last one repeats), then closes it."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # accept() wakes up often to see `stop`
    served: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            with conn:
                _read_request(conn)
                conn.sendall(answers[min(len(served), len(answers) - 1)])
                served.append(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", served
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("answer", [CUT_BY_LENGTH, CUT_CHUNKED], ids=["content-length", "chunked"])
def test_a_cut_body_raises_truncated_response_sync(answer: bytes) -> None:
    with (
        raw_server([answer]) as (base_url, _),
        PlaidRefreshClient.custom(base_url, client_id=CLIENT_ID, secret=SECRET, retries=0) as client,
        pytest.raises(PlaidTruncatedResponse) as caught,
    ):
        client.refresh(TOKEN)
    message = str(caught.value)
    assert "truncated" in message
    assert "POST /transactions/refresh" in message
    assert caught.value.phase == "read"
    assert isinstance(caught.value, PlaidConnectionError)  # still caught as a broken connection
    assert SECRET not in message
    assert TOKEN not in message


@pytest.mark.parametrize("answer", [CUT_BY_LENGTH, CUT_CHUNKED], ids=["content-length", "chunked"])
def test_a_cut_body_raises_truncated_response_async(answer: bytes) -> None:
    async def run() -> None:
        async with AsyncPlaidRefreshClient.custom(
            base_url, client_id=CLIENT_ID, secret=SECRET, retries=0
        ) as client:
            await client.refresh(TOKEN)

    with raw_server([answer]) as (base_url, _), pytest.raises(PlaidTruncatedResponse):
        asyncio.run(run())


def test_a_cut_body_is_retried_and_the_next_whole_answer_wins() -> None:
    with (
        raw_server([CUT_BY_LENGTH, WHOLE]) as (base_url, served),
        PlaidRefreshClient.custom(
            base_url, client_id=CLIENT_ID, secret=SECRET, retries=1, sleep=lambda seconds: None
        ) as client,
    ):
        assert client.refresh(TOKEN).request_id == "1vwmF5TBQwiqfwP"
    assert len(served) == 2


def test_a_server_that_closes_without_any_answer_is_not_called_truncated() -> None:
    with (
        raw_server([b""]) as (base_url, _),
        PlaidRefreshClient.custom(base_url, client_id=CLIENT_ID, secret=SECRET, retries=0) as client,
        pytest.raises(PlaidConnectionError) as caught,
    ):
        client.refresh(TOKEN)
    assert type(caught.value) is PlaidConnectionError
