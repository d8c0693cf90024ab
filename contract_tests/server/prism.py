"""`make contract-prism`: the server contract suite against Stoplight Prism mocking the same spec.

Prism is a second, independent server built from the spec alone: it answers with the spec's examples and
checks only the presence of the apiKey headers. Running the suite against it shows which checks a
schema-only mock passes and which Plaid semantics it cannot know. Two runs, both bounded:

1. the pytest suite (scenarios + generated tests), as `make contract BASE_URL=...` would run it;
2. `schemathesis run` with contract_tests/schemathesis-cli.toml and `continue-on-failure`, which, unlike
   pytest (it stops each test at its first failing case), reports every check that fails.

Exit code: 0 when Prism's results are the documented ones (docs/contract.md: the failing checks and the
scenarios it passes), 1 when they differ (the table must be updated, or the suite changed), 2 when Prism or
a run could not complete (not installed, did not start, timed out).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
PRISM: Final = ROOT / "node_modules" / ".bin" / "prism"
SPEC: Final = ROOT / "openapi" / "transactions-refresh.yaml"
CLI_CONFIG: Final = ROOT / "contract_tests" / "schemathesis-cli.toml"
# Prism never answers some malformed bodies: a short per-request timeout keeps the run bounded.
REQUEST_TIMEOUT: Final = "5"
# Placeholder credentials: Prism only checks that the apiKey headers are present.
FAKE_ENV: Final = {
    "PLAID_CLIENT_ID": "0123456789abcdef01234567",
    "PLAID_SECRET": "prism-accepts-any-secret-value",
    "PLAID_ACCESS_TOKEN": "access-sandbox-00000000-0000-4000-8000-000000000000",
}

# The documented outcome (docs/contract.md). Checks `schemathesis run` reports failing against Prism 5.16.0:
EXPECTED_FAILING_CHECKS: Final = frozenset(
    {
        "negative_data_rejection",
        "plaid_bad_api_keys_rejected",
        "plaid_error_envelope",
        "plaid_negative_input_rejected",
        "plaid_request_id",
        "plaid_status_matches_error_type",
        "unsupported_method",
    }
)
# Scenarios Prism passes (every other scenario that runs fails; special-Item ones skip: no tokens declared).
EXPECTED_PASSING_SCENARIOS: Final = frozenset({"refresh: missing_fields"})
_CLI_FAILURE = re.compile(r"^\s*❌ (ST\d+) (.+): (\d+)\s*$", re.MULTILINE)
_CUSTOM = re.compile(r"`(\w+)`")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_prism(port: int, log: Path, startup_timeout: float = 60.0) -> Iterator[str]:
    """Prism on 127.0.0.1:port in its own process group, killed (group-wide) when the block exits."""
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(PRISM), "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"Prism exited with {process.returncode}; see {log}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prism did not listen within {startup_timeout:.0f} s; see {log}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _env(base_url: str, reports: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    env.update(FAKE_ENV)
    env.update(
        PLAID_BASE_URL=base_url,
        PLAID_CONTRACT_TIMEOUT=REQUEST_TIMEOUT,
        PLAID_CONTRACT_SUMMARY_JSON=str(reports / "contract-prism-summary.json"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def run_pytest_suite(base_url: str, reports: Path, timeout: float) -> dict[str, str]:
    """The pytest suite against Prism; returns test name -> passed/failed/skipped (from its JUnit XML)."""
    junit = reports / "contract-prism-junit.xml"
    command = [
        sys.executable, "-m", "pytest", "contract_tests/server", "-q", "-p", "no:cacheprovider",
        "--tb=line", f"--junitxml={junit}",
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, env=_env(base_url, reports), timeout=timeout, check=False)
    if done.returncode not in (0, 1) or not junit.exists():
        raise RuntimeError(f"the pytest suite did not complete (exit {done.returncode})")
    outcomes = {}
    for case in ET.parse(junit).iter("testcase"):
        name = case.get("name", "")
        if case.find("skipped") is not None:
            outcomes[name] = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            outcomes[name] = "failed"
        elif name not in outcomes:  # generated tests share a name per mode: one failure marks it failed
            outcomes[name] = "passed"
    return outcomes


def run_cli(base_url: str, reports: Path, timeout: float) -> dict[str, int]:
    """`schemathesis run` with the project's CLI config; returns failing check -> count of failures."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CLI_CONFIG),
        "run", str(SPEC),
        "--url", base_url, "--request-timeout", REQUEST_TIMEOUT,
        "--report-junit-path", str(reports / "contract-prism-cli-junit.xml"),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=ROOT,
        env=_env(base_url, reports),
        timeout=timeout,
        check=False,
        capture_output=True,
        text=True,
    )
    print(
        done.stdout[done.stdout.find("SUMMARY") - 40 :] if "SUMMARY" in done.stdout else done.stdout[-3000:]
    )
    if done.returncode not in (0, 1) or "SUMMARY" not in done.stdout:
        raise RuntimeError(
            f"schemathesis run did not complete (exit {done.returncode}): {done.stderr[-500:]}"
        )
    failing: dict[str, int] = {}
    for code, title, count in _CLI_FAILURE.findall(done.stdout):
        for check in _checks_for(code, title):
            failing[check] = failing.get(check, 0) + int(count)
    return failing


