"""Many slow calls in flight: 100 concurrent refreshes, each held 2 s by the server's latency knob.

The production shape of this endpoint: slow answers, many Items. Async (one client, 100 tasks) and
sync (one client shared by 100 threads). A fresh reference server per run, with Plaid's own rate
limits (2 per Item and 100 per client per minute): 100 distinct Items, 100 calls, so none is
refused and no warm-up call is allowed (it would be the 101st in the minute).
"""

from __future__ import annotations

import asyncio
import collections
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from bench import procs, stats, targets
from bench.loadgen import Credentials
from bench.results import Goal, Section, Table, fmt

MODES = ("async", "sync, threads")


@dataclass(frozen=True)
class Config:
    rounds: int = 3
    calls: int = 100
    latency_s: float = 2.0


SMOKE = Config(rounds=1, calls=10, latency_s=0.2)


@dataclass
class Outcome:
    wall_s: float
    ok: int
    errors: collections.Counter[str] = field(default_factory=collections.Counter)


def _error_name(exc: BaseException) -> str:
    # The typed error and what it wraps: a PoolTimeout hidden inside a project error still shows.
    names = [type(exc).__name__]
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        names.append(type(cause).__name__)
    return " <- ".join(names)


async def _run_async(client_name: str, base_url: str, creds: Credentials, calls: int) -> Outcome:
    client = _async_factory(client_name)(base_url, creds)
    assert client is not None
    outcome = Outcome(0.0, 0)

    async def one(i: int) -> None:
        try:
            await client.call(creds.token(i))
            outcome.ok += 1
        except Exception as exc:  # counted and reported, never hidden
            outcome.errors[_error_name(exc)] += 1

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(calls)))
    outcome.wall_s = time.perf_counter() - start
    await client.close()
    return outcome


def _run_threads(client_name: str, base_url: str, creds: Credentials, calls: int) -> Outcome:
    client = _sync_factory(client_name)(base_url, creds)
    assert client is not None
    outcome = Outcome(0.0, 0)

    def one(i: int) -> None:
        try:
            client.call(creds.token(i))
            outcome.ok += 1  # += on an int attribute under the GIL; only counts, no timing depends on it
        except Exception as exc:
            outcome.errors[_error_name(exc)] += 1

    with ThreadPoolExecutor(max_workers=calls) as pool:
        start = time.perf_counter()
        list(pool.map(one, range(calls)))
        outcome.wall_s = time.perf_counter() - start
    client.close()
    return outcome


def _sync_factory(name: str) -> targets.SyncFactory:
    return {
        "raw httpx": targets.raw_httpx_sync,
        "generated client": targets.generated_sync,
        "this project's client": targets.project_sync,
    }[name]


def _async_factory(name: str) -> targets.AsyncFactory:
    factories: dict[str, targets.AsyncFactory] = {
        "raw httpx": targets.raw_httpx_async,
        "generated client": targets.generated_async,
        "this project's client": targets.project_async,
    }
    return factories[name]


def run(config: Config) -> Section:
    section = Section(
        "slow_calls", f"5. Many slow calls in flight ({config.calls} concurrent, {config.latency_s:g} s each)"
    )
    plan = procs.cpu_plan()
    creds = targets.credentials(token_count=config.calls)
    items = targets.write_items_file(procs.ROOT / "reports" / "bench-items-slow.json", creds)
    project = "this project's client" if targets.project_client_available() else "generated client"
    clients = [project, "raw httpx"]
    outcomes: dict[tuple[str, str], list[Outcome]] = {}
    for r in range(config.rounds):
        for client_name in clients:
            for mode in MODES if r % 2 == 0 else MODES[::-1]:
                port = procs.free_port()
                argv = procs.python_server(
                    "reference", port, "--items", str(items), "--latency", str(config.latency_s)
                )
                with procs.running(
                    f"reference (slow calls, {mode})", argv, port=port, cpus=plan.server
                ) as srv:
                    if r == 0 and client_name == project:
                        section.commands.append(srv.command)
                    if mode == "async":
                        outcome = asyncio.run(_run_async(client_name, srv.base_url, creds, config.calls))
                    else:
                        outcome = _run_threads(client_name, srv.base_url, creds, config.calls)
                outcomes.setdefault((client_name, mode), []).append(outcome)
    table = Table("", ["client", "mode", "wall s (median)", "x server latency", "ok", "errors (all rounds)"])
    for (client_name, mode), runs in outcomes.items():
        wall = stats.median([o.wall_s for o in runs])
        errors: collections.Counter[str] = collections.Counter()
        for o in runs:
            errors.update(o.errors)
        table.rows.append(
            [
                client_name,
                mode,
                fmt(wall, 2),
                f"{wall / config.latency_s:.2f}x",
                f"{sum(o.ok for o in runs)}/{config.calls * len(runs)}",
                ", ".join(f"{k}: {v}" for k, v in sorted(errors.items())) or "none",
            ]
        )
        if client_name == project:
            pool_errors = sum(v for k, v in errors.items() if "Pool" in k)
            section.goals.append(
                Goal(
                    f"{config.calls} slow calls, {mode} ({project}): wall / server latency",
                    wall / config.latency_s,
                    "<=",
                    1.2,
                )
            )
            section.goals.append(
                Goal(
                    f"{config.calls} slow calls, {mode} ({project}): pool timeouts",
                    pool_errors,
                    "<=",
                    0,
                    "errors",
                )
            )
    section.tables.append(table)
    section.notes += [
        f"{config.rounds} rounds; each run starts a fresh reference server (latency knob "
        f"{config.latency_s:g} s, "
        "Plaid's rate limits) so every run begins with an empty rate-limit window; no warm-up "
        "call, so the wall "
        "time includes opening the connections, as a service's first burst would.",
        "Async: one client, asyncio.gather of all calls. Sync: one client shared by a "
        "ThreadPoolExecutor with one "
        "thread per call. Every call must answer 200; anything else is counted under errors by "
        "exception type "
        "(a PoolTimeout wrapped in a typed error shows as `Error <- PoolTimeout`).",
        "raw httpx rows use httpx's default pool (max_connections=100) with the same 60 s timeout.",
    ]
    section.raw = {f"{c} / {m}": [o.__dict__ for o in runs] for (c, m), runs in outcomes.items()}
    return section
