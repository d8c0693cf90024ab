"""Scenario tests (scenarios.py) against the session's target: one test per documented behaviour and
operation, named "<operation>: <scenario>" (e.g. `test_scenario[refresh: missing_fields]`)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from contract_tests.server import session
from contract_tests.server.scenarios import SCENARIOS, Scenario, ScenarioSkipped


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with session.target().client() as client:
        yield client


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario(name: str, client: httpx.Client) -> None:
    context = Scenario(session.target(), client, ledger=session.ledger(), oracle=session.oracle())
    try:
        SCENARIOS[name](context)
    except ScenarioSkipped as skip:
        pytest.skip(str(skip))
    except AssertionError as failure:
        curl = context.curl()
        raise AssertionError(f"{failure}\nreproduce: {curl}" if curl else str(failure)) from None
