"""python -m examples.webhook_receiver: serve the example receiver with uvicorn."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit

import uvicorn

from examples.webhook_receiver.app import build_receiver

# The reference server's documented fake credentials (`plaid-refresh serve` defaults).
DEFAULT_KEY_SERVER = "http://127.0.0.1:8787"

EPILOG = """\
environment:
  PLAID_CLIENT_ID, PLAID_SECRET   credentials for /webhook_verification_key/get (default: the
                                  reference server's built-in ones). Prefer these to --secret.

examples:
  # against a local reference server (plaid-refresh serve --port 8787):
  python -m examples.webhook_receiver --port 8788
  # against Plaid Sandbox:
  PLAID_CLIENT_ID=... PLAID_SECRET=... python -m examples.webhook_receiver \\
      --key-server https://sandbox.plaid.com --host 0.0.0.0 --port 8788
"""


def _url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.rstrip("/")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.webhook_receiver",
        description="Receive Plaid transactions webhooks and accept only verified ones: ES256 "
        "Plaid-Verification JWT, key fetched by kid from /webhook_verification_key/get (cached), iat "
        "at most --max-age old, body SHA-256 matched, body validated against the spec. Answers 200 "
        "(accepted or duplicate), 401 (forged or stale), 400 (invalid body), 503 (key server "
        "unreachable: retry later).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s)")
    add("--port", type=_port, default=8788, help="TCP port (default: %(default)s)")
    add(
        "--key-server",
        type=_url,
        default=os.environ.get("PLAID_KEY_SERVER_URL", DEFAULT_KEY_SERVER),
        metavar="URL",
        help="base URL serving POST /webhook_verification_key/get: Plaid or the reference server "
        "(default: $PLAID_KEY_SERVER_URL, else %(default)s)",
    )
    add("--client-id", metavar="ID", help="client_id (default: $PLAID_CLIENT_ID, else the built-in one)")
    add(
        "--secret",
        metavar="SECRET",
        help="secret (default: $PLAID_SECRET, else the built-in one; prefer the env var: "
        "command lines are visible to other users)",
    )
    add(
        "--max-age",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="reject webhooks whose iat is older (default: %(default)g, as Plaid advises)",
    )
    add(
        "--log-level",
        choices=["debug", "info", "warning", "error"],
        default="info",
        help="(default: %(default)s)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from plaid_refresh.server.config import DEFAULT_CLIENT_ID, DEFAULT_SECRET

    client_id = args.client_id or os.environ.get("PLAID_CLIENT_ID") or DEFAULT_CLIENT_ID
    secret = args.secret or os.environ.get("PLAID_SECRET") or DEFAULT_SECRET
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    for name in ("webhook_receiver", "uvicorn"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(args.log_level.upper())
        log.propagate = False
    app = build_receiver(args.key_server, client_id, secret, max_age=args.max_age)
    print(
        f"webhook receiver on http://{args.host}:{args.port} (POST any path); keys from "
        f"{args.key_server}/webhook_verification_key/get. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            lifespan="on",
            access_log=False,
            log_level=args.log_level,
            log_config=None,
        )
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
