"""A part of plaid_refresh imported without its extra names the extra to install."""

from __future__ import annotations

import pytest

from plaid_refresh import extras
from plaid_refresh.cli import main


def test_a_missing_module_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(extras.MODULES_BY_EXTRA, "server", ("orjson", "no_such_module_xyz"))
    with pytest.raises(extras.MissingExtra) as caught:
        extras.require("server", "plaid_refresh.server")
    message = str(caught.value)
    assert "needs the [server] extra (missing: no_such_module_xyz)" in message
    assert "pip install 'unofficial-plaid-refresh[server]'" in message


def test_installed_extras_pass() -> None:
    for extra in extras.MODULES_BY_EXTRA:
        extras.require(extra, "test")  # the dev venv holds every extra


def test_the_cli_reports_a_missing_extra_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def missing(_subparsers: object) -> None:
        raise extras.MissingExtra("plaid_refresh.server needs the [server] extra")

    monkeypatch.setattr("plaid_refresh.cli.SUBCOMMANDS", [missing])
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "plaid-refresh: error: plaid_refresh.server needs the [server] extra\n"
