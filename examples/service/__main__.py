"""Run the example service: python -m examples.service --item demo=access-sandbox-... [--port 8000]

Needs PLAID_ENV (or PLAID_BASE_URL), PLAID_CLIENT_ID and PLAID_SECRET. Against the reference server:
  make serve &   # http://127.0.0.1:8787
  PLAID_BASE_URL=http://127.0.0.1:8787 PLAID_CLIENT_ID=... PLAID_SECRET=... \
    python -m examples.service --item demo=access-sandbox-healthy
  curl -X POST http://127.0.0.1:8000/items/demo/refresh
"""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from examples.service.app import create_app
from plaid_refresh import PlaidConfigurationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m examples.service", description=__doc__.split("\n")[0])
    parser.add_argument("--item", action="append", default=[], metavar="ITEM_ID=ACCESS_TOKEN",
                        help="an Item this service may refresh (repeatable)")  # fmt: skip
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    tokens = {}
    for pair in args.item:
        item_id, sep, token = pair.partition("=")
        if not sep or not item_id or not token:
            parser.error("--item takes ITEM_ID=ACCESS_TOKEN")
        tokens[item_id] = token
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        app = create_app(tokens)
    except PlaidConfigurationError as error:
        print(f"examples.service: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, lifespan="on", log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
