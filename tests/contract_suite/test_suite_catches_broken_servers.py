"""Proof that the contract suite can fail: the unchanged suite, run as users run it (pytest on
contract_tests/server), against each deliberately broken server of broken.py, must fail, and fail for the
right reason; against the same wrapper with nothing broken it must pass, so the proof is not vacuous.

Each run is a separate pytest process (the suite picks its target from the environment at start-up), pointed
at the variant with PLAID_CONTRACT_APP, in-process (no sockets), with fuzzing bounded to 10 examples per
operation and mode. Two runs at a time: the machine has two cores.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plaid_refresh.server import DEFAULT_SECRET
from tests.contract_suite.broken import BROKEN_VARIANTS

# 13 suite runs happen in the first test's set-up: allow for a loaded machine (each run is also bounded).
pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = "10"
RUN_TIMEOUT = 240  # seconds per suite run; a hung run fails the proof instead of blocking CI

# For each variant, the (test, text) pairs that must be among the suite's failures: the generated layer
# (test_positive / test_negative: schemathesis checks) and the scenario layer, wherever each applies.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "missing_request_id": [
        ("test_positive", "plaid_request_id"),
        ("test_scenario[refresh: healthy_refresh_succeeds]", "request_id is missing"),
    ],
    "wrong_status_for_error_type": [
        ("test_negative", "plaid_status_matches_error_type"),
        ("test_scenario[refresh: missing_fields]", "HTTP 422 with error_type INVALID_REQUEST"),
    ],
    "server_error_on_malformed_json": [
        ("test_negative", "plaid_negative_input_rejected"),
        ("test_scenario[refresh: invalid_body_malformed_json]", "answered HTTP 500"),
    ],
    "unknown_fields_accepted": [
        (
            "test_scenario[refresh: unknown_fields]",
            "the target answered HTTP 200, the reference server HTTP 400 INVALID_REQUEST/UNKNOWN_FIELDS",
        ),
    ],
    "bad_keys_ignored": [
        ("test_positive", "plaid_bad_api_keys_rejected"),
        (
            "test_scenario[refresh: invalid_api_keys_in_headers]",
            "HTTP 200, the reference server HTTP 400 INVALID_INPUT/INVALID_API_KEYS",
        ),
        (
            "test_scenario[refresh: invalid_api_keys_in_body]",
            "HTTP 200, the reference server HTTP 400 INVALID_INPUT/INVALID_API_KEYS",
        ),
    ],
    "wrong_content_type": [
        ("test_positive", "Undocumented Content-Type"),
        ("test_scenario[refresh: missing_fields]", "an error answer must be application/json"),
        ("test_scenario[refresh: healthy_refresh_succeeds]", "a success must be application/json"),
    ],
    "error_not_plaid_shaped": [
        ("test_negative", "plaid_error_envelope"),
        ("test_scenario[refresh: missing_fields]", "not a PlaidError"),
    ],
    "wrong_code_for_missing_field": [
        (
            "test_scenario[refresh: missing_fields]",
            "the reference server HTTP 400 INVALID_REQUEST/MISSING_FIELDS",
        ),
    ],
    "unauthorized_for_bad_keys": [
        ("test_positive", "plaid_bad_api_keys_rejected"),
        ("test_scenario[refresh: invalid_api_keys_in_headers]", "HTTP 401"),
    ],
    "html_bad_gateway": [
        ("test_positive", "Server error"),
        ("test_positive", "plaid_error_envelope"),
        ("test_scenario[refresh: plaid_version_absent_accepted]", "HTTP 502 (text/html"),
    ],
    "content_type_not_checked": [
        ("test_negative", "plaid_differential_oracle"),
        (
            "test_scenario[refresh: invalid_headers_text_plain]",
            "HTTP 200, the reference server HTTP 400 INVALID_REQUEST/INVALID_HEADERS",
        ),
        (
            "test_scenario[refresh: invalid_headers_missing_content_type]",
            "HTTP 200, the reference server HTTP 400 INVALID_REQUEST/INVALID_HEADERS",
        ),
    ],
    "echoes_secret": [
        ("test_negative", "plaid_secret_not_echoed"),
        ("test_scenario[refresh: missing_fields]", "repeats the request's secret"),
    ],
    "version_not_checked": [
        ("test_negative", "plaid_differential_oracle"),
        (
            "test_scenario[refresh: plaid_version_unsupported]",
            "HTTP 200, the reference server HTTP 400 INVALID_REQUEST/INCOMPATIBLE_API_VERSION",
        ),
    ],
}


@dataclass
class SuiteRun:
    returncode: int
    output: str
    tests: int = 0
    skipped: int = 0
    failures: dict[str, list[str]] = field(default_factory=dict)  # test name -> failure texts
    junit_text: str = ""
    summary: str = ""  # the "Plaid contract summary" section of the terminal output, whole
    summary_json: dict[str, Any] | None = None  # what PLAID_CONTRACT_SUMMARY_JSON received

    def failed(self, test: str, text: str) -> bool:
        return any(text in failure for failure in self.failures.get(test, []))


def summary_section(stdout: str) -> str:
    """The summary the suite prints (pytest_terminal_summary), from its header line to the next section."""
    start = stdout.find("Plaid contract summary")
    if start == -1:
        return ""
    start = stdout.rfind("\n", 0, start) + 1
    end = stdout.find("\n=", start)
    return stdout[start : end if end != -1 else None]


def run_suite(variant: str, reports: Path) -> SuiteRun:
    junit = reports / f"{variant}.xml"
    summary_json = reports / f"{variant}-summary.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLAID_")}
    env.update(
        PLAID_CONTRACT_APP=f"tests.contract_suite.broken:{variant}",
        PLAID_CONTRACT_MAX_EXAMPLES=MAX_EXAMPLES,
        PLAID_CONTRACT_SUMMARY_JSON=str(summary_json),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    command = [
        sys.executable, "-m", "pytest", "contract_tests/server", "-q", "-p", "no:cacheprovider",
        f"--junitxml={junit}",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False
    )
    run = SuiteRun(
        returncode=done.returncode,
        output=done.stdout[-6000:] + done.stderr[-3000:],
        summary=summary_section(done.stdout),
    )
    if summary_json.exists():
        run.summary_json = json.loads(summary_json.read_text(encoding="utf-8"))
    if junit.exists():
        run.junit_text = junit.read_text(encoding="utf-8")
        for case in ET.parse(junit).iter("testcase"):
            run.tests += 1
            run.skipped += len(case.findall("skipped"))
            for problem in [*case.findall("failure"), *case.findall("error")]:
                text = f"{problem.get('message', '')}\n{problem.text or ''}"
                run.failures.setdefault(case.get("name", ""), []).append(text)
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    reports = tmp_path_factory.mktemp("suite-runs")
    variants = ["unbroken", *BROKEN_VARIANTS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda variant: run_suite(variant, reports), variants)
        return dict(zip(variants, results, strict=True))


def test_every_variant_has_expectations() -> None:
    assert len(BROKEN_VARIANTS) >= 8
    assert set(EXPECTED) == set(BROKEN_VARIANTS)


def test_unbroken_server_passes(runs: dict[str, SuiteRun]) -> None:
    run = runs["unbroken"]
    assert run.returncode == 0, run.output
    assert run.failures == {}
    # Everything ran: the 2 generated tests per mode and every scenario, none skipped on the reference server.
    assert run.tests >= 30
    assert run.skipped == 0, run.output
    # The summary `make contract` prints says so, and the JSON it writes agrees.
    assert "Plaid contract summary" in run.summary, run.output
    assert "RESULT: the target conforms to the contract" in run.summary, run.summary
    assert "FAILURES (" not in run.summary, run.summary
    data = run.summary_json
    assert data is not None, f"no JSON summary written:\n{run.output}"
    assert data["failures"] == [], data["failures"]
    assert data["generated_cases"] > 0, data
    assert sum(data["cases_by_phase_mode"].values()) == data["generated_cases"]
    assert data["checks"], "the summary names the checks run on every response"
    assert not [key for key in data["outcomes"] if not key.endswith(("/passed", "/skipped"))], data
    assert data["outcomes"].get("generated/passed", 0) > 0, data["outcomes"]
    assert data["outcomes"].get("scenario/passed", 0) > 0, data["outcomes"]
    assert f"{data['generated_cases']} cases generated and checked" in run.summary


def assert_failure_summary(variant: str, run: SuiteRun) -> None:
    """The failure branch of the summary (RunStats.render) and the JSON name what failed."""
    assert "Plaid contract summary" in run.summary, run.output
    assert "RESULT: the target conforms" not in run.summary, run.summary
    data = run.summary_json
    assert data is not None, f"{variant}: no JSON summary written:\n{run.output}"
    assert DEFAULT_SECRET not in json.dumps(data)
    failures = data["failures"]
    assert len(failures) > 0, data
    assert f"FAILURES ({len(failures)}):" in run.summary, run.summary
    for failure in failures:
        assert f"  x {failure['test']}" in run.summary, run.summary
    reported = [failure["test"].rsplit("::", 1)[-1] for failure in failures]
    for test, _ in EXPECTED[variant]:
        assert any(name.startswith(test) for name in reported), f"{variant}: {test} not in {reported}"
    if any(test in ("test_positive", "test_negative") for test, _ in EXPECTED[variant]):
        # A failing generated test comes with the curl command that reproduces its minimal case.
        assert re.search(r"^      reproduce: curl ", run.summary, re.MULTILINE), run.summary
        assert any((failure["curl"] or "").startswith("curl ") for failure in failures), failures


@pytest.mark.parametrize("variant", list(BROKEN_VARIANTS))
def test_suite_catches_broken_server(variant: str, runs: dict[str, SuiteRun]) -> None:
    run = runs[variant]
    assert run.returncode == 1, f"the suite did not fail against {variant}:\n{run.output}"
    # What the suite prints and reports about a broken server never includes the credentials it sent.
    assert DEFAULT_SECRET not in run.output + run.junit_text
    missed = [(test, text) for test, text in EXPECTED[variant] if not run.failed(test, text)]
    assert not missed, f"{variant}: expected failures not reported: {missed}\nfailed: {sorted(run.failures)}"
    assert_failure_summary(variant, run)
