"""A hard per-call deadline for the blocking client.

httpx's timeouts bound each socket operation, not a call: a server that sends one byte of its
headers or body every second never trips a 90 s read timeout. The sync client therefore talks
through a transport whose sockets read the current call's deadline (a context variable set around
each attempt) and give every connect, read, write and TLS handshake only the time left before it.
A call then ends within a few milliseconds of its deadline (one socket operation's wake-up), however
the server drips. The async client gets the same bound from `asyncio.timeout`.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

CALL_DEADLINE: ContextVar[float | None] = ContextVar("plaid_refresh_call_deadline", default=None)
"""time.monotonic() at which the running call's attempt must end, or None (no call running). The
sync client sets it around each attempt (set/reset inline: a context manager costs more than the
rest of the deadline's work in a call)."""


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = CALL_DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with every operation bounded by the running call's deadline."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_transport(*, verify: bool | ssl.SSLContext, limits: httpx.Limits) -> httpx.HTTPTransport:
    """httpx's HTTP/1.1 transport whose connection pool opens DeadlineBackend sockets. httpx has no
    public way to choose the socket backend, so the pool's is set here; every httpx from 0.25 to 0.28
    (httpcore 1.x) keeps it in `_network_backend`, and tests/client/test_hostile_server.py fails if a
    new one stops using it."""
    transport = httpx.HTTPTransport(verify=verify, limits=limits)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore does not let the client bound its sockets by the deadline")
    pool._network_backend = DeadlineBackend()
    return transport
