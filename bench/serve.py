"""Child process entry: serve one app under test on uvicorn with httptools + uvloop.

    python -m bench.serve floor --port 8001
    python -m bench.serve reference --port 8002 [--items FILE] [--latency 2.0] [--high-limits]

Both apps run on the same stack and settings (uvicorn, httptools + uvloop, one worker, no access log,
warning-level logs), so the difference between them is the work the app does. The reference server is
served exactly as `plaid-refresh serve` serves it (`plaid_refresh.server.serving.uvicorn_config`): its
httptools subclass with the default connection limits on (head size, header/body/idle timeouts,
connection cap) and no WebSocket support; the floor runs on uvicorn's plain httptools protocol.
"""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

import uvicorn

from bench import targets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["floor", "reference"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0, help="added latency per refresh, seconds")
    parser.add_argument("--items", type=Path, default=None, help="Items file loaded by the reference server")
    parser.add_argument(
        "--high-limits",
        action="store_true",
        help="rate limiting on, with limits above what a load test sends",
    )
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a pyinstrument text profile here on exit"
    )
    parser.add_argument(
        "--no-fast-path",
        action="store_true",
        help="reference: validate with jsonschema alone, as before the compiled fast path (before/after)",
    )
    args = parser.parse_args(argv)
    app: Any
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "access_log": False,
        "log_level": "warning",
        "lifespan": "auto",
    }
    if args.target == "floor":
        from bench.floor_app import app

        config = uvicorn.Config(app, http="httptools", loop="uvloop", **settings)
    else:
        from plaid_refresh.server.serving import uvicorn_config

        app = targets.reference_app(items_path=args.items, latency=args.latency, high_limits=args.high_limits)
        if args.no_fast_path:
            targets.disable_fast_path(app)
        config = uvicorn_config(app, **settings)  # the default ConnectionLimits, as plaid-refresh serve
    profiler = None
    if args.profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        # uvicorn re-raises the SIGTERM it caught once shut down; a no-op handler lets us write the profile.
        signal.signal(signal.SIGTERM, lambda signum, frame: None)
        profiler.start()
    if args.target == "floor":
        uvicorn.Server(config).run()
    else:
        from plaid_refresh.server.serving import serve

        serve(config)  # as plaid-refresh serve does (gc.freeze() after start-up)
    if profiler is not None:  # uvicorn.run returns after a graceful SIGTERM shutdown
        profiler.stop()
        args.profile.write_text(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    main()
