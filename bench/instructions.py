"""Client CPU cost per call as instructions counted by callgrind: the same figure on every run.

Wall-clock µs per call on this shared machine drift by ±20 % from one minute to the next; an
instruction count does not. Each client runs in its own `valgrind --tool=callgrind` child against the
floor server (another process, not counted): once with 0 measured calls and once with N, after the
same warm-up, so (total(N) - total(0)) / N is what one call costs the client process in user space
(the kernel's share of the socket work is not counted, which is the same for every client).

    python -m bench.instructions CLIENT BASE_URL CALLS     # the child: what valgrind runs
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from bench import procs, targets

WARMUP = 30
_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def available() -> bool:
    return shutil.which("valgrind") is not None


def count(client: str, base_url: str, calls: int) -> int:
    """Instructions of a whole child process that makes WARMUP + `calls` calls with `client`."""
    argv = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.instructions",
        client,
        base_url,
        str(calls),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict and set layouts in every child
    done = subprocess.run(
        argv, cwd=procs.ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    found = _COLLECTED.search(done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(
            f"callgrind run of {client!r} failed (exit {done.returncode}): {done.stderr[-400:]}"
        )
    return int(found.group(1))


def per_call(clients: list[str], base_url: str, calls: int) -> dict[str, float]:
    """Instructions per call of each client. The children run two at a time (one per core): counts
    do not depend on what else runs, and valgrind's ~50x slowdown makes each child take seconds."""
    jobs = [(client, n) for client in clients for n in (0, calls)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: count(job[0], base_url, job[1]), jobs), strict=True))
    return {client: (totals[(client, calls)] - totals[(client, 0)]) / calls for client in clients}


def main(argv: list[str] | None = None) -> int:
    from bench.clients import cases

    name, base_url, calls = argv if argv is not None else sys.argv[1:]
    factory = cases()[0][name]
    creds = targets.credentials()
    client = factory(base_url, creds)
    if client is None:
        raise SystemExit(f"client {name!r} is not available")
    for i in range(WARMUP + int(calls)):
        client.call(creds.token(i))
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
