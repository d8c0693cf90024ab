"""`make mutation`: the unchanged server contract suite against every mutant of mutants.py, BY URL.

Each mutant is served by uvicorn on an ephemeral 127.0.0.1 port and the suite runs as a user runs it
(`pytest contract_tests/server` with PLAID_BASE_URL and PLAID_* credentials in the environment), two at a
time. The unbroken wrapper runs first and must pass, or the score would mean nothing. Prints a table (mutant,
family, caught by) and ends with `mutation score: caught/total` (equivalent mutants are listed with their
reason and count as not caught). Exit: 0 when the score reaches --min-score, 1 below it, 2 when the unbroken
server fails or a run cannot complete.

    .venv/bin/python -m tests.contract_suite.mutation [--only NAME ...] [--max-examples N] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import plaid_refresh.server as builtin
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from plaid_refresh.server.testing import running_server
from tests.contract_suite.mutants import (
    CATALOGUE,
    RATE_TOKEN,
    WEBHOOK_PORT,
    WEBHOOK_TOKEN,
    Mutant,
    free_port,
    unbroken,
)

ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT = 300
_CHECK = re.compile(r"\b(plaid_[a-z_]+|not_a_server_error|status_code_conformance|content_type_conformance|"
                    r"response_schema_conformance|response_headers_conformance|negative_data_rejection|"
                    r"positive_data_acceptance|missing_required_header|unsupported_method|"
                    r"Undocumented [A-Za-z-]+|Server error|Response violates schema|"
                    r"API accepted schema-violating request|"
                    r"API rejected schema-compliant request)")  # fmt: skip


@dataclass
class Result:
    mutant: Mutant | None
    returncode: int
    seconds: float
    failed_tests: list[str] = field(default_factory=list)
    caught_by: list[str] = field(default_factory=list)
    output: str = ""

    @property
    def caught(self) -> bool:
        return self.returncode == 1 and bool(self.failed_tests)


def suite_env(base_url: str, key_id: str | None, max_examples: int, webhook_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    env.update(
        PLAID_BASE_URL=base_url,
        PLAID_CLIENT_ID=DEFAULT_CLIENT_ID,
        PLAID_SECRET=DEFAULT_SECRET,
        PLAID_ACCESS_TOKEN=builtin.TOKEN_HEALTHY,
        PLAID_TOKEN_CAPITAL_ONE=builtin.TOKEN_CAPITAL_ONE_CREDIT,
        PLAID_TOKEN_LOGIN_REQUIRED=builtin.TOKEN_ITEM_LOGIN_REQUIRED,
        PLAID_TOKEN_NO_TRANSACTIONS=builtin.TOKEN_NO_TRANSACTIONS,
        PLAID_TOKEN_INSTITUTION_DOWN=builtin.TOKEN_INSTITUTION_DOWN,
        PLAID_TOKEN_RATE_LIMIT=RATE_TOKEN,
        PLAID_TOKEN_WEBHOOK=WEBHOOK_TOKEN,
        PLAID_CONTRACT_WEBHOOK_LISTEN=f"127.0.0.1:{webhook_port}",
        PLAID_CONTRACT_MAX_EXAMPLES=str(max_examples),
        PLAID_CONTRACT_TIMEOUT="20",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    if key_id:
        env["PLAID_WEBHOOK_KEY_ID"] = key_id
    return env


def run_one(mutant: Mutant | None, max_examples: int, reports: Path) -> Result:
    webhook_port = free_port()
    token = WEBHOOK_PORT.set(webhook_port)
    try:
        app = mutant.build() if mutant is not None else unbroken()
    finally:
        WEBHOOK_PORT.reset(token)
    name = mutant.name if mutant is not None else "unbroken"
    junit = reports / f"{name}.xml"
    started = time.perf_counter()
    with running_server(app) as base_url:
        key_id = getattr(getattr(app, "signer", None), "key_id", None)
        command = [sys.executable, "-m", "pytest", "contract_tests/server", "-q", "-p", "no:cacheprovider",
                   f"--junitxml={junit}"]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                cwd=ROOT,
                env=suite_env(base_url, key_id, max_examples, webhook_port),
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
            )
            returncode, output = done.returncode, done.stdout[-4000:] + done.stderr[-2000:]
        except subprocess.TimeoutExpired:
            returncode, output = 2, f"the suite did not finish within {RUN_TIMEOUT} s"
    result = Result(mutant, returncode, time.perf_counter() - started, output=output)
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            problems = [*case.findall("failure"), *case.findall("error")]
            if not problems:
                continue
            test = case.get("name", "")
            result.failed_tests.append(test)
            text = " ".join(f"{p.get('message', '')} {p.text or ''}" for p in problems)
            if test.startswith("test_scenario["):
                result.caught_by.append(test.removeprefix("test_scenario[").removesuffix("]"))
            else:
                checks = sorted(set(_CHECK.findall(text)))
                entry = f"{test}: {', '.join(checks) or 'failed'}"
                if entry not in result.caught_by:
                    result.caught_by.append(entry)
    return result


def _cell(result: Result, width: int = 90) -> str:
    if result.mutant is not None and result.mutant.equivalent:
        return f"equivalent: {result.mutant.equivalent}"
    if not result.caught:
        return "NOT CAUGHT" if result.returncode in (0, 1) else f"ERROR (exit {result.returncode})"
    # Scenarios first (they name the behaviour), then the generated tests' checks.
    ordered = sorted(result.caught_by, key=lambda c: c.startswith("test_"))
    text = "; ".join(ordered)
    return text if len(text) <= width else text[: width - 3] + "..."


def render(results: list[Result], *, markdown: bool = False) -> list[str]:
    rows = [
        (r.mutant.name, r.mutant.family, _cell(r, 10_000 if markdown else 90)) for r in results if r.mutant
    ]
    if markdown:
        lines = ["| mutant | family | caught by (scenario, or generated test: checks) |", "|---|---|---|"]
        lines += [f"| `{name}` | {family} | {cell.replace('|', '/')} |" for name, family, cell in rows]
        return lines
    lines = [f"{'mutant':<36} {'family':<17} caught by"]
    lines += [f"{name:<36} {family:<17} {cell}" for name, family, cell in rows]
    return lines


def score(results: list[Result]) -> tuple[int, int]:
    counted = [r for r in results if r.mutant is not None]
    caught = sum(1 for r in counted if r.caught and r.mutant is not None and r.mutant.equivalent is None)
    return caught, len(counted)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", nargs="*", default=None, help="run only these mutants (names from the table)"
    )
    parser.add_argument(
        "--max-examples", type=int, default=15, help="fuzzing examples per operation and mode"
    )
    parser.add_argument("--jobs", type=int, default=2, help="suite runs at a time (default 2: two cores)")
    parser.add_argument(
        "--min-score", type=float, default=0.95, help="exit 1 below this share (default 0.95)"
    )
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table as Markdown here")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.only or []) - set(CATALOGUE))
    if unknown:
        parser.error(f"unknown mutants: {', '.join(unknown)} (known: {', '.join(CATALOGUE)})")
    mutants = [CATALOGUE[n] for n in (args.only or CATALOGUE)]
    families = sorted({m.family for m in mutants})
    print(
        f"==> {len(mutants)} mutants in {len(families)} families, each served on 127.0.0.1 and tested by URL"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        reports = Path(tmp)
        base = run_one(None, args.max_examples, reports)
        if base.returncode != 0:
            print("ERROR: the unbroken server fails the suite by URL; the score would mean nothing:")
            print(base.output)
            return 2
        print(f"    unbroken server: passes ({base.seconds:.0f} s)")
        results: list[Result] = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for done, result in enumerate(
                pool.map(lambda m: run_one(m, args.max_examples, reports), mutants), 1
            ):
                results.append(result)
                is_equivalent = result.mutant is not None and result.mutant.equivalent is not None
                mark = "caught" if result.caught else ("equivalent" if is_equivalent else "MISSED")
                print(f"    [{done}/{len(mutants)}] {result.mutant.name if result.mutant else '?'}: {mark} "
                      f"({result.seconds:.0f} s)", flush=True)  # fmt: skip
    print()
    for line in render(results):
        print(line)
    if args.markdown is not None:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text("\n".join(render(results, markdown=True)) + "\n", encoding="utf-8")
    errors = [r for r in results if r.returncode not in (0, 1)]
    for result in errors:
        print(f"\nrun error for {result.mutant.name if result.mutant else '?'}:\n{result.output[-1500:]}")
    caught, total = score(results)
    equivalent = sum(1 for r in results if r.mutant is not None and r.mutant.equivalent is not None)
    print(
        f"\n{len(results)} mutants, {len(families)} families, {equivalent} equivalent (not counted as "
        f"caught); {time.perf_counter() - started:.0f} s"
    )
    print(f"mutation score: {caught}/{total}")
    if errors:
        return 2
    return 0 if total and caught / total >= args.min_score else 1


if __name__ == "__main__":
    sys.exit(main())
