"""`python -m bench`: run the benchmarks, print the table, write the report.

python -m bench                      # full run, writes BENCHMARKS.md (what `make bench` runs)
python -m bench --smoke              # tiny counts, every code path, writes reports/bench-smoke.md
python -m bench --only clients,imports
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import clients, contract_speed, imports, loadgen, procs, report, servers, slow_calls
from bench.results import Section

BENCHMARKS: dict[str, tuple[str, Callable[[bool], Section]]] = {
    "clients": (
        "1. Client cost per call",
        lambda smoke: clients.run(clients.SMOKE if smoke else clients.Config()),
    ),
    "imports": (
        "2. Import time and peak RSS",
        lambda smoke: imports.run(imports.SMOKE if smoke else imports.Config()),
    ),
    "servers": (
        "3. Server throughput and latency",
        lambda smoke: servers.run(servers.SMOKE if smoke else servers.Config()),
    ),
    "contract": (
        "4. Contract suite speed",
        lambda smoke: contract_speed.run(contract_speed.SMOKE if smoke else contract_speed.Config()),
    ),
    "slow_calls": (
        "5. Many slow calls in flight",
        lambda smoke: slow_calls.run(slow_calls.SMOKE if smoke else slow_calls.Config()),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmarks, side by side with the peers."
    )
    parser.add_argument("--smoke", action="store_true", help="tiny counts: checks every code path in seconds")
    parser.add_argument(
        "--out", type=Path, help="Markdown report path (default BENCHMARKS.md, or reports/bench-smoke.md)"
    )
    parser.add_argument("--only", default="", help="comma-separated subset of: " + ", ".join(BENCHMARKS))
    parser.add_argument("--command", default="", help="the command to record in the report (default: argv)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    out = args.out or (
        procs.ROOT / "reports" / "bench-smoke.md" if args.smoke else procs.ROOT / "BENCHMARKS.md"
    )
    command = args.command or "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    if not loadgen.wrk_available():
        print("wrk not found: servers are measured with the asyncio fallback (install wrk for real figures)")
    started = datetime.now(UTC)
    sections: list[Section] = []
    failed: list[str] = []
    for name in chosen:
        title, bench = BENCHMARKS[name]
        print(f"==> {title}", flush=True)
        try:
            sections.append(bench(args.smoke))
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            failed.append(name)
            sections.append(
                Section(
                    name, f"{title} (FAILED)", notes=[f"This benchmark failed: {type(exc).__name__}: {exc}"]
                )
            )
    text = report.write(
        sections,
        markdown_path=out,
        command=command,
        started=started,
        title="Benchmarks (smoke run: tiny counts, figures meaningless)" if args.smoke else "Benchmarks",
        extra_tools={"wrk": ["wrk", "--version"], "node": ["node", "--version"]},
    )
    report.echo(text)
    print(f"==> wrote {out}")
    if not args.smoke and args.out is None and not args.only:  # a full `make bench`: refresh the summaries
        summary = report.goals_summary(sections, started=started, command=command)
        report.update_block(procs.ROOT / "README.md", "bench", summary)
        report.update_block(procs.ROOT / "docs" / "bench.md", "results", summary, link_prefix="../")
        print("==> updated the goals table in README.md and docs/bench.md")
    if failed:
        print(f"ERROR: benchmark(s) failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
