"""Import time and peak RSS of a fresh Python process, per client.

Each sample is a new interpreter (`python -c ...`) that times its own import statement with
perf_counter and reports its peak RSS (VmHWM) once imported; the whole process wall time, from
spawn to exit, is recorded too. Targets are sampled in interleaved, rotated rounds and reported as
medians. Bytecode caches are warm (one unmeasured run of each target first, allowed to write them even where
PYTHONDONTWRITEBYTECODE is set), as in a deployed service.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bench import procs, stats, targets
from bench.results import Goal, Section, Table, fmt, fmt_ratio

# The child: time the import statement, then print the figures as JSON.
_CHILD = (
    "import time as _t\n"
    "_s = _t.perf_counter()\n"
    "{stmt}\n"
    "_e = _t.perf_counter()\n"
    "_hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
    'print(\'{{"import_s": %r, "hwm_kib": %s}}\' % (_e - _s, _hwm))\n'
)

GENERATED_STMT = (
    "from plaid_refresh_client import Client\n"
    "from plaid_refresh_client.api.transactions import transactions_refresh\n"
    "from plaid_refresh_client.models import TransactionsRefreshRequest"
)
PLAID_STMT = (
    "from plaid.api import plaid_api\n"
    "from plaid.model.transactions_refresh_request import TransactionsRefreshRequest"
)

PROJECT_BUILD_STMT = (
    f"PlaidRefreshClient.sandbox(client_id={targets.FAKE_CLIENT_ID!r}, "
    f"secret={targets.FAKE_SECRET!r}).close()"
)
PLAID_BUILD_STMT = (
    "import plaid\n"
    "plaid_api.PlaidApi(plaid.ApiClient(plaid.Configuration(host=plaid.Environment.Sandbox, api_key="
    f"{{'clientId': {targets.FAKE_CLIENT_ID!r}, 'secret': {targets.FAKE_SECRET!r}}})))"
)


@dataclass(frozen=True)
class Config:
    rounds: int = 25


SMOKE = Config(rounds=2)


def import_targets() -> dict[str, str]:
    found = {
        "python, nothing imported": "pass",
        "httpx alone": "import httpx",
        "generated client": GENERATED_STMT,
    }
    project = targets.project_import_statement()
    if project is not None:
        found["this project's client"] = project
    project_async = targets.project_async_import_statement()
    if project_async is not None:
        found["this project's client, async"] = project_async
    found["plaid-python transactions API"] = PLAID_STMT
    # The client's import defers the generated code to the first client built: these rows show what
    # a service pays by its first call, side by side with plaid-python's client built the same way.
    if project is not None:
        found["this project's client, imported and one client built"] = project + "\n" + PROJECT_BUILD_STMT
    found["plaid-python, imported and one client built"] = PLAID_STMT + "\n" + PLAID_BUILD_STMT
    return found


@dataclass(frozen=True)
class Sample:
    import_s: float
    maxrss_mib: float
    process_s: float


# A deployed service imports from bytecode caches (pip writes them at install). This machine sets
# PYTHONDONTWRITEBYTECODE=1, and uv installs without them: children may write caches, so the warm-up run
# leaves every target measured from cached bytecode, as in production.
_CHILD_ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}

# What a service has installed: the project's runtime dependencies (README: `pip install
# ./generated_client .`) plus plaid-python, without the dev tools. The dev venv carries rich, click and
# pygments (schemathesis needs them), and with them present `import httpx` also imports its command line.
RUNTIME_VENV = procs.ROOT / ".venv-bench"


def runtime_python() -> Path:
    """The runtime-only virtualenv's python, made (or brought up to date) from uv.lock."""
    uv = procs.ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        raise RuntimeError(f"{uv} is missing: run the benchmarks through `make bench`, which installs it")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(RUNTIME_VENV)}
    command = [str(uv), "sync", "--frozen", "--no-default-groups", "--group", "bench", "--quiet"]
    done = subprocess.run(command, cwd=procs.ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"could not build {RUNTIME_VENV.name}: {done.stderr.strip()[-500:]}")
    return RUNTIME_VENV / "bin" / "python"


