"""Mutation scores of the client and receiver contract suites.

    python -m contract_tests.mutation webhooks [--only NAME ...] [--min-score 0.95]
    python -m contract_tests.mutation client   [--only NAME ...] [--min-score 0.95]

Each broken implementation is run the way a user runs the suite: a receiver is served on loopback
and the suite is pointed at its URL (RECEIVER_URL, WEBHOOK_KEY_SERVER_PORT); a client is named by
CLIENT_FACTORY (and CLIENT_ASYNC_FACTORY / CLIENT_ERROR_ADAPTER). The suite runs in a subprocess with
`--maxfail=1`: a mutant is caught by the first failing test. The correct implementation (no flaw) is
run first, in full: if it fails, the score would mean nothing and the run stops.

Prints one line per mutant, then `mutation score: caught/total` (equivalent mutants listed, not
counted); exits 1 when the score is below --min-score. JUnit XML: one file per run in --reports.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 300


def run_suite(
    suite: str, env: dict[str, str], junit: Path, *, maxfail: int | None
) -> tuple[int, list[str], str | None]:
    """Run contract_tests/<suite> in a subprocess; (passed, failing test ids, error text)."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}"]
    if maxfail:
        command.append(f"--maxfail={maxfail}")
    command.append(f"contract_tests/{suite}")
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return 0, [], f"the suite ran over {RUN_TIMEOUT} s"
    if not junit.exists():
        return 0, [], f"pytest exited {done.returncode} without a report: {done.stderr.strip()[-300:]}"
    passed, failed = 0, []
    for case in ET.parse(junit).getroot().iter("testcase"):
        if any(child.tag in ("failure", "error") for child in case):
            failed.append(f"{case.attrib.get('classname', '')}::{case.attrib['name']}")
        elif not any(child.tag == "skipped" for child in case):
            passed += 1
    if done.returncode not in (0, 1):  # 2: interrupted, 3: internal error, 4: usage, 5: nothing collected
        return passed, failed, f"pytest exited {done.returncode}: {done.stdout.strip()[-300:]}"
    return passed, failed, None


# -- receivers -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def receiver_env(flaws: frozenset[str]) -> Iterator[dict[str, str]]:
    from contract_tests.webhooks.keyserver import default_credentials
    from contract_tests.webhooks.loopback import free_port, serve
    from contract_tests.webhooks.mutants import MiniReceiver

    key_port = free_port()
    app = MiniReceiver(f"http://127.0.0.1:{key_port}", *default_credentials(), flaws=flaws)
    with serve(app) as url:
        yield {"RECEIVER_URL": f"{url}/plaid/webhooks", "WEBHOOK_KEY_SERVER_PORT": str(key_port)}


def client_env(name: str | None) -> dict[str, str]:
    module = "contract_tests.client.mutants"
    factory = name or "correct"
    return {
        "CLIENT_FACTORY": f"{module}:{factory}",
        "CLIENT_ASYNC_FACTORY": f"{module}:{factory}_async",
        "CLIENT_ERROR_ADAPTER": f"{module}:adapter",
    }


@contextlib.contextmanager
def subject_env(suite: str, name: str | None) -> Iterator[dict[str, str]]:
    if suite == "webhooks":
        with receiver_env(frozenset([name]) if name else frozenset()) as env:
            yield env
    else:
        yield client_env(name)


def catalogue(suite: str) -> tuple[list[tuple[str, str, str]], dict[str, str]]:
    """([(name, family, mistake)], {equivalent name: why})."""
    if suite == "webhooks":
        from contract_tests.webhooks import mutants as receivers

        return [(m.name, m.family, m.mistake) for m in receivers.MUTANTS], dict(receivers.EQUIVALENT)
    from contract_tests.client import mutants as clients

    return [(m.name, m.family, m.mistake) for m in clients.MUTANTS], dict(clients.EQUIVALENT)


def score(suite: str, only: Sequence[str], reports: Path, min_score: float) -> int:
    reports.mkdir(parents=True, exist_ok=True)
    mutants, equivalent = catalogue(suite)
    if only:
        unknown = set(only) - {m[0] for m in mutants}
        if unknown:
            print(f"error: no such {suite} mutant: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m[0] in only]
    total = len(mutants)
    print(f"==> {suite} suite: the correct implementation first, then {total} broken ones", flush=True)
    started = time.monotonic()
    with subject_env(suite, None) as env:
        passed, failed, error = run_suite(suite, env, reports / f"{suite}-correct.xml", maxfail=None)
    if failed or error:
        print(f"the correct {suite} implementation fails the suite ({error or ', '.join(failed[:5])})")
        return 2
    print(
        f"    correct implementation: {passed} tests passed ({time.monotonic() - started:.0f} s)", flush=True
    )
    caught = 0
    missed: list[str] = []
    for index, (name, family, mistake) in enumerate(mutants, 1):
        started = time.monotonic()
        with subject_env(suite, name) as env:
            passed, failed, error = run_suite(suite, env, reports / f"{suite}-{name}.xml", maxfail=1)
        seconds = time.monotonic() - started
        if failed or error:
            caught += 1
            by = failed[0].rsplit(".", 1)[-1] if failed else f"error: {error}"
            print(f"[{index:2}/{total}] caught  {name:28} ({family}) by {by} ({seconds:.0f} s)", flush=True)
        else:
            missed.append(name)
            print(f"[{index:2}/{total}] MISSED  {name:28} ({family}): {mistake}", flush=True)
    for name, why in sorted(equivalent.items()):
        with subject_env(suite, name) as env:
            _, failed, error = run_suite(suite, env, reports / f"{suite}-{name}.xml", maxfail=1)
        verdict = (
            "passes the suite, as expected" if not (failed or error) else f"CAUGHT by {failed[:1] or error}"
        )
        print(f"equivalent (not counted): {name}: {why} -- {verdict}", flush=True)
    for name in missed:
        print(f"missed: {name}")
    ratio = caught / total if total else 1.0
    print(f"mutation score ({suite} suite): {caught}/{total} ({ratio:.0%})", flush=True)
    if ratio < min_score:
        print(f"below the goal of {min_score:.0%}")
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests.mutation",
        description="Run a contract suite against its catalogue of broken implementations and print its "
        "mutation score (caught/total; equivalent mutants listed, not counted).",
    )
    parser.add_argument("suite", choices=["client", "webhooks"], help="which suite to score")
    parser.add_argument("--only", nargs="+", default=[], metavar="NAME", help="score only these mutants")
    parser.add_argument(
        "--reports", type=Path, default=ROOT / "reports" / "mutation", help="JUnit XML directory"
    )
    parser.add_argument(
        "--min-score", type=float, default=0.95, help="exit 1 below this (default: %(default)s)"
    )
    parser.add_argument("--list", action="store_true", help="list the catalogue and exit")
    args = parser.parse_args(argv)
    if args.list:
        mutants, equivalent = catalogue(args.suite)
        for name, family, mistake in mutants:
            print(f"{name:28} {family:16} {mistake}")
        for name, why in equivalent.items():
            print(f"{name:28} {'(equivalent)':16} {why}")
        return 0
    return score(args.suite, args.only, args.reports, args.min_score)


if __name__ == "__main__":
    sys.exit(main())
