"""`make contract-prism`'s verdict: contract_tests.server.prism.report compares what the runs measured with
what docs/contract.md documents, and its return value is the target's exit code. Fed made-up outcomes here:
no Prism process, no network."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from contract_tests.server.prism import EXPECTED_FAILING_CHECKS, EXPECTED_PASSING_SCENARIOS, report


def documented_outcomes() -> dict[str, str]:
    """JUnit outcomes as run_pytest_suite returns them, matching the documented results: the documented
    scenarios pass, others fail or skip, and the generated tests (not scenarios) fail."""
    outcomes = {f"test_scenario[{name}]": "passed" for name in EXPECTED_PASSING_SCENARIOS}
    outcomes["test_scenario[refresh: unknown_fields]"] = "failed"
    outcomes["test_scenario[refresh: invalid_api_keys_in_headers]"] = "failed"
    outcomes["test_scenario[refresh: item_login_required]"] = "skipped"
    outcomes["test_positive"] = "failed"
    outcomes["test_negative"] = "failed"
    return outcomes


def documented_failing() -> dict[str, int]:
    return {check: 3 for check in EXPECTED_FAILING_CHECKS}


def test_documented_gaps_reproduced_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(documented_outcomes(), documented_failing(), tmp_path) == 0
    out = capsys.readouterr().out
    assert "RESULT: as documented" in out
    assert f"({len(EXPECTED_FAILING_CHECKS)} checks, 3 scenarios failing or skipped)" in out
    assert "differ" not in out
    results = json.loads((tmp_path / "contract-prism-results.json").read_text(encoding="utf-8"))
    assert results["failing_checks"] == documented_failing()
    assert results["scenarios"]["refresh: unknown_fields"] == "failed"
    assert set(results["scenarios"]) == {*EXPECTED_PASSING_SCENARIOS, "refresh: unknown_fields",
                                         "refresh: invalid_api_keys_in_headers",
                                         "refresh: item_login_required"}  # fmt: skip
    assert results["generated"] == {"test_positive": "failed", "test_negative": "failed"}


def test_generated_tests_passing_do_not_count_as_scenarios(tmp_path: Path) -> None:
    outcomes = {**documented_outcomes(), "test_positive": "passed", "test_negative": "passed"}
    assert report(outcomes, documented_failing(), tmp_path) == 0


def _extra_check(failing: dict[str, int], outcomes: dict[str, str]) -> None:
    failing["not_a_server_error"] = 1


def _fixed_check(failing: dict[str, int], outcomes: dict[str, str]) -> None:
    del failing["plaid_request_id"]


def _documented_scenario_fails(failing: dict[str, int], outcomes: dict[str, str]) -> None:
    outcomes["test_scenario[refresh: missing_fields]"] = "failed"


def _documented_scenario_skips(failing: dict[str, int], outcomes: dict[str, str]) -> None:
    outcomes["test_scenario[refresh: missing_fields]"] = "skipped"


def _undocumented_scenario_passes(failing: dict[str, int], outcomes: dict[str, str]) -> None:
    outcomes["test_scenario[refresh: unknown_fields]"] = "passed"


Change = Callable[[dict[str, int], dict[str, str]], None]


@pytest.mark.parametrize(
    ("change", "expected_text"),
    [
        pytest.param(_extra_check, "failing checks", id="undocumented_check_fails"),
        pytest.param(_fixed_check, "failing checks", id="documented_check_passes"),
        pytest.param(_documented_scenario_fails, "passing scenarios", id="documented_scenario_fails"),
        pytest.param(_documented_scenario_skips, "passing scenarios", id="documented_scenario_skips"),
        pytest.param(_undocumented_scenario_passes, "passing scenarios", id="undocumented_scenario_passes"),
    ],
)
def test_undocumented_difference_exits_nonzero(
    change: Change, expected_text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failing, outcomes = documented_failing(), documented_outcomes()
    change(failing, outcomes)
    assert report(outcomes, failing, tmp_path) == 1
    out = capsys.readouterr().out
    assert "RESULT: Prism's results differ from docs/contract.md" in out
    assert expected_text in out
    assert "RESULT: as documented" not in out
    # The measured results are still written, for updating the documented table.
    results = json.loads((tmp_path / "contract-prism-results.json").read_text(encoding="utf-8"))
    assert results["failing_checks"] == failing


def test_nothing_measured_is_a_difference(tmp_path: Path) -> None:
    assert report({}, {}, tmp_path) == 1
