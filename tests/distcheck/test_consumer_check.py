"""The consumer test can fail: a runtime wheel without py.typed makes mypy --strict fail on the consumer
(every type would be Any), and the check says so."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from distcheck.wheels import RUNTIME, find_wheels
from tests.spec_loader import ROOT

pytestmark = pytest.mark.timeout(300)
UV = ROOT / ".tools" / "bin" / "uv"


def _build(dist: Path) -> None:
    for source in (ROOT / "generated_client", ROOT):
        subprocess.run(
            [str(UV), "build", "--quiet", "--wheel", "--out-dir", str(dist), str(source)],
            check=True,
            capture_output=True,
            timeout=240,
        )


def _without(wheel: Path, suffix: str) -> None:
    """Rewrite the wheel without the files ending in `suffix` (RECORD lines included)."""
    original = wheel.with_suffix(".orig")
    wheel.rename(original)
    with zipfile.ZipFile(original) as source, zipfile.ZipFile(wheel, "w") as target:
        for item in source.infolist():
            if item.filename.endswith(suffix):
                continue
            data = source.read(item)
            if item.filename.endswith("RECORD"):
                lines = [line for line in data.decode().splitlines() if suffix not in line.split(",")[0]]
                data = ("\n".join(lines) + "\n").encode()
            target.writestr(item, data)
    original.unlink()


def test_a_wheel_without_py_typed_fails_the_consumer_test(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _build(dist)
    _without(find_wheels(dist)[RUNTIME].path, "plaid_refresh/py.typed")
    result = subprocess.run(
        [sys.executable, "-m", "distcheck.consumer", "--dist", str(dist), "--uv", str(UV)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "mypy --strict on the example consumer" in result.stderr
    assert "py.typed" in result.stderr  # mypy: missing library stubs or py.typed marker
