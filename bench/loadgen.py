"""A bounded HTTP load generator: wrk when installed, else a bounded asyncio fallback.

Both send the same request: `POST /transactions/refresh` with a JSON body and the Plaid credential
headers, over keep-alive connections to 127.0.0.1, for a fixed duration. The `access_token` cycles
over `token_count` Items (each thread / connection starts at its own offset), as in production where
many Items are refreshed, not one.
Both report requests/s, latency p50/p99 and the 2xx / non-2xx split.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import stats

PATH = "/transactions/refresh"
MARKER = "BENCHJSON "
# wrk's Lua runs per thread: `setup` numbers the threads, `request` builds each request with a
# distinct token, `done` prints the summary as one JSON line (latencies are in microseconds).
# wrk counts status > 399 as status errors; with no 3xx expected, 2xx = requests - status errors.
_LUA = """
local counter = 0
local thread_count = 0
local prefix = "%(prefix)s"
local count = %(count)d
local headers = {
  ["Content-Type"] = "application/json",
  ["PLAID-CLIENT-ID"] = "%(client_id)s",
  ["PLAID-SECRET"] = "%(secret)s",
  ["Plaid-Version"] = "2020-09-14",
}

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  tid = tid or 0
end

function request()
  counter = counter + 1
  local body = string.format('{"access_token":"%%s%%05d"}', prefix, (tid * 1009 + counter) %% count)
  return wrk.format("POST", "%(path)s", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(marker)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50_us":%%d,"p99_us":%%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str
    token_count: int = 4096
    token_prefix: str = "access-sandbox-bench-"

    def __post_init__(self) -> None:
        if not 1 <= self.token_count <= 99_999:
            raise ValueError(f"token_count must be within [1, 99999], got {self.token_count}")

    def token(self, index: int) -> str:
        """Token of Item `index % token_count`: the same formula as the Lua script."""
        return f"{self.token_prefix}{index % self.token_count:05d}"


@dataclass
class LoadResult:
    tool: str
    connections: int
    duration_s: float
    requests: int
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    command: str = ""
    notes: list[str] = field(default_factory=list)
    server_cpu_s: float = math.nan  # CPU seconds the server process used during the run, when known

    @property
    def server_cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else math.nan

    @property
    def ok_2xx(self) -> int:
        return self.requests - self.non_2xx

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else math.nan


def wrk_available() -> bool:
    """wrk on PATH, unless BENCH_LOADGEN=asyncio asks for the fallback."""
    if os.environ.get("BENCH_LOADGEN", "").strip().lower() == "asyncio":
        return False
    return shutil.which("wrk") is not None


def lua_script(creds: Credentials) -> str:
    return _LUA % {
        "prefix": creds.token_prefix,
        "count": creds.token_count,
        "client_id": creds.client_id,
        "secret": creds.secret,
        "path": PATH,
        "marker": MARKER,
    }


def parse_wrk(output: str, connections: int, command: str) -> LoadResult:
    """Read the JSON line our Lua `done` prints; raise if wrk printed none (it failed)."""
    match = re.search(re.escape(MARKER) + r"(\{.*\})", output)
    if not match:
        raise RuntimeError(f"wrk printed no summary; its output was:\n{output[-2000:]}")
    data = json.loads(match.group(1))
    return LoadResult(
        tool="wrk",
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        p50_ms=data["p50_us"] / 1000.0,
        p99_ms=data["p99_us"] / 1000.0,
        command=command,
    )


def run_wrk(
    base_url: str,
    *,
    connections: int,
    duration_s: float,
    creds: Credentials,
    threads: int = 2,
    cpu_prefix: list[str] | None = None,
) -> LoadResult:
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "refresh.lua"
        script.write_text(lua_script(creds))
        argv = [
            *(cpu_prefix or []),
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(duration_s))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            base_url + PATH,
        ]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30, check=False)
        shown = " ".join(a if a != str(script) else "refresh.lua" for a in argv)
        if out.returncode != 0:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()[-500:]}")
        return parse_wrk(out.stdout, connections, shown)


# -- the asyncio fallback ----------------------------------------------------------------------


def _request_bytes(host: str, port: int, creds: Credentials, conn: int, n: int) -> bytes:
    body = f'{{"access_token":"{creds.token(conn * 1009 + n)}"}}'.encode()
    head = (
        f"POST {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"PLAID-CLIENT-ID: {creds.client_id}\r\nPLAID-SECRET: {creds.secret}\r\n"
        f"Plaid-Version: 2020-09-14\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        lname = name.strip().lower()
        if lname == "content-length":
            length = int(value.strip())
        elif lname == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _aio_load(
    host: str, port: int, connections: int, duration_s: float, creds: Credentials, max_requests: int
) -> tuple[list[float], int, int, float]:
    latencies: list[float] = []
    counters = {"non_2xx": 0, "errors": 0, "sent": 0}
    start = time.perf_counter()
    deadline = start + duration_s

    async def worker(conn: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            counters["errors"] += 1
            return
        n = 0
        try:
            while time.perf_counter() < deadline and counters["sent"] < max_requests:
                counters["sent"] += 1
                n += 1
                t0 = time.perf_counter()
                writer.write(_request_bytes(host, port, creds, conn, n))
                status = await asyncio.wait_for(_read_response(reader), timeout=10)
                latencies.append(time.perf_counter() - t0)
                if not 200 <= status < 300:
                    counters["non_2xx"] += 1
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
            counters["errors"] += 1
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(worker(c) for c in range(connections))), duration_s + 15)
    return latencies, counters["non_2xx"], counters["errors"], time.perf_counter() - start


def run_asyncio(
    base_url: str,
    *,
    connections: int,
    duration_s: float,
    creds: Credentials,
    max_requests: int = 1_000_000,
) -> LoadResult:
    """Bounded in time and in count; measures far lower ceilings than wrk (it is Python)."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    latencies, non_2xx, errors, elapsed = asyncio.run(
        _aio_load(host, int(port), connections, duration_s, creds, max_requests)
    )
    return LoadResult(
        tool="asyncio",
        connections=connections,
        duration_s=elapsed,
        requests=len(latencies),
        non_2xx=non_2xx,
        socket_errors=errors,
        p50_ms=stats.percentile(latencies, 50) * 1000,
        p99_ms=stats.percentile(latencies, 99) * 1000,
        command=f"bench.loadgen.run_asyncio(connections={connections}, duration_s={duration_s})",
    )


def run(
    base_url: str,
    *,
    connections: int,
    duration_s: float,
    creds: Credentials,
    use_wrk: bool,
    cpu_prefix: list[str] | None = None,
) -> LoadResult:
    if use_wrk:
        return run_wrk(
            base_url, connections=connections, duration_s=duration_s, creds=creds, cpu_prefix=cpu_prefix
        )
    return run_asyncio(base_url, connections=connections, duration_s=duration_s, creds=creds)
