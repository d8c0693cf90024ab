"""The generated client parses Plaid's answers, including error types and codes nobody knows yet."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from plaid_refresh_client.models import (
    KnownErrorCode,
    KnownErrorType,
    PlaidError,
    TransactionsRefreshResponse,
)

from tests.spec_loader import ROOT


def test_unknown_error_type_and_code_parse() -> None:
    body = {
        "error_type": "QUANTUM_ERROR",
        "error_code": "ENTANGLEMENT_LOST",
        "error_message": "something Plaid added after this spec was written",
        "display_message": None,
        "request_id": "abc123",
        "brand_new_field": [1, 2, 3],
    }
    error = PlaidError.from_dict(body)
    assert error.error_type == "QUANTUM_ERROR"
    assert not isinstance(error.error_type, KnownErrorType)
    assert error.error_code == "ENTANGLEMENT_LOST"
    assert error.additional_properties["brand_new_field"] == [1, 2, 3]
    assert error.to_dict()["error_code"] == "ENTANGLEMENT_LOST"


def test_known_error_type_and_code_stay_typed() -> None:
    error = PlaidError.from_dict(
        {
            "error_type": "ITEM_ERROR",
            "error_code": "ITEM_LOGIN_REQUIRED",
            "error_message": "m",
            "display_message": "d",
        }
    )
    assert error.error_type is KnownErrorType.ITEM_ERROR
    assert error.error_code is KnownErrorCode.ITEM_LOGIN_REQUIRED


def test_success_response_keeps_unknown_fields() -> None:
    response = TransactionsRefreshResponse.from_dict({"request_id": "1vwmF5TBQwiqfwP", "new": 1})
    assert response.request_id == "1vwmF5TBQwiqfwP"
    assert response.additional_properties == {"new": 1}


def test_missing_required_field_is_an_error() -> None:
    with pytest.raises(KeyError):
        PlaidError.from_dict({"error_type": "ITEM_ERROR"})


@pytest.mark.timeout(240)
def test_generated_client_installs_into_a_clean_venv(tmp_path: Path) -> None:
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():  # pragma: no cover - the Makefile always bootstraps it
        pytest.fail("run the tests through `make test`, which bootstraps .tools/bin/uv")
    venv = tmp_path / "venv"
    subprocess.run([str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), str(ROOT / "generated_client")],
        check=True,
    )
    probe = "import plaid_refresh_client.api.transactions.transactions_refresh as m; print(m.__name__)"
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert out.stdout.strip() == "plaid_refresh_client.api.transactions.transactions_refresh"
