"""`make check-generated` fails on one changed byte in generated_client/ and on an unregenerated spec."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.spec_loader import ROOT, SPEC_PATH

pytestmark = pytest.mark.timeout(240)


def _check(**overrides: Path) -> subprocess.CompletedProcess[str]:
    args = ["make", "--no-print-directory", "check-generated", *(f"{k}={v}" for k, v in overrides.items())]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.fixture
def client_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "generated_client"
    shutil.copytree(ROOT / "generated_client", copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_passes_on_the_committed_client(client_copy: Path) -> None:
    result = _check(GENERATED=client_copy)
    assert result.returncode == 0, result.stdout + result.stderr


def test_fails_on_one_changed_byte(client_copy: Path) -> None:
    target = client_copy / "plaid_refresh_client" / "client.py"
    data = bytearray(target.read_bytes())
    data[-2] = ord("#") if data[-2] != ord("#") else ord(" ")
    target.write_bytes(bytes(data))
    result = _check(GENERATED=client_copy)
    assert result.returncode != 0
    assert "make generate" in result.stdout


def test_fails_on_a_new_file(client_copy: Path) -> None:
    (client_copy / "plaid_refresh_client" / "extra.py").write_text("x = 1\n")
    result = _check(GENERATED=client_copy)
    assert result.returncode != 0
    assert "make generate" in result.stdout


def test_fails_when_the_spec_changes_without_regeneration(tmp_path: Path, client_copy: Path) -> None:
    spec = tmp_path / "spec.yaml"
    data = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    data["paths"]["/transactions/refresh"]["post"]["summary"] += " Changed."  # lands in a docstring
    spec.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = _check(SPEC=spec, GENERATED=client_copy)
    assert result.returncode != 0
    assert "make generate" in result.stdout
