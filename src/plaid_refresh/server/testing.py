"""Run an ASGI app under uvicorn on loopback for tests: `with running_server(app) as base_url: ...`."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from plaid_refresh.server.config import ConnectionLimits
from plaid_refresh.server.serving import uvicorn_config

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10


@contextlib.contextmanager
def running_server(app: Any, port: int = 0, limits: ConnectionLimits | None = None) -> Iterator[str]:
    """Serve `app` (uvicorn, httptools + uvloop, `plaid-refresh serve`'s protocol and connection `limits`,
    default ConnectionLimits(): see serving.py) on 127.0.0.1 in a background thread, at `port` (0: an
    ephemeral one; a fixed port lets a restarted server come back where clients were told to look);
    yield its base URL once it accepts connections; shut it down cleanly (lifespan shutdown runs,
    in-flight requests finish) on exit. Start-up is bounded by STARTUP_TIMEOUT seconds."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    config = uvicorn_config(
        app, limits, log_level="warning", lifespan="auto", timeout_graceful_shutdown=SHUTDOWN_TIMEOUT
    )
    server = uvicorn.Server(config)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # SystemExit from uvicorn start-up failures included
            errors.append(exc)

    thread = threading.Thread(target=run, name=f"uvicorn-127.0.0.1:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if errors or not thread.is_alive():
                raise RuntimeError(f"the server failed to start: {errors[0] if errors else 'thread exited'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {STARTUP_TIMEOUT} s")
            time.sleep(0.005)
        with socket.create_connection(("127.0.0.1", port), timeout=STARTUP_TIMEOUT):
            pass
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT + 5)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the server did not shut down in time")