def sample(stmt: str, python: Path) -> Sample:
    start = time.perf_counter()
    out = subprocess.run(
        [str(python), "-c", _CHILD.format(stmt=stmt)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=procs.ROOT,
        env=_CHILD_ENV,
    )
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"import failed: {stmt!r}: {out.stderr.strip()[-500:]}")
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return Sample(data["import_s"], data["hwm_kib"] / 1024.0, elapsed)


def run(config: Config) -> Section:
    found = import_targets()
    names = list(found)
    python = runtime_python()
    for name in names:  # warm the bytecode caches; not measured
        sample(found[name], python)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for r in range(config.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            samples[name].append(sample(found[name], python))
    return _tabulate(found, samples, config)


def _series(samples: list[Sample], field: str) -> list[float]:
    return [float(getattr(s, field)) for s in samples]


def _tabulate(found: dict[str, str], samples: dict[str, list[Sample]], config: Config) -> Section:
    section = Section("imports", "2. Import time and peak RSS, fresh process")
    httpx_t = _series(samples["httpx alone"], "import_s")
    httpx_m = _series(samples["httpx alone"], "maxrss_mib")
    plaid_t = _series(samples["plaid-python transactions API"], "import_s")
    plaid_m = _series(samples["plaid-python transactions API"], "maxrss_mib")
    table = Table(
        "",
        [
            "import",
            "import ms",
            "peak RSS MiB",
            "process ms",
            "time x httpx",
            "RSS x httpx",
            "time x plaid-python",
            "RSS x plaid-python",
        ],
    )
    for name, series in samples.items():
        t = _series(series, "import_s")
        m = _series(series, "maxrss_mib")
        table.rows.append(
            [
                name,
                fmt(stats.median(t) * 1000),
                fmt(stats.median(m)),
                fmt(stats.median(_series(series, "process_s")) * 1000),
                fmt_ratio(stats.paired_ratio(t, httpx_t)),
                fmt_ratio(stats.paired_ratio(m, httpx_m)),
                fmt_ratio(stats.paired_ratio(t, plaid_t)),
                fmt_ratio(stats.paired_ratio(m, plaid_m)),
            ]
        )
    section.tables.append(table)
    project = "this project's client" if "this project's client" in samples else "generated client"
    pt = _series(samples[project], "import_s")
    pm = _series(samples[project], "maxrss_mib")
    section.goals += [
        Goal(f"import time, {project} / httpx alone", stats.paired_ratio(pt, httpx_t), "<=", 1.15),
        Goal(f"import peak RSS, {project} / httpx alone", stats.paired_ratio(pm, httpx_m), "<=", 1.15),
        Goal(f"import time, {project} / plaid-python", stats.paired_ratio(pt, plaid_t), "<=", 0.5),
        Goal(f"import peak RSS, {project} / plaid-python", stats.paired_ratio(pm, plaid_m), "<=", 0.5),
    ]
    section.notes += [
        f"Measured in `{RUNTIME_VENV.name}/`, a runtime-only virtualenv made from uv.lock by "
        "`uv sync --frozen --no-default-groups --group bench` (the project's runtime dependencies and "
        "plaid-python, no dev tools: in the dev venv rich/click/pygments make `import httpx` import its "
        "command line too), "
        "from cached bytecode as in a deployed service.",
        f"{config.rounds} interleaved rounds; one fresh `python -c` process per sample; medians. 'import ms' "
        "is the import statement timed inside the process; 'process ms' is spawn to exit (interpreter start "
        "included); peak RSS is the process's VmHWM after the import (not ru_maxrss: Linux carries "
        "the parent's "
        "high-water mark across fork+exec into it).",
        "Statements timed: "
        + "; ".join(f"{name}: `{stmt.replace(chr(10), '; ')}`" for name, stmt in found.items()),
    ]
    if project == "generated client":
        section.notes.append(
            "This project's client was not importable in this run: the generated client stands in."
        )
    section.raw = {name: [s.__dict__ for s in series] for name, series in samples.items()}
    return section
