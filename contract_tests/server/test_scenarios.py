"""Scenario tests (scenarios.py) against the session's target: one test per documented behaviour."""

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
    try:
        SCENARIOS[name](Scenario(session.target(), client))
    except ScenarioSkipped as skip:
        pytest.skip(str(skip))