def _checks_for(code: str, title: str) -> list[str]:
    """The check names behind a failure code (custom checks name themselves in the title)."""
    if code == "ST901":
        return _CUSTOM.findall(title)[:1]
    from schemathesis.core.failures import Failure

    def subclasses(cls: type[Failure]) -> Iterator[type[Failure]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    import schemathesis.openapi.checks  # noqa: F401 - registers the OpenAPI failure classes

    names = {name for cls in subclasses(Failure) if cls.code == code for name in cls.checks}
    return sorted(names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests.server.prism",
        description="Run the server contract suite against Stoplight Prism mocking "
        "openapi/transactions-refresh.yaml and compare with the documented results (docs/contract.md). "
        "Exit 0: as documented; 1: different; 2: Prism or a run could not complete.",
    )
    parser.add_argument(
        "--reports", type=Path, default=ROOT / "reports", help="where results go (default: reports/)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds allowed for each run (default: 300)"
    )
    args = parser.parse_args(argv)
    if not PRISM.exists():
        print(f"error: {PRISM} not found; run `make setup` (npm ci installs Prism)", file=sys.stderr)
        return 2
    args.reports.mkdir(parents=True, exist_ok=True)
    try:
        with running_prism(_free_port(), args.reports / "prism.log") as base_url:
            print(f"==> Prism mocking {SPEC.relative_to(ROOT)} on {base_url}")
            # The CLI first: Prism 5.16.0 exits on the pytest suite's 5000-deep JSON body (its request logger
            # throws), so every later request is refused.
            print("==> 1/2 schemathesis run (every check, continue-on-failure)")
            failing = run_cli(base_url, args.reports, args.timeout)
            print("==> 2/2 pytest suite (scenarios + generated tests)")
            scenarios = run_pytest_suite(base_url, args.reports, args.timeout)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return report(scenarios, failing, args.reports)


def report(outcomes: dict[str, str], failing: dict[str, int], reports: Path) -> int:
    scenario_outcomes = {
        name.removeprefix("test_scenario[").removesuffix("]"): outcome
        for name, outcome in outcomes.items()
        if name.startswith("test_scenario[")
    }
    passing = {name for name, outcome in scenario_outcomes.items() if outcome == "passed"}
    print("\n==> Prism (schema-only mock) against the Plaid contract")
    counts = ", ".join(f"{name} ({count})" for name, count in sorted(failing.items()))
    print(f"  checks failing in `schemathesis run`: {counts}")
    for name, outcome in sorted(scenario_outcomes.items()):
        print(f"  scenario {name:<42} {outcome}")
    results = {"failing_checks": failing, "scenarios": scenario_outcomes, "generated": {
        name: outcome for name, outcome in outcomes.items() if not name.startswith("test_scenario[")
    }}  # fmt: skip
    (reports / "contract-prism-results.json").write_text(
        json.dumps(results, indent=2) + "\n", encoding="utf-8"
    )
    differences = []
    if set(failing) != EXPECTED_FAILING_CHECKS:
        differences.append(
            f"failing checks {sorted(failing)} != documented {sorted(EXPECTED_FAILING_CHECKS)}"
        )
    if passing != EXPECTED_PASSING_SCENARIOS:
        differences.append(
            f"passing scenarios {sorted(passing)} != documented {sorted(EXPECTED_PASSING_SCENARIOS)}"
        )
    if differences:
        print("\nRESULT: Prism's results differ from docs/contract.md:\n  " + "\n  ".join(differences))
        return 1
    print(
        "\nRESULT: as documented: Prism passes the schema-level checks and fails the Plaid semantics "
        f"({len(failing)} checks, {len(scenario_outcomes) - len(passing)} scenarios failing or skipped). "
        "Results: reports/contract-prism-*.xml, reports/contract-prism-results.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
