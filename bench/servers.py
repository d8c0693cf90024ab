"""Server throughput and latency (p50, p99) at 1 and 32 connections, with a real load generator.

Servers under test, each in its own process, all pinned to the same core (the load generator gets
the other core), all up for the whole benchmark and measured in interleaved, rotated rounds:
- the floor: bench.floor_app on uvicorn httptools + uvloop;
- the reference server (plaid_refresh.server) on the very same uvicorn stack and settings, with
  validation and rate limiting on;
- Stoplight Prism mocking the same spec, with its default logging and with logging silenced.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import loadgen, procs, stats, targets
from bench.loadgen import Credentials, LoadResult
from bench.results import Goal, Section, Table, fmt, fmt_ratio

SPEC = "openapi/transactions-refresh.yaml"
PRISM = procs.ROOT / "node_modules" / ".bin" / "prism"
CONNECTIONS = (1, 32)
FLOOR = "floor: raw ASGI app"
REFERENCE = "reference server"
REFERENCE_BEFORE = "reference server, jsonschema only (before bbd949b)"
REFERENCE_CLI = "reference server via plaid-refresh serve (JSON access log on, its default)"
PRISM_DEFAULT = "Prism, default logging"
PRISM_QUIET = "Prism, logging silenced"


@dataclass(frozen=True)
class Config:
    rounds: int = 3
    duration_s: float = 8.0
    warmup_s: float = 2.0
    prism: bool = True
    # Also run the asyncio fallback briefly against the floor, so a smoke run exercises both generators.
    exercise_fallback: bool = False
    # Also measure the reference server as it was before its compiled validation fast path.
    before_after: bool = True
    # Also measure the command users run, with its defaults (access log on), for reference.
    cli: bool = True


SMOKE = Config(rounds=1, duration_s=1.0, warmup_s=0.0, exercise_fallback=True)


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    results: dict[int, list[LoadResult]] = field(default_factory=dict)
    env: dict[str, str] | None = None


def server_argvs(config: Config, items_path: Path) -> list[Server]:
    servers = []
    port = procs.free_port()
    servers.append(Server(FLOOR, procs.python_server("floor", port), port))
    if targets.reference_available():
        port = procs.free_port()
        argv = procs.python_server("reference", port, "--items", str(items_path), "--high-limits")
        servers.append(Server(REFERENCE, argv, port))
        if config.before_after:
            port = procs.free_port()
            argv = procs.python_server(
                "reference", port, "--items", str(items_path), "--high-limits", "--no-fast-path"
            )
            servers.append(Server(REFERENCE_BEFORE, argv, port))
        cli = Path(sys.executable).parent / "plaid-refresh"
        if config.cli and cli.exists():
            port = procs.free_port()
            limit = "1000000000"
            argv = [str(cli), "serve", "--port", str(port), "--items", str(items_path)]
            argv += ["--item-limit", limit, "--client-limit", limit]
            creds = targets.credentials()
            # Credentials through the environment, as the CLI recommends (never on a command line).
            env = {"PLAID_CLIENT_ID": creds.client_id, "PLAID_SECRET": creds.secret}
            servers.append(Server(REFERENCE_CLI, argv, port, env=env))
    if config.prism and PRISM.exists():
        for name, level in ((PRISM_DEFAULT, "info"), (PRISM_QUIET, "silent")):
            port = procs.free_port()
            argv = [str(PRISM), "mock", "-h", procs.HOST, "-p", str(port), "-v", level, SPEC]
            servers.append(Server(name, argv, port))
    return servers


def probe(base_url: str, creds: Credentials) -> str:
    """One request as the load generator sends it: its status, to show what the load measures."""
    response = httpx.post(
        base_url + loadgen.PATH,
        json={"access_token": creds.token(0)},
        headers={
            "PLAID-CLIENT-ID": creds.client_id,
            "PLAID-SECRET": creds.secret,
            "Plaid-Version": "2020-09-14",
        },
        timeout=10,
    )
    return f"HTTP {response.status_code}"


def run(config: Config) -> Section:
    plan = procs.cpu_plan()
    creds = targets.credentials()
    use_wrk = loadgen.wrk_available()
    load_prefix = procs.pinned([], plan.load)
    items_path = targets.write_items_file(procs.ROOT / "reports" / "bench-items.json", creds)
    servers = server_argvs(config, items_path)
    section = Section("servers", "3. Server throughput and latency")
    probes: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        running = {}
        for server in list(servers):
            try:
                running[server.name] = stack.enter_context(
                    procs.running(
                        server.name,
                        server.argv,
                        port=server.port,
                        cpus=plan.server,
                        startup_timeout=60,
                        env=server.env,
                    )
                )
            except RuntimeError as exc:
                if server.name in (FLOOR, REFERENCE):
                    raise
                # A peer or an extra row that cannot start is reported, not fatal to the others.
                servers.remove(server)
                section.notes.append(f"Not measured: {server.name} did not start ({exc}).")
                continue
            section.commands.append(running[server.name].command)
            probes[server.name] = probe(running[server.name].base_url, creds)
        if config.warmup_s > 0:
            for server in servers:
                loadgen.run(
                    running[server.name].base_url,
                    connections=32,
                    duration_s=config.warmup_s,
                    creds=creds,
                    use_wrk=use_wrk,
                    cpu_prefix=load_prefix,
                )
        for r in range(config.rounds):
            order = servers[r % len(servers) :] + servers[: r % len(servers)]
            for server in order:
                for connections in CONNECTIONS:
                    cpu_before = procs.cpu_seconds(running[server.name].proc.pid)
                    result = loadgen.run(
                        running[server.name].base_url,
                        connections=connections,
                        duration_s=config.duration_s,
                        creds=creds,
                        use_wrk=use_wrk,
                        cpu_prefix=load_prefix,
                    )
                    result.server_cpu_s = procs.cpu_seconds(running[server.name].proc.pid) - cpu_before
                    server.results.setdefault(connections, []).append(result)
                    section.commands.append(result.command)
        if config.exercise_fallback and use_wrk:
            fallback = loadgen.run_asyncio(
                running[FLOOR].base_url, connections=4, duration_s=0.5, creds=creds
            )
            section.notes.append(
                f"asyncio fallback check against the floor: {fallback.requests} requests, "
                f"{fallback.non_2xx} non-2xx, {fallback.socket_errors} socket errors."
            )
    _tabulate(section, servers, probes, config, use_wrk, plan.describe(), creds)
    return section


def _rps(server: Server | None, connections: int) -> list[float]:
    if server is None:
        return []
    return [r.rps for r in server.results.get(connections, [])]


def _paired(server: Server, reference: Server, connections: int, figure: str) -> float:
    """Median over rounds of server's figure / reference's figure in the same round (interleaved rounds)."""
    values = [float(getattr(r, figure)) for r in server.results.get(connections, [])]
    references = [float(getattr(r, figure)) for r in reference.results.get(connections, [])]
    return stats.paired_ratio(values, references)


def _tabulate(
    section: Section,
    servers: list[Server],
    probes: dict[str, str],
    config: Config,
    use_wrk: bool,
    cpu_note: str,
    creds: Credentials,
) -> None:
    by_name = {s.name: s for s in servers}
    floor = by_name[FLOOR]
    prism = by_name.get(PRISM_DEFAULT)
    table = Table(
        "",
        [
            "server",
            "conns",
            "requests/s",
            "p50 ms",
            "p99 ms",
            "server CPU µs/request",
            "x floor",
            "x Prism (default logging)",
            "2xx",
            "non-2xx",
            "socket errors",
            "probe",
        ],
    )
    for connections in CONNECTIONS:
        for server in servers:
            results = server.results.get(connections, [])
            rps = _rps(server, connections)
            table.rows.append(
                [
                    server.name,
                    str(connections),
                    fmt(stats.median(rps)),
                    fmt(stats.median([r.p50_ms for r in results]), 2),
                    fmt(stats.median([r.p99_ms for r in results]), 2),
                    fmt(stats.median([r.server_cpu_us_per_request for r in results])),
                    fmt_ratio(stats.paired_ratio(rps, _rps(floor, connections))),
                    fmt_ratio(stats.paired_ratio(rps, _rps(prism, connections))) if prism else "n/a",
                    str(sum(r.ok_2xx for r in results)),
                    str(sum(r.non_2xx for r in results)),
                    str(sum(r.socket_errors for r in results)),
                    probes.get(server.name, ""),
                ]
            )
    section.tables.append(table)
    reference = by_name.get(REFERENCE)
    section.goals.append(
        Goal(
            "reference server at 32 connections / raw ASGI floor (requests/s)",
            stats.paired_ratio(_rps(reference, 32), _rps(floor, 32)) if reference else float("nan"),
            ">=",
            0.5,
        )
    )
    # Issue 13: the connection limits (on in bench.serve, as in plaid-refresh serve) must not cost the speed.
    section.goals.append(
        Goal(
            "reference server at 32 connections, limits on: server CPU per request / the floor's",
            _paired(reference, floor, 32, "server_cpu_us_per_request") if reference else float("nan"),
            "<=",
            1.5,
        )
    )
    section.goals.append(
        Goal(
            "reference server at 32 connections, limits on: p99 latency / the floor's",
            _paired(reference, floor, 32, "p99_ms") if reference else float("nan"),
            "<=",
            5.0,
        )
    )
    section.goals.append(
        Goal(
            "reference server at 32 connections / Prism, default logging (requests/s)",
            stats.paired_ratio(_rps(reference, 32), _rps(prism, 32)) if reference and prism else float("nan"),
            ">=",
            5.0,
        )
    )
    tool = (
        "wrk 2 threads (1 thread at 1 connection), Lua script"
        if use_wrk
        else "bench.loadgen asyncio fallback"
    )
    section.notes += [
        f"Load generator: {tool}; {config.rounds} interleaved rounds of {config.duration_s:.0f} s "
        "per server and "
        f"connection count, after {config.warmup_s:.0f} s of unmeasured warm-up per server; "
        "medians over rounds; "
        "2xx / non-2xx / socket errors are totals over all rounds. " + cpu_note + ".",
        "Request: POST /transactions/refresh, JSON body, PLAID-CLIENT-ID / PLAID-SECRET / "
        "Plaid-Version headers; "
        f"the access_token cycles over {creds.token_count} distinct Items (an Items file loaded by "
        "the reference "
        "server). 'probe' is one such request sent before the load, to show what the load is answered with.",
        "Reference server: ServerConfig(rate_limit=True, item_limit_per_minute=10^9, "
        "client_limit_per_minute=10^9, "
        "items_path=<those Items>): every request is validated (headers, JSON, compiled schema, "
        "credentials), "
        "looked up, and counted by the sliding-window limiter (same bookkeeping on every call as "
        "with Plaid's "
        "limits of 2/Item and 100/client per minute), then answered 200. With Plaid's real limits "
        "a load test "
        "would measure a wall of cheap 429s, or need ~10^6 Items to stay under 2 calls per Item per minute.",
        "'server CPU µs/request' is the server process's user+system CPU time during the run divided by the "
        "requests it answered: unlike requests/s it hardly depends on what else the shared machine runs. "
        "Floor and reference run on the same stack: `python -m bench.serve` = uvicorn (httptools, uvloop, "
        "access_log=False, log_level='warning'), one worker; the reference server is served as "
        "`plaid-refresh serve` serves it (plaid_refresh.server.serving: its httptools subclass with "
        "the default connection limits on, ws='none', gc.freeze() after start-up), the floor on "
        "uvicorn's plain protocol.",
    ]
    if REFERENCE_BEFORE in by_name:
        section.notes.append(
            f"'{REFERENCE_BEFORE}': the same server with its compiled fastjsonschema fast path switched off "
            "(`python -m bench.serve reference --no-fast-path`), i.e. request bodies validated by jsonschema "
            "alone as before commit bbd949b: the before/after of that fix, measured in the same run."
        )
    if REFERENCE_CLI in by_name:
        section.notes.append(
            f"'{REFERENCE_CLI}': `plaid-refresh serve --items <Items> --item-limit 10^9 --client-limit 10^9` "
            "as a user runs it (same uvicorn stack; JSON access log on, written to a file here): the cost of "
            "its per-request log line. Not part of any goal."
        )
    if PRISM.exists() and shutil.which("node") is None:
        section.notes.append("Prism not measured: node is not installed.")
    section.raw = {s.name: {str(c): [r.__dict__ for r in rs] for c, rs in s.results.items()} for s in servers}
