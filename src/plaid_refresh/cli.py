"""The `plaid-refresh` command. Subcommands register themselves in SUBCOMMANDS; `serve` runs the
reference server. To add one: write `_add_<name>(subparsers)` that sets `handler=` and append it."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from plaid_refresh.extras import MissingExtra

EPILOG_SERVE = """\
credentials:
  The server accepts one client_id/secret pair, as PLAID-CLIENT-ID/PLAID-SECRET headers or as body
  fields (the body wins). Taken from --client-id/--secret, else the PLAID_CLIENT_ID/PLAID_SECRET
  environment variables, else the documented defaults (plaid_refresh.server.DEFAULT_CLIENT_ID /
  DEFAULT_SECRET, see docs/server.md). The secret is never printed or logged.

knobs:
  --latency/--error-rate/--maintenance-rate apply to every refresh; an Item in the --items file can
  override each of them (keys latency, latency_random, error_rate, maintenance_rate) and force an
  error code (key error).

examples:
  plaid-refresh serve
  plaid-refresh serve --port 8787 --items items.yaml --db state.sqlite3
  PLAID_SECRET=s3cret plaid-refresh serve --latency 35 --latency-random     # exercise 30 s+ timeouts
  plaid-refresh serve --error-rate 0.2 --maintenance-rate 0.05 --seed 7    # reproducible faults
  plaid-refresh serve --no-rate-limit --no-access-log                      # for benchmarks
