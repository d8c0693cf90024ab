"""The example GitHub workflow passes zizmor and actionlint's checks (actionlint where installed, else the
locked jactionlint with shellcheck), the check fails on an unsafe or broken workflow, and the pre-commit
configuration runs the spec lint and the drift check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.spec_loader import ROOT

pytestmark = pytest.mark.timeout(120)
WORKFLOW = ROOT / "examples" / "github-actions" / "plaid-contract.yml"


def _lint(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "lint-workflows", f"WORKFLOWS={folder}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=100,
    )


def test_the_example_workflow_passes(tmp_path: Path) -> None:
    shutil.copy(WORKFLOW, tmp_path)
    result = _lint(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings" in result.stdout + result.stderr


def test_a_template_injection_fails_the_check(tmp_path: Path) -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    unsafe = text.replace('--base-url "$BASE_URL"', '--base-url "${{ github.event.pull_request.title }}"')
    assert unsafe != text
    (tmp_path / "plaid-contract.yml").write_text(unsafe, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert "template-injection" in result.stdout + result.stderr


def test_a_broken_workflow_fails_the_check(tmp_path: Path) -> None:
    good = WORKFLOW.read_text(encoding="utf-8")
    text = good.replace("    runs-on: ubuntu-24.04\n", "    runs-on: [ubuntu\n")
    assert text != good
    (tmp_path / "plaid-contract.yml").write_text(text, encoding="utf-8")
    assert _lint(tmp_path).returncode != 0


@pytest.mark.parametrize(
    ("old", "new", "finding"),
    [
        # What zizmor does not check and actionlint does: a job graph and the shell of `run:` steps.
        (
            "    runs-on: ubuntu-24.04\n",
            "    runs-on: ubuntu-24.04\n    needs: build-wheels\n",
            "undefined-job-needs",
        ),
        ("run: |\n", "run: |\n          ls $RUNNER_TEMP/*\n", "SC2086"),
    ],
    ids=["needs-an-undefined-job", "unquoted-shell-variable"],
)
def test_what_actionlint_checks_fails_the_check(tmp_path: Path, old: str, new: str, finding: str) -> None:
    good = WORKFLOW.read_text(encoding="utf-8")
    text = good.replace(old, new, 1)
    assert text != good
    (tmp_path / "plaid-contract.yml").write_text(text, encoding="utf-8")
    result = _lint(tmp_path)
    assert result.returncode != 0
    assert finding in result.stdout + result.stderr


def test_the_workflow_installs_by_url_and_writes_junit() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    runs = "\n".join(step.get("run", "") for step in workflow["jobs"]["contract"]["steps"])
    assert '"unofficial-plaid-refresh[contract] @ ${TOOLKIT_WHEELS_URL}/' in runs  # never by bare name
    assert "--extra-index-url" not in runs
    assert "plaid-refresh-contract" in runs
    assert "--junitxml" in runs


def test_pre_commit_runs_the_spec_lint_and_the_drift_check() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert hooks["lint-spec"]["entry"].endswith("make --no-print-directory lint-spec")
    assert hooks["check-generated"]["entry"].endswith("make --no-print-directory check-generated")
    assert hooks["check-generated"]["files"].startswith("^(openapi/|generated_client/")
