"""Loopback serving for the webhook tests: the reference server's `running_server`, plus a free port.

A fixed port matters here: the contract tests' key server must be where an external receiver was told
to look, and the restart tests bring a receiver back on the port the Item's webhook URL names.
"""

from __future__ import annotations

import socket

from plaid_refresh.server.testing import running_server as serve

__all__ = ["free_port", "serve"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
