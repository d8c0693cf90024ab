"""A tiny real HTTP server on 127.0.0.1 (stdlib, threads) answering like Plaid for a few tokens.

For tests that need real sockets but not the full reference server: the docs snippet run in a fresh
venv, and pool-size checks. Tokens: `access-sandbox-ok` -> 200, `access-sandbox-relink` ->
ITEM_LOGIN_REQUIRED, `access-sandbox-limited` -> TRANSACTIONS_REFRESH_LIMIT; bad credentials ->
INVALID_API_KEYS. `delay` seconds are slept before each answer.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .helpers import CLIENT_ID, SECRET, error_example

ANSWERS: dict[str, tuple[int, dict[str, Any]]] = {
    "access-sandbox-ok": (200, {"request_id": "stubRequest0001"}),
    "access-sandbox-relink": (400, error_example("ITEM_LOGIN_REQUIRED")["body"]),
    "access-sandbox-limited": (429, error_example("TRANSACTIONS_REFRESH_LIMIT")["body"]),
}


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # 100+ simultaneous connects must not overflow the listen backlog
    daemon_threads = True
    delay = 0.0
    seen = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with self.server.lock:
            self.server.seen += 1
        time.sleep(self.server.delay)
        if self.headers.get("PLAID-CLIENT-ID") != CLIENT_ID or self.headers.get("PLAID-SECRET") != SECRET:
            status, answer = 400, error_example("INVALID_API_KEYS")["body"]
        else:
            token = json.loads(body).get("access_token")
            status, answer = ANSWERS.get(token, (400, error_example("INVALID_ACCESS_TOKEN")["body"]))
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[str]:
    """Serve `server` (bound to 127.0.0.1) on a thread and yield its base URL; shut it down on exit."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def stub_server(delay: float = 0.0) -> Iterator[tuple[str, _Server]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.delay = delay
    with serving(server) as url:
        yield url, server
