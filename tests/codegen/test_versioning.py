"""The generated client's version follows its code: a spec change that changes the generated code bumps
it, an unchanged generation keeps it, and the drift check fails on a stale version."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.spec_loader import ROOT, SPEC_PATH

from .helpers import copy_outputs, make_generate, spec_data, write_spec

pytestmark = pytest.mark.timeout(240)


def _version(client: Path) -> str:
    match = re.search(r'^version = "([^"]+)"$', (client / "pyproject.toml").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def _lock_version(client: Path) -> str:
    match = re.search(r'^version = "([^"]+)"$', (client / "codegen.lock").read_text(), re.MULTILINE)
    assert match
    return match.group(1)


def _spec(tmp_path: Path, old: str, new: str) -> Path:
    text = SPEC_PATH.read_text(encoding="utf-8")
    assert old in text
    spec = tmp_path / "spec.yaml"
    spec.write_text(text.replace(old, new, 1), encoding="utf-8")
    return spec


def _reworded(tmp_path: Path) -> Path:
    """The spec with the refresh operation's summary reworded: it lands in the generated docstrings."""
    data = spec_data()
    data["paths"]["/transactions/refresh"]["post"]["summary"] += " Reworded."
    return write_spec(data, tmp_path / "spec.yaml")


def _check(spec: Path, client: Path, classes: Path) -> subprocess.CompletedProcess[str]:
    args = ["make", "--no-print-directory", "check-generated", f"SPEC={spec}", f"GENERATED={client}"]
    args.append(f"ERROR_CLASSES={classes}")
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False, timeout=240)


def test_a_change_to_the_generated_code_bumps_the_revision_once(tmp_path: Path) -> None:
    client, classes = copy_outputs(tmp_path)
    before = _version(client)
    base, revision = before.rsplit(".", 1)
    spec = _reworded(tmp_path)

    assert make_generate(spec, client, classes).returncode == 0
    bumped = _version(client)
    assert bumped == f"{base}.{int(revision) + 1}"
    assert _lock_version(client) == bumped
    assert "Reworded." in "".join(p.read_text() for p in client.rglob("*.py"))

    assert make_generate(spec, client, classes).returncode == 0
    assert _version(client) == bumped  # same code, same version
    assert _check(spec, client, classes).returncode == 0


def test_the_drift_check_fails_when_the_version_was_not_bumped(tmp_path: Path) -> None:
    client, classes = copy_outputs(tmp_path)
    before = _version(client)
    spec = _reworded(tmp_path)
    assert make_generate(spec, client, classes).returncode == 0
    # Someone keeps the new code but puts the old version back.
    for name in ("pyproject.toml", "codegen.lock"):
        path = client / name
        path.write_text(path.read_text().replace(_version(client), before))
    result = _check(spec, client, classes)
    assert result.returncode != 0
    assert "make generate" in result.stdout


def test_a_new_api_version_starts_at_revision_one(tmp_path: Path) -> None:
    client, classes = copy_outputs(tmp_path)
    spec = _spec(tmp_path, 'version: "2020-09-14"', 'version: "2021-03-01"')
    assert make_generate(spec, client, classes).returncode == 0
    assert _version(client) == "2021.3.1.1"


def test_a_conflicted_lock_resolves_above_both_sides(tmp_path: Path) -> None:
    client, classes = copy_outputs(tmp_path)
    base, revision = _version(client).rsplit(".", 1)
    lock = client / "codegen.lock"
    ours, theirs = f"{base}.{int(revision) + 1}", f"{base}.{int(revision) + 2}"
    lock.write_text(
        f'<<<<<<< HEAD\nversion = "{ours}"\nfingerprint = "a"\n=======\n'
        f'version = "{theirs}"\nfingerprint = "b"\n>>>>>>> main\n'
    )
    assert make_generate(SPEC_PATH, client, classes).returncode == 0
    assert _version(client) == f"{base}.{int(revision) + 3}"
