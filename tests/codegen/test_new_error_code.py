"""The spec is the only list of error codes: a code added there becomes an exception class through
`make generate` alone, and `except NewCode` catches Plaid's answer with that code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.spec_loader import ROOT

from .helpers import add_error_code, make_generate, spec_data, write_spec

pytestmark = pytest.mark.timeout(240)

CONSUMER = """
import httpx
from plaid_refresh import ERROR_CLASS_BY_CODE, ItemError, PlaidRefreshClient, RetryPolicy, UserSetupRequired
from plaid_refresh.spec import load_spec

body = load_spec()["components"]["responses"]["BadRequest"]["content"]["application/json"]["examples"][
    "USER_SETUP_REQUIRED"]["value"]
transport = httpx.MockTransport(lambda request: httpx.Response(400, json=body))
with PlaidRefreshClient.sandbox(client_id="5f0bd2b1c0c0b2001234abcd", secret="s" * 30, transport=transport,
                                retries=RetryPolicy.disabled()) as client:
    try:
        client.refresh("access-sandbox-de3ce8ef-33f8-452c-a685-8671031fc0f6")
    except UserSetupRequired as error:
        assert isinstance(error, ItemError), type(error).__mro__
        assert ERROR_CLASS_BY_CODE["USER_SETUP_REQUIRED"] is UserSetupRequired
        print("caught", type(error).__name__, error.error_code, error.status_code)
"""


def test_a_code_added_to_the_spec_is_caught_by_its_own_class(tmp_path: Path) -> None:
    # A private copy of the project's source, so the real tree stays as it is.
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "openapi").mkdir()
    data = spec_data()
    add_error_code(data, "USER_SETUP_REQUIRED", "ITEM_ERROR")
    spec = write_spec(data, tmp_path / "openapi" / "transactions-refresh.yaml")

    generated = make_generate(
        spec, tmp_path / "generated_client", tmp_path / "src/plaid_refresh/client/error_classes.py"
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr

    env = {**os.environ, "PYTHONPATH": f"{tmp_path / 'src'}{os.pathsep}{tmp_path / 'generated_client'}"}
    run = subprocess.run(
        [sys.executable, "-c", CONSUMER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "caught UserSetupRequired USER_SETUP_REQUIRED 400"
