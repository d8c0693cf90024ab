"""docs/client.md's quick start works when pasted into a fresh venv holding only what the doc says
to install (`pip install ./generated_client .`, here with uv), against a real loopback HTTP server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import CLIENT_ID, SECRET
from .stub_server import stub_server

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"


def quickstart() -> str:
    doc = (ROOT / "docs" / "client.md").read_text(encoding="utf-8")
    match = re.search(r"<!-- snippet: quickstart.*?-->\s*```python\n(.*?)```", doc, re.S)
    assert match, "docs/client.md lost its quick start snippet"
    return match.group(1)


def _uv(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([str(UV), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    assert UV.is_file(), "run `make setup` first: .tools/bin/uv bootstraps every target"
    venv = tmp_path_factory.mktemp("client-docs") / "venv"
    created = _uv("venv", "-q", str(venv), "--python", sys.executable)
    assert created.returncode == 0, created.stderr
    python = venv / "bin" / "python"
    # The documented command. Offline first (the cache normally has everything); the registry only
    # when the cache lacks an index page, as `pip install` would.
    install = _uv("pip", "install", "-q", "--python", str(python), "--offline", "./generated_client", ".")
    if install.returncode != 0:
        install = _uv("pip", "install", "-q", "--python", str(python), "./generated_client", ".")
    assert install.returncode == 0, install.stderr
    return python


def _run_snippet(python: Path, tmp_path: Path, base_url: str, token: str) -> str:
    script = tmp_path / "snippet.py"
    script.write_text(quickstart(), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PLAID_BASE_URL": base_url,
        "PLAID_CLIENT_ID": CLIENT_ID,
        "PLAID_SECRET": SECRET,
        "ACCESS_TOKEN": token,
    }
    done = subprocess.run(
        [str(python), "-I", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_venv_holds_only_the_installed_packages(fresh_venv: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [
            str(fresh_venv),
            "-I",
            "-c",
            "import plaid_refresh, plaid_refresh_client; print(plaid_refresh.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert where.returncode == 0, where.stderr
    assert str(fresh_venv.parent.parent) in where.stdout  # imported from the fresh venv, not the checkout
    pytest_there = subprocess.run(
        [str(fresh_venv), "-I", "-c", "import pytest"], capture_output=True, timeout=60
    )
    assert pytest_there.returncode != 0  # no dev dependencies leaked in


@pytest.mark.parametrize(
    ("token", "printed"),
    [
        ("access-sandbox-ok", "refresh started, request_id stubRequest0001\n"),
        ("access-sandbox-relink", "the user must re-link this Item (Link update mode)\n"),
        ("access-sandbox-unknown", "refresh failed: INVALID_ACCESS_TOKEN (INVALID_INPUT, HTTP 400)"),
    ],
)
def test_quickstart_runs_in_a_fresh_venv(fresh_venv: Path, tmp_path: Path, token: str, printed: str) -> None:
    with stub_server() as (base_url, _):
        out = _run_snippet(fresh_venv, tmp_path, base_url, token)
    assert out.startswith(printed), out
    assert SECRET not in out
