"""The consumer test, as CI runs it.

1. A clean venv that already holds an older httpx inside the declared range (0.27.2, the version of the
   issue's service) gets only the two built wheels, by file. httpx must stay as it was, and nothing of the
   server or the test suites may come in.
2. `mypy --strict` checks examples/consumer/refresh_items.py against that venv (--python-executable: the
   installed wheels and their py.typed, never the repository's sources), and a probe with a deliberate
   type error must fail, which proves mypy sees real types rather than Any.
3. A second clean venv gets the runtime wheel with its [server] and [contract] extras and runs
   `plaid-refresh serve` on 127.0.0.1; the consumer, run by the first venv's python, refreshes against it,
   and `plaid-refresh-contract --base-url ... --junitxml ...` runs the contract suite against it, as another
   repository's CI would.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from distcheck.venvs import StepFailed, Venv, clean_env, run
from distcheck.wheels import GENERATED, RUNTIME, DistError, file_requirement, find_wheels

ROOT = Path(__file__).resolve().parent.parent
CONSUMER = ROOT / "examples" / "consumer" / "refresh_items.py"
OLDER_HTTPX = "0.27.2"
# Never in the runtime client's venv: the server, the contract suites, the webhook crypto, dev tools.
FORBIDDEN = frozenset(
    {
        "uvicorn", "uvloop", "httptools", "orjson", "websockets", "watchfiles", "python-dotenv",
        "pytest", "hypothesis", "schemathesis", "openapi-core", "pyjwt", "cryptography", "mypy", "ruff",
        "requests", "werkzeug",
    }
)  # fmt: skip
PROBE = """from plaid_refresh import PlaidRefreshClient

def wrong(client: PlaidRefreshClient) -> int:
    return client.refresh("access-sandbox-healthy").request_id
