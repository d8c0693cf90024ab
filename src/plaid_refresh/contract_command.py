"""`plaid-refresh-contract`: the server contract suite as a command, for another repository's CI.

Installed with the `[contract]` extra; the suite itself ships inside the wheel
(`plaid_refresh/_contract_suites/`, the repository's `contract_tests/` package as is), so nothing of this
repository has to be cloned:

    pip install "unofficial-plaid-refresh[contract] @ file:///.../unofficial_plaid_refresh-X.whl" \\
        /.../unofficial_plaid_refresh_generated-Y.whl
    PLAID_CLIENT_ID=... PLAID_SECRET=... PLAID_ACCESS_TOKEN=... \\
        plaid-refresh-contract --base-url https://sandbox.plaid.com --junitxml reports/contract-junit.xml

Without --base-url (or PLAID_BASE_URL) the suite checks the embedded reference server. Exit status: pytest's
(0 = the target conforms).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

SUITES = Path(__file__).resolve().parent / "_contract_suites"
CHECKOUT_SUITES = Path(__file__).resolve().parents[2]  # a source checkout: contract_tests/ at the root
EXTRA_HINT = "pip install 'unofficial-plaid-refresh[contract]' (see docs/publishing.md for a safe source)"


def suites_root() -> Path:
    """Where `contract_tests/` is: inside the installed wheel, or the checkout this module runs from."""
    for root in (SUITES, CHECKOUT_SUITES):
        if (root / "contract_tests" / "server" / "conftest.py").is_file():
            return root
    raise FileNotFoundError(f"the contract suites are not installed (looked in {SUITES})")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plaid-refresh-contract",
        description="Run the Plaid /transactions/refresh server contract suite against a server, with "
        "JUnit output. Credentials come from the environment, never the command line: PLAID_CLIENT_ID, "
        "PLAID_SECRET and PLAID_ACCESS_TOKEN (PLAID_TOKEN_* for the scenarios that need special Items).",
        epilog="Exit status: 0 when the target conforms, 1 when a check failed, 2+ on a usage or set-up "
        "error.",
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("PLAID_BASE_URL") or None,
        help="the server to check, e.g. https://sandbox.plaid.com (default: $PLAID_BASE_URL, else the "
        "embedded reference server)",
    )
    parser.add_argument(
        "--junitxml",
        type=Path,
        default=Path("reports/contract-junit.xml"),
        help="where the JUnit XML report goes (default: reports/contract-junit.xml)",
    )
    parser.add_argument(
        "--summary-json", type=Path, default=None, help="also write the run summary as JSON to this file"
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after --")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    missing = [
        name for name in ("pytest", "schemathesis", "hypothesis") if importlib.util.find_spec(name) is None
    ]
    if missing:
        print(f"plaid-refresh-contract: error: {', '.join(missing)} missing: {EXTRA_HINT}", file=sys.stderr)
        return 2
    try:
        root = suites_root()
    except FileNotFoundError as exc:
        print(f"plaid-refresh-contract: error: {exc}", file=sys.stderr)
        return 2
    if args.base_url:
        os.environ["PLAID_BASE_URL"] = args.base_url
    if args.summary_json:
        os.environ["PLAID_CONTRACT_SUMMARY_JSON"] = str(args.summary_json)
    args.junitxml.parent.mkdir(parents=True, exist_ok=True)
    import pytest  # the [contract] extra; imported only once it is known to be there

    # rootdir is the folder holding contract_tests/, so test ids read "contract_tests/server/..." as in a
    # checkout, and the suite's absolute imports (contract_tests.server...) resolve.
    sys.path.insert(0, str(root))
    return int(
        pytest.main(
            [
                str(root / "contract_tests" / "server"),
                f"--rootdir={root}",
                "-p",
                "no:cacheprovider",
                "-q",
                f"--junitxml={args.junitxml.resolve()}",
                *args.pytest_args,
            ]
        )
    )


if __name__ == "__main__":
    sys.exit(main())
