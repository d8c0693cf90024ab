"""Contract testing speed: schemathesis cases per second against the reference server.

Two transports, same work: in-process (schemathesis calls the ASGI app directly, no sockets) and
over loopback (the reference server on uvicorn in a separate process). The work is what a contract
run does: every operation of the spec, positive and negative generation, the examples, coverage
and fuzzing phases, all of schemathesis' checks on every response. When the project's contract
suite (`make contract`) exists, it is timed as well, since its own checks add to the cost.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import procs, stats, targets
from bench.results import Goal, Section, Table, fmt

SPEC = procs.ROOT / "openapi" / "transactions-refresh.yaml"
# The server contract suite as it was before issue 10 (oracle, run-level checks, more scenarios): `make bench`
# times it side by side with today's suite, since the issue bounds the new suite to 1.5x the old one's time.
BASELINE_COMMIT = "def729b"
WALL_LIMIT = 1.5


@dataclass(frozen=True)
class Config:
    rounds: int = 3
    max_examples: int = 100  # schemathesis' default per operation and mode
    suite: bool = True
    suite_rounds: int = 2
    suite_max_examples: int | None = None  # None: the suite's own default
    wall_rounds: int = 3  # make contract wall time, before issue 10 and now, alternating


SMOKE = Config(rounds=1, max_examples=3, suite=True, suite_rounds=1, suite_max_examples=2, wall_rounds=1)


@contextlib.contextmanager
def baseline_suite() -> Iterator[Path | None]:
    """A directory holding `contract_tests/` as of BASELINE_COMMIT (git archive), or None without git
    history (a shallow or exported tree)."""
    with tempfile.TemporaryDirectory(prefix="contract-baseline-") as tmp:
        archive = Path(tmp) / "suite.tar"
        done = subprocess.run(
            ["git", "archive", "--format=tar", "-o", str(archive), BASELINE_COMMIT, "contract_tests"],
            cwd=procs.ROOT,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            yield None
            return
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def time_make_contract(root: Path) -> float | None:
    """Wall seconds of `make contract`'s pytest line (interpreter start-up included) with `root` as the
    directory the suite is imported from; None when it could not run. A run that finds violations counts:
    the old suite's expectations may trail today's reference server (e.g. Plaid-Version values accepted
    since), and the time is the same work either way."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    env["PYTHONPATH"] = str(root)
    start = time.perf_counter()
    out = subprocess.run(
        suite_command(), cwd=root, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.perf_counter() - start
    return seconds if out.returncode in (0, 1) else None


def wall_side_by_side(rounds: int) -> tuple[list[float], list[float], str]:
    """`make contract` against the embedded server, before issue 10 and now, alternating round by round."""
    before: list[float] = []
    now: list[float] = []
    with baseline_suite() as old:
        if old is None:
            return before, now, f"no git history for {BASELINE_COMMIT}: the baseline was not timed"
        for _ in range(rounds):
            for root, runs in ((old, before), (procs.ROOT, now)):
                seconds = time_make_contract(root)
                if seconds is not None:
                    runs.append(seconds)
    return before, now, ""


def _schema(mode: str, max_examples: int, base_url: str | None, app: Any) -> Any:
    import schemathesis

    creds = targets.credentials()
    data: dict[str, Any] = {
        "headers": {"PLAID-CLIENT-ID": creds.client_id, "PLAID-SECRET": creds.secret},
        "generation": {"mode": mode, "deterministic": True, "max-examples": max_examples},
        "phases": {"examples": {"enabled": mode == "positive"}, "stateful": {"enabled": False}},
        # Plaid answers bad keys with 400, never 401/403, so this check cannot apply.
        "checks": {"ignored_auth": {"enabled": False}},
    }
    if base_url is not None:
        data["base-url"] = base_url
    schema = schemathesis.openapi.from_path(str(SPEC), config=schemathesis.Config.from_dict(data))
    if app is not None:
        schema.app = app

    def map_case(context: Any, case: Any) -> Any:
        # Generated body credentials would override the header ones; positive cases need a real Item.
        if isinstance(case.body, dict):
            case.body.pop("client_id", None)
            case.body.pop("secret", None)
            meta = case.meta
            if meta is not None and meta.generation.mode.is_positive and "access_token" in case.body:
                case.body["access_token"] = creds.token(0)
        return case

    schema.hook("map_case")(map_case)
    return schema


@dataclass(frozen=True)
class Run:
    cases: int
    seconds: float
    failures: int

    @property
    def per_second(self) -> float:
        return self.cases / self.seconds if self.seconds > 0 else float("nan")


def run_engine(max_examples: int, *, base_url: str | None = None, app: Any = None) -> Run:
    """One schemathesis engine run per generation mode; cases counted from the finished scenarios."""
    from schemathesis import engine
    from schemathesis.engine import Status
    from schemathesis.engine.events import ScenarioFinished

    cases = failures = 0
    start = time.perf_counter()
    for mode in ("positive", "negative"):
        for event in engine.from_schema(_schema(mode, max_examples, base_url, app)).execute():
            if isinstance(event, ScenarioFinished):
                cases += len(event.recorder.cases)
                failures += event.status in (Status.FAILURE, Status.ERROR)
    return Run(cases, time.perf_counter() - start, failures)


SUITE_TRANSPORTS = {"in-process": {}, "loopback": {"PLAID_CONTRACT_TRANSPORT": "loopback"}}


def suite_command() -> list[str]:
    """What `make contract` runs (its pytest line), with the summary written where we read it."""
    return [
        str(procs.ROOT / ".venv" / "bin" / "pytest"),
        "-q",
        "-p",
        "no:cacheprovider",
        "contract_tests/server",
    ]


def run_suite(transport: str, max_examples: int | None) -> tuple[Run | None, str]:
    """The project's suite (`make contract`) on one transport; figures from its JSON summary:
    cases generated and checked, and the seconds spent in them (its own cases/s definition)."""
    if not (procs.ROOT / "contract_tests" / "server" / "summary.py").exists():
        return None, "the project's contract suite does not exist yet"
    summary = procs.ROOT / "reports" / f"bench-contract-{transport}.json"
    summary.unlink(missing_ok=True)
    env = {**os.environ, **SUITE_TRANSPORTS[transport], "PLAID_CONTRACT_SUMMARY_JSON": str(summary)}
    if max_examples is not None:
        env["PLAID_CONTRACT_MAX_EXAMPLES"] = str(max_examples)
    for name in ("PLAID_BASE_URL", "PLAID_CONTRACT_APP"):  # always the embedded reference server
        env.pop(name, None)
    out = subprocess.run(
        suite_command(),
        cwd=procs.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if not summary.exists():
        tail = " | ".join((out.stdout + out.stderr).strip().splitlines()[-3:])
        return None, f"the suite wrote no summary (exit {out.returncode}): {tail}"
    data = json.loads(summary.read_text())
    failures = len(data.get("failures", []))
    return Run(int(data["generated_cases"]), float(data["generated_seconds"]), failures), (
        f"exit {out.returncode}, {failures} failure(s), {float(data['wall_seconds']):.1f} s wall, "
        f"{len(data.get('checks', []))} checks"
    )


def run(config: Config) -> Section:
    from plaid_refresh.server import create_app  # noqa: F401 - fail early and clearly if missing

    section = Section("contract", "4. Contract suite speed")
    plan = procs.cpu_plan()
    creds = targets.credentials()
    items = targets.write_items_file(procs.ROOT / "reports" / "bench-items.json", creds)
    in_process: list[Run] = []
    loopback: list[Run] = []
    port = procs.free_port()
    argv = procs.python_server("reference", port, "--items", str(items), "--high-limits")
    with procs.running("reference (contract)", argv, port=port, cpus=plan.server) as srv:
        section.commands.append(srv.command)
        # The first engine run in a process pays one-off costs (imports, hypothesis and schema set-up,
        # ~1-2 s): a warm-up run keeps them out of the per-case figure, and is reported on its own.
        warm_app = targets.reference_app(items_path=items, latency=0.0, high_limits=True)
        cold = run_engine(1, app=warm_app)
        run_engine(1, base_url=srv.base_url)
        for _ in range(config.rounds):
            app = targets.reference_app(items_path=items, latency=0.0, high_limits=True)
            in_process.append(run_engine(config.max_examples, app=app))
            loopback.append(run_engine(config.max_examples, base_url=srv.base_url))
    table = Table("", ["run", "transport", "cases (per round)", "seconds (median)", "cases/s (median)"])
    for name, runs in (("in-process", in_process), ("loopback", loopback)):
        table.rows.append(
            [
                "schemathesis engine, positive + negative",
                name,
                str(runs[0].cases),
                fmt(stats.median([r.seconds for r in runs]), 2),
                fmt(stats.median([r.per_second for r in runs])),
            ]
        )
    suite_notes: list[str] = []
    suite_rates: dict[str, list[float]] = {}
    if config.suite:
        suite_runs: dict[str, list[Run]] = {name: [] for name in SUITE_TRANSPORTS}
        for _ in range(config.suite_rounds):
            for transport in SUITE_TRANSPORTS:
                suite, note = run_suite(transport, config.suite_max_examples)
                suite_notes.append(f"{transport}: {note}")
                if suite is not None:
                    suite_runs[transport].append(suite)
        for transport, runs in suite_runs.items():
            suite_rates[transport] = [r.per_second for r in runs]
            if runs:
                table.rows.append(
                    [
                        "make contract (the project's suite, Plaid checks included)",
                        transport,
                        str(runs[0].cases),
                        fmt(stats.median([r.seconds for r in runs]), 2),
                        fmt(stats.median([r.per_second for r in runs])),
                    ]
                )
        section.commands.append(
            "PLAID_CONTRACT_SUMMARY_JSON=reports/bench-contract-<transport>.json "
            "[PLAID_CONTRACT_TRANSPORT=loopback] "
            ".venv/bin/pytest -q -p no:cacheprovider contract_tests/server   # = make contract"
        )
    wall_note = ""
    if config.suite:
        before, now, wall_note = wall_side_by_side(config.wall_rounds)
        labelled = (
            (f"make contract before issue 10 ({BASELINE_COMMIT})", before),
            ("make contract now", now),
        )
        for name, walls in labelled:
            if walls:
                table.rows.append(
                    [f"{name}, wall time incl. start-up", "in-process", "-", fmt(stats.median(walls), 2), "-"]
                )
        ratio = stats.median(now) / stats.median(before) if before and now else float("nan")
        section.goals.append(
            Goal("make contract wall time, now vs before issue 10 (in-process)", ratio, "<=", WALL_LIMIT)
        )
    section.tables.append(table)
    if wall_note:
        section.notes.append(wall_note)
    # The goal is about the project's suite when it ran, else about the plain engine run.
    measured, label = stats.median([r.per_second for r in in_process]), "schemathesis engine"
    if suite_rates.get("in-process"):
        measured, label = stats.median(suite_rates["in-process"]), "make contract"
    goal = f"contract suite cases/s, in-process ({label})"
    section.goals.append(Goal(goal, measured, ">=", 300, "cases/s"))
    section.notes += [
        "Cold start, not in the figures above: the first (warm-up) run in the process took "
        f"{cold.seconds:.2f} s "
        f"for {cold.cases} cases (imports, hypothesis and schema set-up are paid once per process).",
        f"{config.rounds} rounds alternating in-process and loopback; max-examples {config.max_examples} per "
        "operation and mode; deterministic generation; phases examples (positive only), coverage, fuzzing; "
        "all checks but ignored_auth (Plaid answers bad keys with 400, never 401/403).",
        "In-process: schema.app = the reference ASGI app (no socket); loopback: the reference server in a "
        f"separate process ({plan.describe()}), rate limiting on with high limits, as in benchmark 3.",
        "Failing scenarios reported by schemathesis per measured run: "
        + ", ".join(f"{r.failures}" for r in in_process + loopback)
        + " (speed is measured either way; correctness is the contract suite's job).",
    ]
    if suite_notes:
        section.notes.append(
            "make contract runs (its pytest line, summary JSON read back; its cases/s = cases generated and "
            "checked / seconds spent in them): " + "; ".join(suite_notes) + "."
        )
    section.raw = {
        "in_process": [r.__dict__ for r in in_process],
        "loopback": [r.__dict__ for r in loopback],
        "suite_cases_per_second": suite_rates,
    }
    return section
