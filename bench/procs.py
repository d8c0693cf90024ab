"""Starting and stopping the servers under test as separate, CPU-pinned processes.

Servers run in their own process so that the load generator or client under test never shares a
GIL or an event loop with them, and each can be pinned to its own core (see `cpu_plan`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class CpuPlan:
    """Which core the server gets and which the load generator / client gets."""

    server: set[int]
    load: set[int]

    def describe(self) -> str:
        if self.server == self.load:
            return f"server and load generator share CPUs {sorted(self.server)} (too few cores to split)"
        return (
            f"server pinned to CPU {sorted(self.server)}, load generator / client to CPU {sorted(self.load)}"
        )


def cpu_plan() -> CpuPlan:
    """One core for the server, the other(s) for the load: the same arrangement for every server."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return CpuPlan(set(cpus), set(cpus))
    return CpuPlan({cpus[0]}, set(cpus[1:]))


def pinned(argv: list[str], cpus: set[int]) -> list[str]:
    """argv prefixed with taskset when available (pinning is best effort, never a failure)."""
    taskset = shutil.which("taskset")
    if not taskset or not cpus:
        return argv
    return [taskset, "-c", ",".join(str(c) for c in sorted(cpus)), *argv]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"server did not listen on {HOST}:{port} within {timeout:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (NaN if unreadable).

    On a shared machine wall-clock throughput depends on what else runs; CPU time per request does
    much less, so the server benchmark reports both."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    # After the ")" closing the command name: field 3 is state, so utime (14) and stime (15) are at 11, 12.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Running:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    argv: list[str]
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def command(self) -> str:
        return " ".join(self.argv)


def stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM the process group we created, then SIGKILL it if it lingers."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@contextlib.contextmanager
def running(
    name: str,
    argv: list[str],
    *,
    port: int,
    cpus: set[int] | None = None,
    startup_timeout: float = 30.0,
    stop_timeout: float = 5.0,
    env: dict[str, str] | None = None,
    log_dir: Path = ROOT / "reports" / "bench-logs",
) -> Iterator[Running]:
    """Run argv (which must listen on `port`) for the duration of the block, output to a log file."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{name.replace(' ', '_').replace('/', '_')}.log"
    full = pinned(argv, cpus or set())
    with log.open("wb") as sink:
        # A new session makes the server its own process group: stop() then reaches its children too
        # (npx/node, uvicorn reloaders), and nothing of ours is left running after the block.
        proc = subprocess.Popen(
            full,
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=None if env is None else {**os.environ, **env},
        )
        try:
            try:
                wait_for_port(port, proc, startup_timeout)
            except (RuntimeError, TimeoutError) as exc:
                sink.flush()
                tail = log.read_text(errors="replace").strip().splitlines()[-5:]
                raise RuntimeError(f"{name}: {exc}; last lines of {log}:\n" + "\n".join(tail)) from None
            yield Running(name, port, proc, full, log)
        finally:
            stop(proc, stop_timeout)


def python_server(target: str, port: int, *extra: str) -> list[str]:
    """argv running `python -m bench.serve <target>` on the uvicorn httptools + uvloop stack."""
    return [sys.executable, "-m", "bench.serve", target, "--port", str(port), *extra]
