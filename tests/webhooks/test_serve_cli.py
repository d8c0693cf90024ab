"""`plaid-refresh serve --db` as a real process: webhooks queued while the receiver is down survive
a SIGTERM and a restart of the server, and all arrive once the receiver is back."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from contract_tests.webhooks.loopback import free_port, serve
from examples.webhook_receiver import build_receiver
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET
from tests.webhooks.test_end_to_end import DUPLICATES, ITEM_ID, PROCESSED, SENT, TOKEN, processed, refresh

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], bool], what: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def rows(db: Path) -> list[tuple[str, int]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=5) as conn:
        try:
            return conn.execute("SELECT status, attempts FROM webhook_deliveries").fetchall()
        except sqlite3.OperationalError:  # table not created yet
            return []


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def server_process(args: list[str], port: int, log: Path) -> Iterator[str]:
    with log.open("ab") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "plaid_refresh.cli", "serve", "--port", str(port), *args],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            wait_for(lambda: accepts(port) or proc.poll() is not None, "the server to listen")
            assert proc.poll() is None, log.read_text()
            yield f"http://127.0.0.1:{port}"
            proc.send_signal(signal.SIGTERM)
            # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean exit here.
            assert proc.wait(timeout=20) in (0, -signal.SIGTERM), log.read_text()
            assert "Application shutdown complete" in log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def test_pending_webhooks_survive_a_server_process_restart(tmp_path: Path) -> None:
    db, log = tmp_path / "state.sqlite3", tmp_path / "server.log"
    server_port, receiver_port = free_port(), free_port()
    items = tmp_path / "items.json"
    webhook = f"http://127.0.0.1:{receiver_port}/plaid/webhooks"
    items.write_text(
        json.dumps(
            {"items": [{"access_token": TOKEN, "item_id": ITEM_ID, "webhook": webhook, "changes": "dynamic"}]}
        )
    )
    args = [
        *("--db", str(db), "--items", str(items), "--no-rate-limit", "--no-access-log"),
        *("--webhook-retry-delay", "0.05", "--webhook-retry-factor", "1", "--webhook-attempts", "400"),
    ]
    with server_process(args, server_port, log) as url:  # the receiver is down
        refresh(url, 3)
        wait_for(lambda: len(rows(db)) == SENT and all(a >= 1 for _, a in rows(db)), "failed first attempts")
    assert {status for status, _ in rows(db)} == {"pending"}

    with server_process(args, server_port, log) as url:  # restarted, same --db; receiver still down
        wait_for(lambda: all(a >= 2 for _, a in rows(db)), "retries by the restarted server")
        receiver = build_receiver(url, DEFAULT_CLIENT_ID, DEFAULT_SECRET)
        with serve(receiver, receiver_port):  # the receiver comes back
            wait_for(lambda: {s for s, _ in rows(db)} == {"delivered"}, "every webhook delivered")
    assert len(rows(db)) == SENT
    assert processed(receiver) == PROCESSED
    assert receiver.duplicates == DUPLICATES
    assert receiver.rejected == 0
    text = log.read_text()
    assert "Traceback" not in text
    assert DEFAULT_SECRET not in text


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "plaid_refresh.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_webhook_flags_are_documented_and_validated() -> None:
    shown = run_cli("serve", "--help")
    assert shown.returncode == 0
    for flag in (
        "--webhooks",
        "--no-webhooks",
        "--webhook-retry-delay",
        "--webhook-retry-factor",
        "--webhook-attempts",
    ):
        assert flag in shown.stdout
    bad = run_cli("serve", "--webhook-retry-factor", "0.5")
    assert bad.returncode == 2
    assert "must be between 1 and 100" in bad.stderr
    assert "Traceback" not in bad.stderr
