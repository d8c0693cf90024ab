"""Serve an ASGI app with uvicorn on 127.0.0.1 at a chosen port (0: ephemeral), in a thread.

Like plaid_refresh.server.testing.running_server, plus a fixed port: the contract tests' key server
must be where an external receiver was told to look, and the restart tests bring a receiver back on
the port the Item's webhook URL names.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

STARTUP_TIMEOUT = 10.0
SHUTDOWN_TIMEOUT = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Any, port: int = 0) -> Iterator[str]:
    """Yield the base URL once the server accepts connections; on exit, shut down gracefully
    (lifespan shutdown runs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
    except OSError:
        sock.close()
        raise
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_TIMEOUT,
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
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT + 5)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the server did not shut down in time")
