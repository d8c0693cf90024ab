"""Client cost per call: each client against the same fixed-response server, interleaved rounds.

The server is the floor app (bench.floor_app) on uvicorn with httptools + uvloop in a separate
process pinned to its own core: in a thread it would share this process's GIL and inflate every
client's figure with server work; in its own process on its own core it answers in a constant
time, so differences between clients are client costs. The clients run in this process, pinned to
the other core, one after the other in rotated order within each round.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bench import instructions, procs, stats, targets
from bench.loadgen import Credentials
from bench.results import Goal, Section, Table, fmt, fmt_ratio

CONCURRENCY = 32
PROJECT = "this project's client"
POOL_BEFORE_NAME = "this project's client, 100 idle kept (before 8b66b74)"
SyncFactory = Callable[[str, Credentials], "targets.SyncClient | None"]
AsyncFactory = Callable[[str, Credentials], "targets.AsyncClient | None"]


@dataclass(frozen=True)
class Config:
    rounds: int = 7
    calls: int = 2000  # sync calls per client per round
    async_calls: int = 1000  # async calls per client per round (async calls cost more here)
    warmup: int = 200
    instruction_calls: int = 300  # calls per callgrind child (0 turns the count off)
    instruction_clients: tuple[str, ...] = ("raw httpx", "generated client", "plaid-python", PROJECT)


SMOKE = Config(
    rounds=2,
    calls=40,
    async_calls=40,
    warmup=10,
    instruction_calls=20,
    instruction_clients=("raw httpx", PROJECT),
)


@contextlib.contextmanager
def pinned_to(cpus: set[int]) -> Iterator[None]:
    before = os.sched_getaffinity(0)
    try:
        if cpus:
            os.sched_setaffinity(0, cpus)
        yield
    finally:
        os.sched_setaffinity(0, before)


def time_sync(client: targets.SyncClient, creds: Credentials, calls: int) -> float:
    """Seconds per call over `calls` sequential calls."""
    start = time.perf_counter()
    for i in range(calls):
        client.call(creds.token(i))
    return (time.perf_counter() - start) / calls


async def _time_async(
    factory: AsyncFactory, base_url: str, creds: Credentials, calls: int, warmup: int
) -> float:
    client = factory(base_url, creds)
    if client is None:
        raise RuntimeError("client vanished")
    try:

        async def burst(calls: int) -> float:
            remaining = calls

            async def worker() -> None:
                nonlocal remaining
                while remaining > 0:
                    remaining -= 1
                    await client.call(creds.token(remaining))

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return time.perf_counter() - start

        # Warm up with the measured shape (CONCURRENCY workers), so the pool holds the connections the
        # measured calls use: a wider warm-up burst would leave extra idle connections in the pool.
        await burst(max(warmup, CONCURRENCY))
        return await burst(calls) / calls
    finally:
        await client.close()


def time_async(factory: AsyncFactory, base_url: str, creds: Credentials, calls: int, warmup: int) -> float:
    """Seconds per call (wall / calls) with CONCURRENCY tasks sharing one client, a fresh loop per round."""
    return asyncio.run(_time_async(factory, base_url, creds, calls, warmup))


def cases() -> tuple[dict[str, SyncFactory], dict[str, AsyncFactory]]:
    sync: dict[str, SyncFactory] = {
        "raw httpx": targets.raw_httpx_sync,
        "generated client": targets.generated_sync,
        "plaid-python": targets.plaid_python_sync,
    }
    asynchronous: dict[str, AsyncFactory] = {
        "raw httpx": targets.raw_httpx_async,
        "generated client": targets.generated_async,
    }
    if targets.project_client_available():
        sync["this project's client"] = targets.project_sync
        asynchronous["this project's client"] = targets.project_async
        asynchronous[POOL_BEFORE_NAME] = targets.project_async_pool_before
    return sync, asynchronous


def run(config: Config) -> Section:
    plan = procs.cpu_plan()
    creds = targets.credentials()
    sync_factories, async_factories = cases()
    port = procs.free_port()
    sync_times: dict[str, list[float]] = {name: [] for name in sync_factories}
    async_times: dict[str, list[float]] = {name: [] for name in async_factories}
    section = Section("clients", "1. Client cost per call")
    with procs.running(
        "floor (clients)", procs.python_server("floor", port), port=port, cpus=plan.server
    ) as srv:
        section.commands.append(srv.command)
        with pinned_to(plan.load):
            sync_clients = {}
            for name, factory in sync_factories.items():
                client = factory(srv.base_url, creds)
                if client is not None:
                    time_sync(client, creds, config.warmup)
                    sync_clients[name] = client
            names = list(sync_clients) + [f"async:{n}" for n in async_factories]
            for r in range(config.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                for name in order:
                    if name.startswith("async:"):
                        key = name.removeprefix("async:")
                        async_times[key].append(
                            time_async(
                                async_factories[key], srv.base_url, creds, config.async_calls, config.warmup
                            )
                        )
                    else:
                        sync_times[name].append(time_sync(sync_clients[name], creds, config.calls))
            for client in sync_clients.values():
                client.close()
        counted = _count_instructions(
            srv.base_url, [n for n in config.instruction_clients if n in sync_clients], config
        )
    _tabulate(section, sync_times, async_times, plan.describe(), config)
    _tabulate_instructions(section, counted, config)
    return section


def _count_instructions(base_url: str, names: list[str], config: Config) -> dict[str, float]:
    if not config.instruction_calls or not instructions.available():
        return {}
    return instructions.per_call(names, base_url, config.instruction_calls)


def _tabulate_instructions(section: Section, counted: dict[str, float], config: Config) -> None:
    if not counted:
        section.notes.append(
            "No instruction counts in this run: valgrind not found (or the count is switched off)."
        )
        return
    floor = counted.get("raw httpx")
    plaid = counted.get("plaid-python")
    table = Table(
        "CPU instructions per sequential call in the client process (callgrind; immune to machine noise)",
        ["client", "instructions per call", "x raw httpx", "x plaid-python"],
    )
    for name, value in counted.items():
        table.rows.append(
            [
                name,
                fmt(value, 0),
                fmt_ratio(value / floor) if floor else "n/a",
                fmt_ratio(value / plaid) if plaid else "n/a",
            ]
        )
    section.tables.append(table)
    section.notes.append(
        "Instructions: each client in its own `valgrind --tool=callgrind` child against the same floor "
        f"server, once with {instructions.WARMUP} warm-up calls only and once with "
        f"{config.instruction_calls} more; the difference divided by the calls. User-space work of "
        "the client process only (the server and the kernel are not counted), so the same on every run "
        "however busy the machine is: the figure to compare clients by when the wall-clock ratios above "
        "are noisy."
    )


def _tabulate(
    section: Section,
    sync_times: dict[str, list[float]],
    async_times: dict[str, list[float]],
    cpu_note: str,
    config: Config,
) -> None:
    sync_times = {k: v for k, v in sync_times.items() if v}
    async_times = {k: v for k, v in async_times.items() if v}
    floor_sync = sync_times["raw httpx"]
    floor_async = async_times["raw httpx"]
    plaid = sync_times.get("plaid-python", [])
    table = Table(
        "",
        ["client", "mode", "µs per call (median)", "x raw httpx (same mode)", "x plaid-python (sync)"],
    )
    for mode, series, floor in (
        ("sync, sequential", sync_times, floor_sync),
        (f"async, {CONCURRENCY} concurrent", async_times, floor_async),
    ):
        for name, values in series.items():
            table.rows.append(
                [
                    name,
                    mode,
                    fmt(stats.median(values) * 1e6),
                    fmt_ratio(stats.paired_ratio(values, floor)),
                    fmt_ratio(stats.paired_ratio(values, plaid)) if plaid else "n/a",
                ]
            )
    section.tables.append(table)
    project = PROJECT if PROJECT in sync_times else "generated client"
    section.goals.append(
        Goal(
            f"client per call, sync ({project}) / raw httpx",
            stats.paired_ratio(sync_times[project], floor_sync),
            "<=",
            1.05,
        )
    )
    if project in async_times:
        section.goals.append(
            Goal(
                f"client per call, async x{CONCURRENCY} ({project}) / raw httpx async x{CONCURRENCY}",
                stats.paired_ratio(async_times[project], floor_async),
                "<=",
                1.05,
            )
        )
    section.notes += [
        f"{config.rounds} interleaved rounds of {config.calls} sync / {config.async_calls} async "
        "calls per client (order rotated each round), "
        f"after {config.warmup} warm-up calls; µs per call is the median over rounds, ratios the median of "
        "per-round ratios.",
        "Async: µs per call = wall time / calls, with "
        f"{CONCURRENCY} tasks sharing one client on one asyncio loop (fresh loop and client per round, pool "
        "connections opened before timing).",
        "Server: bench.floor_app (fixed 200 answer) on uvicorn httptools + uvloop in a separate process "
        "(not a thread: a thread would share this process's GIL and charge server work to the client). "
        + cpu_note
        + ".",
        "Every call checks it got a 200 with a request_id, parsed the way each client normally parses it.",
    ]
    if POOL_BEFORE_NAME in async_times:
        section.notes.append(
            f"'{POOL_BEFORE_NAME}': the same client with the pool it had before commit 8b66b74 "
            "(max_keepalive_connections=100 instead of 20): the before/after of that fix, in the same run."
        )
    if project == "generated client":
        section.notes.append(
            "This project's client (plaid_refresh.client) was not importable in this run: the generated "
            "client stands in its slot."
        )
    section.raw = {"sync_s_per_call": sync_times, "async_s_per_call": async_times}