"""
HEALTHY, LOGIN_REQUIRED = "access-sandbox-healthy", "access-sandbox-item-login-required"
SERVER_START_TIMEOUT_S = 60
CONSUMER_TIMEOUT_S = 60
CONTRACT_TIMEOUT_S = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(port: int, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise StepFailed(f"plaid-refresh serve exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise StepFailed(f"plaid-refresh serve did not listen on 127.0.0.1:{port} in {SERVER_START_TIMEOUT_S} s")


def check_runtime_venv(runtime: Venv) -> None:
    installed = runtime.versions()
    if installed.get("httpx") != OLDER_HTTPX:
        raise StepFailed(f"installing the wheels changed httpx {OLDER_HTTPX} to {installed.get('httpx')}")
    extra = sorted(FORBIDDEN & set(installed))
    if extra:
        raise StepFailed(f"the runtime client brought in server or test packages: {', '.join(extra)}")
    print(f"    runtime venv: {len(installed)} distributions, httpx {OLDER_HTTPX} kept, none of the server's")


def check_missing_extras_are_named(runtime: Venv, workdir: Path) -> None:
    """Without its extra, the server says which extra to install (no traceback)."""
    command = [str(runtime.root / "bin" / "plaid-refresh"), "serve", "--port", "0"]
    print("  - plaid-refresh serve without the [server] extra", flush=True)
    result = subprocess.run(  # noqa: S603
        command, cwd=workdir, env=clean_env(), capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 2 or "[server] extra" not in result.stderr or "Traceback" in result.stderr:
        raise StepFailed(f"serve without [server]: exit {result.returncode}, {result.stderr.strip()!r}")
    print(f"    {result.stderr.strip()[:110]}...")


def typecheck(runtime: Venv, workdir: Path) -> None:
    shutil.copy(CONSUMER, workdir / CONSUMER.name)
    (workdir / "probe.py").write_text(PROBE, encoding="utf-8")
    mypy = [
        sys.executable,
        "-m",
        "mypy",
        "--strict",
        "--no-incremental",
        "--python-executable",
        str(runtime.python),
    ]
    run("mypy --strict on the example consumer", [*mypy, CONSUMER.name], cwd=workdir)
    try:
        run("mypy --strict on a probe that must fail", [*mypy, "probe.py"], cwd=workdir)
    except StepFailed as failure:
        if '(got "str", expected "int")' not in str(failure):
            raise
    else:
        raise StepFailed("mypy accepted a str returned as int: the installed packages are seen as Any")


def run_against_server(runtime: Venv, server_venv: Venv, workdir: Path) -> None:
    port = _free_port()
    serve = [str(server_venv.root / "bin" / "plaid-refresh"), "serve", "--port", str(port), "--no-access-log"]
    print(f"  - plaid-refresh serve on 127.0.0.1:{port} (from the [server] venv)", flush=True)
    server = subprocess.Popen(  # noqa: S603
        serve, cwd=workdir, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(port, server)
        env = {**clean_env(), "PLAID_BASE_URL": f"http://127.0.0.1:{port}"}
        env.pop("PLAID_ENV", None)
        env["PLAID_CLIENT_ID"], env["PLAID_SECRET"] = (
            "5f0bd2b1c0c0b2001234abcd",
            "reference-server-sandbox-secret",
        )
        out = run(
            "the consumer against the server",
            [str(runtime.python), CONSUMER.name, HEALTHY, LOGIN_REQUIRED],
            cwd=workdir,
            env=env,
            timeout=CONSUMER_TIMEOUT_S,
        )
        junit = workdir / "reports" / "contract-junit.xml"
        contract = [
            str(server_venv.root / "bin" / "plaid-refresh-contract"),
            "--base-url",
            env["PLAID_BASE_URL"],
        ]
        suite = run(
            "plaid-refresh-contract against the server (the [contract] extra)",
            [*contract, "--junitxml", str(junit)],
            cwd=workdir,
            env={**env, "PLAID_ACCESS_TOKEN": "access-sandbox-user-good"},
            timeout=CONTRACT_TIMEOUT_S,
        )
        if not junit.is_file() or "<testsuite" not in junit.read_text(encoding="utf-8"):
            raise StepFailed(f"plaid-refresh-contract wrote no JUnit report at {junit}")
        print(f"    contract suite: {(suite.strip().splitlines() or ['?'])[-1]}; JUnit in reports/")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    lines = out.splitlines()
    if (
        len(lines) != 2
        or not lines[0].startswith("refreshed ")
        or lines[1] != "relink needed: ITEM_LOGIN_REQUIRED"
    ):
        raise StepFailed(f"unexpected consumer output: {out!r}")
    print(f"    consumer said: {lines[0]!r}, {lines[1]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m distcheck.consumer", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="the folder `make dist` filled")
    parser.add_argument("--uv", type=Path, required=True, help="the uv binary that makes the venvs")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(f"==> consumer test: the wheels in {args.dist}/ in clean venvs, mypy --strict, plaid-refresh serve")
    try:
        wheels = find_wheels(args.dist)
        with tempfile.TemporaryDirectory(prefix="consumer-test-") as tmp:
            workdir = Path(tmp)
            runtime = Venv.create(workdir / "runtime", args.uv)
            runtime.install(
                f"httpx=={OLDER_HTTPX} first, as a service already has it", [f"httpx=={OLDER_HTTPX}"]
            )
            runtime.install(
                "the two wheels, by file",
                [file_requirement(wheels[RUNTIME]), file_requirement(wheels[GENERATED])],
            )
            check_runtime_venv(runtime)
            app = workdir / "app"
            app.mkdir()
            check_missing_extras_are_named(runtime, app)
            typecheck(runtime, app)
            server_venv = Venv.create(workdir / "server", args.uv)
            server_venv.install(
                "the runtime wheel with [server,contract], by file",
                [
                    file_requirement(wheels[RUNTIME], frozenset({"server", "contract"})),
                    file_requirement(wheels[GENERATED]),
                ],
            )
            run_against_server(runtime, server_venv, app)
    except (DistError, StepFailed) as failure:
        print(f"ERROR: consumer test: {failure}", file=sys.stderr)
        return 1
    print(f"==> consumer test passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
