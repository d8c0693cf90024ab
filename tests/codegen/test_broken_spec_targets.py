"""Every make target that reads the spec stops on a broken spec with one line naming the file, line and
problem: no traceback, no pytest INTERNALERROR."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.spec_loader import ROOT, SPEC_PATH

pytestmark = pytest.mark.timeout(240)

TARGETS = ["lint-spec", "unit", "contract", "client-contract", "webhook-contract", "serve", "check-generated"]


def _make(target: str, spec: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target, f"SPEC={spec}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def yaml_error(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    lines = SPEC_PATH.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.strip() == "RequestId:")
    lines[number - 1] += " [unclosed"
    spec = tmp_path_factory.mktemp("spec") / "broken.yaml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return spec, number


@pytest.mark.parametrize("target", TARGETS)
def test_a_yaml_syntax_error_stops_the_target_with_one_clear_line(
    target: str, yaml_error: tuple[Path, int]
) -> None:
    spec, _line = yaml_error
    result = _make(target, spec)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, output
    assert errors[0].startswith(f"ERROR: {spec}:"), errors
    assert "YAML syntax error" in errors[0]
    assert "Traceback" not in output
    assert "INTERNALERROR" not in output


def test_lint_spec_places_a_schema_error_on_its_line(tmp_path: Path) -> None:
    lines = SPEC_PATH.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.strip() == "RequestId:") + 1
    assert lines[number - 1].strip() == "type: string"
    lines[number - 1] = lines[number - 1].replace("string", "strng")
    spec = tmp_path / "broken.yaml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _make("lint-spec", spec)
    assert result.returncode != 0
    expected = f"ERROR: {spec}:{number}: components.schemas.RequestId.type: 'strng' is not valid"
    assert expected in result.stderr, result.stdout + result.stderr
    assert len(result.stderr) < 2000  # not the whole spec on one line
