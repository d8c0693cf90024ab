"""`make upstream-check`: against a file made here from plaid-python's definitions it passes with only
allow-listed constraints, and it reports (and fails on) a constraint planted in a copy of the spec."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from contract_tests.upstream.check import DEFAULT_ALLOW_LIST, main, run
from tests.spec_loader import ROOT, SPEC_PATH
from tests.upstream.plaid_python_contract import contract_document


def write(path: Path, content: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def upstream(tmp_path: Path) -> Path:
    """Plaid's contract as plaid-python states it, written as an OpenAPI file (never committed)."""
    return write(tmp_path / "2020-09-14.yml", contract_document())


def spec_copy(tmp_path: Path) -> dict[str, Any]:
    content: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return content


def test_this_spec_adds_only_allow_listed_constraints(
    upstream: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--upstream", str(upstream)]) == 0
    out = capsys.readouterr().out
    assert "OK: every constraint is in the allow-list with a reason" in out
    report = run(SPEC_PATH, upstream, DEFAULT_ALLOW_LIST)
    assert not report.refused
    assert not report.stale, "allow-list entries that match nothing"
    assert {c.key for c in report.received} == set(report.allowed)


PLANTED = [
    ("PlaidError", "error_message", {"maxLength": 100}, "PlaidError.error_message maxLength"),
    ("PlaidError", "causes", {"maxItems": 10}, "PlaidError.causes maxItems"),
    (
        "DefaultUpdateWebhook",
        "new_transactions",
        {"type": "integer"},
        "DefaultUpdateWebhook.new_transactions type",
    ),
    (
        "DefaultUpdateWebhook",
        "new_transactions",
        {"maximum": 10},
        "DefaultUpdateWebhook.new_transactions maximum",
    ),
    ("JWKPublicKey", "expired_at", {"type": "integer"}, "JWKPublicKey.expired_at nullable"),
    (
        "TransactionsRefreshResponse",
        "request_id",
        {"pattern": "^[a-z]+$"},
        "TransactionsRefreshResponse.request_id pattern",
    ),
]


@pytest.mark.parametrize(("schema", "field", "planted", "key"), PLANTED, ids=[p[3] for p in PLANTED])
def test_a_constraint_planted_in_a_copy_of_the_spec_is_reported(
    upstream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], schema: str, field: str,
    planted: dict[str, Any], key: str,
) -> None:  # fmt: skip
    spec = spec_copy(tmp_path)
    target = spec["components"]["schemas"][schema]["properties"][field]
    if "$ref" in target:  # plant it where the field's schema lives
        name = target["$ref"].rsplit("/", 1)[-1]
        target = spec["components"]["schemas"][name]
    target.update(planted)
    copy = write(tmp_path / "spec.yaml", spec)
    assert main(["--upstream", str(upstream), "--spec", str(copy)]) == 1
    out = capsys.readouterr().out
    assert f"[NOT ALLOWED] {key}:" in out
    assert f"  - constraint: {key!r}" in out


def test_a_field_made_required_is_reported(upstream: Path, tmp_path: Path) -> None:
    spec = spec_copy(tmp_path)
    spec["components"]["schemas"]["DefaultUpdateWebhook"]["required"].append("error")
    report = run(write(tmp_path / "spec.yaml", spec), upstream, DEFAULT_ALLOW_LIST)
    assert [c.key for c in report.refused] == ["DefaultUpdateWebhook.error required"]


def test_a_constraint_plaid_puts_on_requests_is_reported(tmp_path: Path) -> None:
    plaid = contract_document()
    plaid = {**plaid, "components": {"schemas": dict(plaid["components"]["schemas"])}}
    request = plaid["components"]["schemas"]["TransactionsRefreshRequest"]
    access_token = {**request["properties"]["access_token"], "maxLength": 64}
    plaid["components"]["schemas"]["TransactionsRefreshRequest"] = {
        **request,
        "properties": {**request["properties"], "access_token": access_token},
    }
    report = run(SPEC_PATH, write(tmp_path / "plaid.yml", plaid), DEFAULT_ALLOW_LIST)
    assert [c.key for c in report.refused] == ["request TransactionsRefreshRequest.access_token maxLength"]


def test_an_allow_list_entry_needs_a_reason(
    upstream: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = write(tmp_path / "allow.yaml", {"allowed": [{"constraint": "PlaidError nullable"}]})
    assert main(["--upstream", str(upstream), "--allow-list", str(allow)]) == 2
    assert "needs a `reason:`" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read Plaid's description"),
        ("[1, 2]", "is not a mapping"),
        ("a: [", "is not valid YAML or JSON"),
        ("swagger: '2.0'\n", "not an OpenAPI 3 document"),
        ("openapi: 3.0.0\ncomponents: {schemas: {}}\n", "no components.schemas TransactionsRefreshResponse"),
    ],
    ids=["missing", "not a mapping", "not yaml", "not openapi 3", "not plaid's"],
)
def test_bad_upstream_files_get_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "upstream.yml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["--upstream", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_make_upstream_check(upstream: Path) -> None:
    done = subprocess.run(
        ["make", "-s", "upstream-check", f"UPSTREAM={upstream}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK: every constraint is in the allow-list" in done.stdout
    missing = subprocess.run(
        ["make", "-s", "upstream-check"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert missing.returncode != 0
    assert "UPSTREAM=" in missing.stdout + missing.stderr
