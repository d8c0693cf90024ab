"""Profiles of the hot paths behind a missed goal, written to reports/profiles/ (pyinstrument).

    python -m bench.profile client-sync      # this project's sync client, calls against the floor app
    python -m bench.profile client-async     # the async client, 32 concurrent calls
    python -m bench.profile server           # the reference server process under wrk load
    python -m bench.profile contract         # schemathesis in-process against the reference app
    python -m bench.profile imports          # `python -X importtime` of the client import, grouped

Each writes <name>.txt (and .html where pyinstrument makes one). Bounded in count and time.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from pyinstrument import Profiler

from bench import clients, contract_speed, loadgen, procs, targets

OUT = procs.ROOT / "reports" / "profiles"


def _save(profiler: Profiler, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    path = OUT / f"{name}.txt"
    path.write_text(text)
    (OUT / f"{name}.html").write_text(profiler.output_html())
    return path


def client_sync(calls: int) -> Path:
    plan = procs.cpu_plan()
    creds = targets.credentials()
    port = procs.free_port()
    with procs.running(
        "floor (profile)", procs.python_server("floor", port), port=port, cpus=plan.server
    ) as srv:
        client = targets.project_sync(srv.base_url, creds) or targets.generated_sync(srv.base_url, creds)
        clients.time_sync(client, creds, 100)
        profiler = Profiler(interval=0.0005)
        profiler.start()
        clients.time_sync(client, creds, calls)
        profiler.stop()
        client.close()
    return _save(profiler, "client-sync")


def client_async(calls: int) -> Path:
    plan = procs.cpu_plan()
    creds = targets.credentials()
    port = procs.free_port()
    factory = targets.project_async if targets.project_client_available() else targets.generated_async
    with procs.running(
        "floor (profile)", procs.python_server("floor", port), port=port, cpus=plan.server
    ) as srv:
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        clients.time_async(factory, srv.base_url, creds, calls, 50)
        profiler.stop()
    return _save(profiler, "client-async")


def server(seconds: int) -> Path:
    """The reference server process run under pyinstrument while wrk loads it at 32 connections."""
    plan = procs.cpu_plan()
    creds = targets.credentials()
    items = targets.write_items_file(procs.ROOT / "reports" / "bench-items.json", creds)
    port = procs.free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    out = OUT / "server.txt"
    argv = procs.python_server(
        "reference", port, "--items", str(items), "--high-limits", "--profile", str(out)
    )
    running = procs.running("reference (profile)", argv, port=port, cpus=plan.server, stop_timeout=120)
    with running as srv:
        result = loadgen.run(
            srv.base_url,
            connections=32,
            duration_s=seconds,
            creds=creds,
            use_wrk=loadgen.wrk_available(),
            cpu_prefix=procs.pinned([], plan.load),
        )
        print(f"under profiler: {result.rps:,.0f} requests/s, {result.non_2xx} non-2xx")
    return out


def contract(max_examples: int) -> Path:
    creds = targets.credentials()
    items = targets.write_items_file(procs.ROOT / "reports" / "bench-items.json", creds)
    app = targets.reference_app(items_path=items, latency=0.0, high_limits=True)
    contract_speed.run_engine(2, app=app)  # warm: schema loading, hypothesis set-up
    profiler = Profiler(interval=0.0005)
    profiler.start()
    run = contract_speed.run_engine(max_examples, app=app)
    profiler.stop()
    print(f"{run.cases} cases in {run.seconds:.2f} s = {run.per_second:.0f} cases/s (under profiler)")
    return _save(profiler, "contract-in-process")


def imports() -> Path:
    """Which modules the client import adds on top of `import httpx`, by cumulative import time."""
    stmt = targets.project_import_statement() or "import plaid_refresh_client"

    def load(code: str) -> dict[str, tuple[int, int]]:
        err = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=procs.ROOT,
        ).stderr
        found = {}
        for line in err.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s+)(\S+)", line)
            if m:
                found[m.group(4)] = (int(m.group(1)), int(m.group(2)))
        return found

    base = load("import httpx")
    mine = load(stmt)
    extra = {name: value for name, value in mine.items() if name not in base}
    lines = [
        f"`{stmt}` vs `import httpx` (python -X importtime, one run, warm bytecode caches)",
        f"httpx total self time: {sum(v[0] for v in base.values()) / 1000:.1f} ms; "
        f"client total: {sum(v[0] for v in mine.values()) / 1000:.1f} ms; "
        f"added by the client: {sum(v[0] for v in extra.values()) / 1000:.1f} ms",
        "",
        "cumulative ms  self ms  module (modules httpx does not import)",
    ]
    for name, (own, cumulative) in sorted(extra.items(), key=lambda kv: -kv[1][1])[:40]:
        lines.append(f"{cumulative / 1000:13.1f} {own / 1000:8.1f}  {name}")
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "imports.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["client-sync", "client-async", "server", "contract", "imports"])
    parser.add_argument("--count", type=int, default=0, help="calls / seconds / max-examples (bounded)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if args.what == "client-sync":
        path = client_sync(min(args.count or 3000, 20000))
    elif args.what == "client-async":
        path = client_async(min(args.count or 3000, 20000))
    elif args.what == "server":
        path = server(min(args.count or 8, 30))
    elif args.what == "contract":
        path = contract(min(args.count or 100, 500))
    else:
        path = imports()
    print(f"wrote {path} ({time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
