"""`plaid-refresh serve`: --help, clear start-up errors, the start-up line, clean SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from plaid_refresh.cli import build_parser, main
from plaid_refresh.server import TOKEN_TRANSACTIONS_DYNAMIC
from tests.server.conftest import JSON

SECRET = "cli-test-secret-value-0123456789"
CLIENT_ID = "cli-test-client"


def test_help_documents_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve", "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--host",
        "--port",
        "--items",
        "--db",
        "--environment",
        "--client-id",
        "--secret",
        "--no-rate-limit",
        "--item-limit",
        "--client-limit",
        "--latency",
        "--latency-random",
        "--error-rate",
        "--maintenance-rate",
        "--seed",
        "--max-body-bytes",
        "--no-access-log",
        "PLAID_CLIENT_ID",
        "PLAID_SECRET",
        "examples:",
        "127.0.0.1",
        "8787",
    ):
        assert flag in text, flag


def test_top_level_help_lists_serve(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "serve" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--error-rate", "2"], "between 0 and 1"),
        (["serve", "--port", "99999"], "between 1 and 65535"),
        (["serve", "--latency", "-1"], "between 0 and 600"),
        (["serve", "--environment", "development"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_malformed_items_file_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("items:\n  - access_token: [unclosed\n")
    assert main(["serve", "--items", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"plaid-refresh serve: error: {path}: not valid YAML" in err
    assert "Traceback" not in err


def test_a_port_in_use_is_not_announced_as_served(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "plaid_refresh.cli", "serve", "--port", str(port), "--no-access-log"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 3, done.stderr
    assert "reference server on" not in done.stderr
    assert "address already in use" in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[-1] == f"plaid-refresh serve: error: cannot serve on http://127.0.0.1:{port} (see above)"
    assert "Traceback" not in done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "plaid_refresh.cli", "serve", "--port", str(port), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"server did not start: {process.communicate()[0]}") from None
            time.sleep(0.05)
    return process, f"http://127.0.0.1:{port}"


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    # uvicorn shuts down gracefully, then re-raises the signal so the parent sees "terminated by SIGTERM".
    assert process.returncode == -signal.SIGTERM, output
    assert "Application shutdown complete" in output
    assert "Traceback" not in output
    return output


def test_serve_runs_persists_and_shuts_down_cleanly(tmp_path: Path) -> None:
    db = tmp_path / "state.sqlite3"
    env = {"PLAID_CLIENT_ID": CLIENT_ID, "PLAID_SECRET": SECRET}
    headers = {**JSON, "PLAID-CLIENT-ID": CLIENT_ID, "PLAID-SECRET": SECRET}
    process, url = _start(["--db", str(db), "--seed", "1"], env)
    try:
        response = httpx.post(
            f"{url}/transactions/refresh",
            headers=headers,
            json={"access_token": TOKEN_TRANSACTIONS_DYNAMIC},
            timeout=10,
        )
        assert response.status_code == 200
        # Bytes that are not HTTP: the served protocol is PlaidHttpToolsProtocol, not plain httptools.
        with socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=10) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")
            answer = b""
            while chunk := sock.recv(65536):  # the server closes the connection after answering
                answer += chunk
        head, body = answer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 400 ")
        assert b"\r\ncontent-type: application/json\r\n" in head
        error = json.loads(body)
        assert (error["error_code"], len(error["request_id"])) == ("INVALID_BODY", 15)
    finally:
        output = _stop(process)
    assert f"reference server on {url}" in output
    assert "client_id from $PLAID_CLIENT_ID, secret from $PLAID_SECRET" in output
    assert '"status":200' in output  # the access log line
    assert SECRET not in output
    assert CLIENT_ID not in output
    assert TOKEN_TRANSACTIONS_DYNAMIC not in output

    # A second run sees the first run's history: the dynamic Item's next refresh is its second.
    process, url = _start(["--db", str(db), "--no-access-log"], env)
    try:
        response = httpx.post(
            f"{url}/transactions/refresh",
            headers=headers,
            json={"access_token": TOKEN_TRANSACTIONS_DYNAMIC},
            timeout=10,
        )
        assert response.status_code == 200
    finally:
        output = _stop(process)
    assert '"status":200' not in output
    with sqlite3.connect(db) as connection:
        seqs = [row[0] for row in connection.execute("SELECT seq FROM refreshes ORDER BY seq")]
    assert seqs == [1, 2]
