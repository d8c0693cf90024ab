"""The receiver contract suite catches broken receivers: run it (as `make webhook-contract
RECEIVER_URL=...` does) against deliberately broken receivers and check which tests fail."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from contract_tests.webhooks.keyserver import default_credentials
from contract_tests.webhooks.loopback import free_port, serve
from examples.webhook_receiver import build_receiver
from plaid_refresh.webhooks import forgeries

ROOT = Path(__file__).resolve().parents[2]
FORGERY_TESTS = {
    "test_rejects_a_bad_signature",
    "test_rejects_the_wrong_key_under_the_genuine_kid",
    "test_rejects_an_unknown_key_id",
    "test_rejects_an_expired_iat",
    "test_rejects_an_iat_far_in_the_future",
    "test_rejects_a_tampered_body",
    "test_rejects_alg_none",
    "test_rejects_hs256_signed_with_the_public_key",
    "test_rejects_a_missing_header",
    "test_rejects_a_header_that_is_not_a_jwt",
    "test_rejects_a_jwt_without_the_body_hash",
}


async def accept_everything(
    scope: MutableMapping[str, Any],
    receive: Callable[[], Awaitable[MutableMapping[str, Any]]],
    send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
) -> None:
    """The receiver every tutorial starts with: no verification at all."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def run_suite(receiver_url: str, key_port: int, junit: Path) -> dict[str, bool]:
    """Run contract_tests/webhooks against the receiver; {test name: passed}."""
    env = {**os.environ, "RECEIVER_URL": receiver_url, "WEBHOOK_KEY_SERVER_PORT": str(key_port)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={junit}",
            "contract_tests/webhooks",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    results: dict[str, bool] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = case.attrib["name"].split("[")[0]
        failed = any(child.tag in ("failure", "error") for child in case)
        results[name] = results.get(name, True) and not failed
    return results


def test_every_forgery_test_catches_a_receiver_that_accepts_everything(tmp_path: Path) -> None:
    assert len(FORGERY_TESTS) == len(forgeries.FORGERIES)
    with serve(accept_everything) as url:
        results = run_suite(f"{url}/hooks", free_port(), tmp_path / "junit.xml")
    assert {name for name, passed in results.items() if not passed} == FORGERY_TESTS
    assert results["test_accepts_the_spec_example"]  # the genuine ones still pass


def test_only_the_stale_iat_test_catches_a_receiver_that_ignores_iat(tmp_path: Path) -> None:
    key_port = free_port()
    receiver = build_receiver(f"http://127.0.0.1:{key_port}", *default_credentials(), max_age=10**9)
    with serve(receiver) as url:
        results = run_suite(url, key_port, tmp_path / "junit.xml")
    assert {name for name, passed in results.items() if not passed} == {"test_rejects_an_expired_iat"}
    assert len(results) >= len(FORGERY_TESTS) + 4