"""


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.0 <= value <= 600.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 600 seconds, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.0 < value <= 3600.0:  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 3600 seconds, got {text}")
    return value


def _non_empty(text: str) -> str:
    if not text or text != text.strip():
        raise argparse.ArgumentTypeError("must be a non-empty value without surrounding spaces")
    return text


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, got {text}")
    return value


def _add_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from plaid_refresh.server.config import DEFAULT_MAX_BODY_BYTES, ENVIRONMENTS, ConnectionLimits

    limits = ConnectionLimits()

    parser = subparsers.add_parser(
        "serve",
        help="run the reference server (an offline Plaid for /transactions/refresh)",
        description="Run the reference server: an offline, Plaid-compatible /transactions/refresh and "
        "/webhook_verification_key/get, validated against openapi/transactions-refresh.yaml. Built-in "
        "sandbox tokens are listed in docs/server.md. Stop with Ctrl-C or SIGTERM "
        "(in-flight requests finish).",
        epilog=EPILOG_SERVE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, loopback only)")
    add("--port", type=_port, default=8787, help="TCP port (default: %(default)s)")
    add("--items", type=Path, metavar="PATH", help="YAML or JSON file of extra Items (see docs/server.md)")
    add(
        "--db",
        type=Path,
        metavar="PATH",
        help="SQLite file: Items, refresh history and the webhook key survive restarts "
        "(default: memory only)",
    )
    add(
        "--environment",
        choices=ENVIRONMENTS,
        default="sandbox",
        help="the Plaid environment served; tokens look like access-<environment>-<id> "
        "(default: %(default)s)",
    )
    add(
        "--client-id",
        type=_non_empty,
        metavar="ID",
        help="accepted client_id (default: $PLAID_CLIENT_ID, else the built-in one)",
    )
    add(
        "--secret",
        type=_non_empty,
        metavar="SECRET",
        help="accepted secret (default: $PLAID_SECRET, else the built-in one; prefer the env var: "
        "command lines are visible to other users)",
    )
    add(
        "--rate-limit",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="enforce TRANSACTIONS_REFRESH_LIMIT (default: on)",
    )
    add(
        "--item-limit",
        type=_positive_int,
        default=2,
        metavar="N",
        help="refreshes per Item per minute (default: %(default)s, as Plaid)",
    )
    add(
        "--client-limit",
        type=_positive_int,
        default=100,
        metavar="N",
        help="refreshes per client per minute (default: %(default)s, as Plaid)",
    )
    add(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay added to each refresh (default: %(default)s)",
    )
    add(
        "--latency-random",
        action="store_true",
        help="make the delay uniform random in [0, --latency] instead of fixed",
    )
    add(
        "--error-rate",
        type=_rate,
        default=0.0,
        metavar="P",
        help="share of refreshes answered 500 INTERNAL_SERVER_ERROR (0..1, default: %(default)s)",
    )
    add(
        "--maintenance-rate",
        type=_rate,
        default=0.0,
        metavar="P",
        help="share of refreshes answered 503 PLANNED_MAINTENANCE (0..1, default: %(default)s)",
    )
    add("--seed", type=int, metavar="N", help="seed for the random knobs, for reproducible runs")
    add(
        "--max-body-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="N",
        help="larger bodies get INVALID_BODY (default: %(default)s)",
    )
    add(
        "--max-header-bytes",
        type=_positive_int,
        default=limits.max_header_bytes,
        metavar="N",
        help="a longer request line + headers gets INVALID_HEADERS and the connection closes "
        "(default: %(default)s)",
    )
    add(
        "--header-timeout",
        type=_timeout,
        default=limits.header_timeout,
        metavar="SECONDS",
        help="a request's headers must arrive within this long of the connection (or of the request's "
        "first byte); else the connection closes (default: %(default)g)",
    )
    add(
        "--body-timeout",
        type=_timeout,
        default=limits.body_timeout,
        metavar="SECONDS",
        help="a request's body must arrive within this long of its headers; else the connection closes and "
        "nothing is executed (default: %(default)g)",
    )
    add(
        "--idle-timeout",
        type=_timeout,
        default=limits.idle_timeout,
        metavar="SECONDS",
        help="a kept-alive connection with no request for this long is closed (default: %(default)g)",
    )
    add(
        "--max-connections",
        type=_positive_int,
        default=limits.max_connections,
        metavar="N",
        help="open connections at once; one more is answered 503 PLANNED_MAINTENANCE and closed "
        "(default: %(default)s; keep it under the process's file-descriptor limit)",
    )
    add(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="JSON access log lines on stderr, secrets never included (default: on)",
    )
    add(
        "--log-level",
        choices=("debug", "info", "warning", "error"),
        default="info",
        help="server log level (default: %(default)s)",
    )
    add(
        "--webhooks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="deliver webhooks to Items' webhook URLs: signed, retried with backoff, pending ones kept "
        "in --db across restarts (default: on; see docs/webhooks.md)",
    )
    add(
        "--webhook-retry-delay",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="first retry of a failed webhook after this long (default: %(default)g, as Plaid)",
    )
    add(
        "--webhook-retry-factor",
        type=_factor,
        default=4.0,
        metavar="X",
        help="each next retry delay is X times the previous one (default: %(default)g, as Plaid)",
    )
    add(
        "--webhook-attempts",
        type=_positive_int,
        default=7,
        metavar="N",
        help="a webhook is recorded as failed after N attempts (default: %(default)s, ~11 h with "
        "the default delays)",
    )
    parser.set_defaults(handler=_serve)


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1.0 <= value <= 100.0:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100, got {text}")
    return value


def _credential(flag: str | None, env: str) -> tuple[str | None, str]:
    if flag is not None:
        return flag, "command line"
    value = os.environ.get(env)
    if value:
        return value, f"${env}"
    return None, "built-in default"


def _serve(args: argparse.Namespace) -> int:
    import sqlite3

    from plaid_refresh.server import (
        DEFAULT_CLIENT_ID,
        DEFAULT_SECRET,
        ItemsFileError,
        ServerConfig,
        StoreError,
        create_app,
    )
    from plaid_refresh.server.config import ConnectionLimits
    from plaid_refresh.server.serving import serve, uvicorn_config
    from plaid_refresh.webhooks.delivery import RetryPolicy

    client_id, client_id_source = _credential(args.client_id, "PLAID_CLIENT_ID")
    secret, secret_source = _credential(args.secret, "PLAID_SECRET")
    config = ServerConfig(
        client_id=client_id if client_id is not None else DEFAULT_CLIENT_ID,
        secret=secret if secret is not None else DEFAULT_SECRET,
        environment=args.environment,
        items_path=args.items,
        db_path=args.db,
        rate_limit=args.rate_limit,
        item_limit_per_minute=args.item_limit,
        client_limit_per_minute=args.client_limit,
        latency=args.latency,
        latency_random=args.latency_random,
        error_rate=args.error_rate,
        maintenance_rate=args.maintenance_rate,
        seed=args.seed,
        max_body_bytes=args.max_body_bytes,
        access_log=args.access_log,
    )
    try:
        delivery = RetryPolicy(args.webhook_retry_delay, args.webhook_retry_factor, args.webhook_attempts)
        app = create_app(config, webhook_delivery=delivery if args.webhooks else None)
    except (ItemsFileError, StoreError) as exc:
        print(f"plaid-refresh serve: error: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:  # the webhook outbox's table in --db (the store checked its own)
        problem = f"{args.db}: cannot use as the server database: {exc}"
        print(f"plaid-refresh serve: error: {problem}", file=sys.stderr)
        return 2
    limits = ConnectionLimits(
        max_header_bytes=args.max_header_bytes,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        idle_timeout=args.idle_timeout,
        max_connections=args.max_connections,
    )
    # Only once the server will really run: a refused start must not leave handlers on a stream it never owns.
    _configure_logging(args.log_level)
    shown_host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{shown_host}:{args.port}"

    def announce() -> None:  # only once listening: a port in use must not be announced as served first
        print(
            f"plaid-refresh: reference server on {url} "
            f"(environment {config.environment}; client_id from {client_id_source}, secret from "
            f"{secret_source}; {len(app.store.items)} Items; "
            f"state {'in ' + str(args.db) if args.db else 'in memory'}; "
            f"rate limit {'on' if config.rate_limit else 'off'}; "
            f"webhooks {'on' if args.webhooks else 'off'}). Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )

    config_ = uvicorn_config(
        app,
        limits,
        host=args.host,
        port=args.port,
        lifespan="on",
        log_level=args.log_level,
        timeout_graceful_shutdown=30,
        log_config=None,
    )
    server = None
    try:
        server = serve(config_, on_started=announce)
    except KeyboardInterrupt:
        return 0
    except SystemExit as exc:  # uvicorn exits (status 3) when it cannot bind
        if exc.code != _STARTUP_FAILURE:
            raise
    if server is None or not server.started:  # e.g. the port is in use (uvicorn logged why)
        print(f"plaid-refresh serve: error: cannot serve on {url} (see above)", file=sys.stderr, flush=True)
        return _STARTUP_FAILURE  # uvicorn.run's exit status
    return 0


_STARTUP_FAILURE = 3


def _configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("plaid_refresh.server", "plaid_refresh.webhooks", "uvicorn"):
        log = logging.getLogger(name)
        log.handlers[:] = [handler]
        log.setLevel(level.upper())
        log.propagate = False


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = [_add_serve]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plaid-refresh",
        description="Call, test and trust Plaid's POST /transactions/refresh.",
    )
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for add in SUBCOMMANDS:
        add(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args)
    except MissingExtra as exc:  # a plain install: the server's dependencies are an extra
        print(f"plaid-refresh: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
