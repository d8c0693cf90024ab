"""How the reference server is put on uvicorn: one place for `plaid-refresh serve`, `running_server` and the
benchmark, so all three run the same stack with the same connection limits.

httptools + uvloop, the limits of `PlaidHttpToolsProtocol` (see http_protocol.py), no WebSocket support at
all (`ws="none"`: no WebSocket library ever sees a request; the app refuses an Upgrade), no proxy headers
trusted, no `server` banner, and uvicorn's own access log off (the app writes its own, without secrets).
"""

from __future__ import annotations

import gc
import socket
from collections.abc import Callable
from typing import Any

import uvicorn

from plaid_refresh.server.config import ConnectionLimits
from plaid_refresh.server.http_protocol import protocol_with_limits


def uvicorn_config(app: Any, limits: ConnectionLimits | None = None, **settings: Any) -> uvicorn.Config:
    """uvicorn.Config for `app` with `limits` (default: ConnectionLimits()); `settings` are passed on
    (host, port, log_level, lifespan, timeout_graceful_shutdown, ...)."""
    limits = limits or ConnectionLimits()
    settings.setdefault("access_log", False)
    # The client address logged is the socket's peer, never an X-Forwarded-For a caller made up; and no
    # `server: uvicorn` banner (Plaid sends none). Both also spare every request a little work.
    settings.setdefault("proxy_headers", False)
    settings.setdefault("server_header", False)
    return uvicorn.Config(
        app,
        http=protocol_with_limits(limits),
        ws="none",
        loop="uvloop",
        **settings,
    )


class _Server(uvicorn.Server):
    """uvicorn.Server calling `on_started` once it listens (never when the bind or the startup failed)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit and self._on_started is not None:
            self._on_started()


def serve(config: uvicorn.Config, on_started: Callable[[], None] | None = None) -> uvicorn.Server:
    """Run `config` until shut down (SIGINT/SIGTERM); the Server is returned (`.started` tells whether it
    ever served). `on_started` is called once the server listens. Everything built so far (the app, its
    Items, validators, the spec) is moved out of the garbage collector's reach first (`gc.freeze()`): full
    collections then only walk what requests create.
    For a dedicated server process (the CLI, the benchmark), not for an app embedded in tests."""
    gc.collect()
    gc.freeze()
    server = _Server(config, on_started)
    server.run()
    return server
