"""The suite's own parts: target selection from the environment, the Plaid rules, and the live-target path
(the suite pointed by URL at a rate-limited reference server on loopback, as it would be at Plaid Sandbox)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract_tests.server.plaid_checks import (
    Answer,
    error_envelope_problems,
    error_table,
    rejection_problems,
    request_id_problems,
    status_problems,
)
from contract_tests.server.reference import create_reference_app
from contract_tests.server.target import SPECIAL_TOKEN_ENV, TargetError, target_from_env
from plaid_refresh.server import DEFAULT_CLIENT_ID, DEFAULT_SECRET, TOKEN_CAPITAL_ONE_CREDIT, TOKEN_HEALTHY
from plaid_refresh.server.testing import running_server

ROOT = Path(__file__).resolve().parents[2]
LIVE = {
    "PLAID_BASE_URL": "https://sandbox.example.test",
    "PLAID_CLIENT_ID": "0123456789abcdef01234567",
    "PLAID_SECRET": "a-secret-that-must-never-show",
    "PLAID_ACCESS_TOKEN": "access-sandbox-1234",
}


# ---- target selection --------------------------------------------------------------------------------------


def test_default_target_is_the_in_process_reference_server() -> None:
    target = target_from_env({})
    assert target.app is not None
    assert target.base_url is None
    assert target.is_reference
    assert target.special_token("capital_one") == TOKEN_CAPITAL_ONE_CREDIT


@pytest.mark.parametrize("missing", ["PLAID_CLIENT_ID", "PLAID_SECRET", "PLAID_ACCESS_TOKEN"])
def test_live_target_without_credentials_names_what_is_missing(missing: str) -> None:
    env = {k: v for k, v in LIVE.items() if k != missing}
    with pytest.raises(TargetError, match=missing):
        target_from_env(env)


def test_live_target_rejects_a_url_without_scheme() -> None:
    with pytest.raises(TargetError, match="http:// or https://"):
        target_from_env({**LIVE, "PLAID_BASE_URL": "sandbox.plaid.com"})


def test_live_target_takes_special_items_from_the_environment_and_hides_secrets() -> None:
    target = target_from_env({**LIVE, SPECIAL_TOKEN_ENV["login_required"]: "access-sandbox-login"})
    assert target.base_url == LIVE["PLAID_BASE_URL"]
    assert target.special_token("login_required") == "access-sandbox-login"
    assert target.special_token("capital_one") is None
    assert LIVE["PLAID_SECRET"] not in repr(target)
    assert LIVE["PLAID_CLIENT_ID"] not in repr(target)
    assert target.other_environment_token().startswith("access-production-")


@pytest.mark.parametrize(
    ("name", "value"), [("PLAID_CONTRACT_TRANSPORT", "carrier-pigeon"), ("PLAID_CONTRACT_TIMEOUT", "-1")]
)
def test_bad_suite_settings_are_clear_errors(name: str, value: str) -> None:
    with pytest.raises(TargetError, match=name):
        target_from_env({**LIVE, name: value} if name == "PLAID_CONTRACT_TIMEOUT" else {name: value})


def test_unloadable_app_factory_is_a_clear_error() -> None:
    with pytest.raises(TargetError, match="PLAID_CONTRACT_APP"):
        target_from_env({"PLAID_CONTRACT_APP": "no.such.module:factory"})


# ---- the Plaid rules ---------------------------------------------------------------------------------------


def _error(status: int, error_type: str, code: str, **extra: object) -> Answer:
    body = {
        "error_type": error_type,
        "error_code": code,
        "error_message": "m",
        "display_message": None,
        **extra,
    }
    return Answer(status, "application/json", json.dumps(body).encode())


def test_error_table_is_read_from_the_spec() -> None:
    table = error_table()
    assert table.statuses_by_type["RATE_LIMIT_EXCEEDED"] == {429}
    assert table.statuses_by_type["API_ERROR"] == {500, 503}
    assert table.type_by_code["INVALID_API_KEYS"] == "INVALID_INPUT"
    assert table.statuses_by_code["NOT_FOUND"] == {404}


def test_status_rules() -> None:
    assert status_problems(_error(400, "INVALID_INPUT", "INVALID_API_KEYS", request_id="r")) == []
    assert status_problems(_error(401, "INVALID_INPUT", "INVALID_API_KEYS"))  # Plaid never sends 401
    assert status_problems(_error(400, "ITEM_ERROR", "INVALID_API_KEYS"))  # code of another type
    assert status_problems(_error(400, "NEW_TYPE_FROM_PLAID", "NEW_CODE")) == []  # unknown: tolerated as 4xx
    assert status_problems(_error(200, "NEW_TYPE_FROM_PLAID", "NEW_CODE"))


def test_envelope_and_request_id_rules() -> None:
    assert error_envelope_problems(_error(400, "INVALID_REQUEST", "MISSING_FIELDS", request_id="r")) == []
    html = Answer(502, "text/html", b"<html>Bad Gateway</html>")
    assert len(error_envelope_problems(html)) == 2
    broken = Answer(400, "application/json", b'{"error_code": 7, "secret": "never-shown"}')
    problems = "\n".join(error_envelope_problems(broken))
    assert "error_type" in problems
    assert "never-shown" not in problems
    assert request_id_problems(_error(400, "INVALID_REQUEST", "MISSING_FIELDS"))
    assert request_id_problems(Answer(200, "application/json", b'{"request_id": "abc"}')) == []


def test_rejection_rules() -> None:
    assert (
        rejection_problems(_error(400, "INVALID_REQUEST", "UNKNOWN_FIELDS"), expected_code="UNKNOWN_FIELDS")
        == []
    )
    assert rejection_problems(_error(400, "INVALID_REQUEST", "INVALID_FIELD"), expected_code="MISSING_FIELDS")
    assert rejection_problems(_error(400, "ITEM_ERROR", "ITEM_LOGIN_REQUIRED"))
    assert rejection_problems(_error(500, "API_ERROR", "INTERNAL_SERVER_ERROR"))
    assert rejection_problems(Answer(200, "application/json", b"{}"), expected_code="UNKNOWN_FIELDS")


# ---- the suite as a process ------------------------------------------------------------------------------


def _suite(env: dict[str, str], tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    clean.update(env, PLAID_CONTRACT_MAX_EXAMPLES="10")
    command = [
        sys.executable,
        "-m",
        "pytest",
        "contract_tests/server",
        "-q",
        "-p",
        "no:cacheprovider",
        *extra,
    ]
    return subprocess.run(
        command, cwd=ROOT, env=clean, capture_output=True, text=True, timeout=240, check=False
    )


def test_missing_credentials_stop_the_suite_with_a_usage_error(tmp_path: Path) -> None:
    done = _suite({"PLAID_BASE_URL": "http://127.0.0.1:9", "PLAID_SECRET": "s"}, tmp_path)
    assert done.returncode == 4  # pytest's usage error
    assert "PLAID_CLIENT_ID, PLAID_ACCESS_TOKEN" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout


def test_live_target_path_against_a_rate_limited_server(tmp_path: Path) -> None:
    """By URL, like Plaid Sandbox: real rate limits on, special Items declared only in part."""
    junit = tmp_path / "live.xml"
    with running_server(create_reference_app(rate_limited=True)) as base_url:
        env = {
            "PLAID_BASE_URL": base_url,
            "PLAID_CLIENT_ID": DEFAULT_CLIENT_ID,
            "PLAID_SECRET": DEFAULT_SECRET,
            "PLAID_ACCESS_TOKEN": TOKEN_HEALTHY,
            "PLAID_TOKEN_CAPITAL_ONE": TOKEN_CAPITAL_ONE_CREDIT,
        }
        done = _suite(env, tmp_path, f"--junitxml={junit}")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    cases = {case.get("name"): case for case in ET.parse(junit).iter("testcase")}
    assert cases["test_scenario[refresh: capital_one_products_not_supported]"].find("skipped") is None
    skipped = cases["test_scenario[refresh: item_login_required]"].find("skipped")
    assert skipped is not None
    assert "PLAID_TOKEN_LOGIN_REQUIRED" in (skipped.get("message") or "")
    assert DEFAULT_SECRET not in output
    assert DEFAULT_SECRET not in junit.read_text()


# ---- the schemathesis CLI configuration ------------------------------------------------------------------


def _cli(base_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    env.update(
        PLAID_CLIENT_ID=DEFAULT_CLIENT_ID,
        PLAID_SECRET=DEFAULT_SECRET,
        PLAID_ACCESS_TOKEN=TOKEN_HEALTHY,
        PYTHONPATH=str(ROOT),
    )
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file", "contract_tests/schemathesis-cli.toml",
        "run", "openapi/transactions-refresh.yaml", "--url", base_url, "--max-examples", "10",
        "--report-junit-path", str(tmp_path / "cli.xml"),
    ]  # fmt: skip
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )


def test_cli_config_passes_the_reference_server(tmp_path: Path) -> None:
    with running_server(create_reference_app()) as base_url:
        done = _cli(base_url, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "passed" in done.stdout
    assert DEFAULT_SECRET not in done.stdout + (tmp_path / "cli.xml").read_text()


def test_cli_config_runs_the_plaid_checks(tmp_path: Path) -> None:
    """The hooks module is loaded: a server that ignores bad keys fails the Plaid check, not a built-in."""
    from tests.contract_suite.broken import bad_keys_ignored

    with running_server(bad_keys_ignored()) as base_url:
        done = _cli(base_url, tmp_path)
    assert done.returncode == 1, done.stdout[-3000:]
    assert "plaid_bad_api_keys_rejected" in done.stdout


def test_every_scenario_passes_over_loopback_transport() -> None:
    """PLAID_CONTRACT_TRANSPORT=loopback: the reference server on uvicorn, real HTTP, rate-limit scenario
    included (it gets its own rate-limited server on loopback too)."""
    from contract_tests.server.scenarios import SCENARIOS, Scenario
    from contract_tests.server.target import open_target

    with open_target({"PLAID_CONTRACT_TRANSPORT": "loopback"}) as target:
        assert target.base_url is not None
        assert target.base_url.startswith("http://127.0.0.1:")
        with target.client() as client:
            for function in SCENARIOS.values():
                function(Scenario(target, client))
