"""The client contract suite judges any client and catches broken ones: the fast proof subset of
`make client-mutation`. Each client is named by CLIENT_FACTORY (and CLIENT_ASYNC_FACTORY,
CLIENT_ERROR_ADAPTER) and the suite runs in a subprocess, as `make client-contract CLIENT_FACTORY=...`
does. The full catalogue (contract_tests/client/mutants.py) is scored by `make client-mutation`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from contract_tests.client import mutants
from contract_tests.client.mutants import EQUIVALENT, MUTANTS
from contract_tests.mutation import client_env, run_suite


def _skip_reasons(junit: Path) -> set[str]:
    return {
        skipped.attrib.get("message", "")
        for case in ET.parse(junit).getroot().iter("testcase")
        for skipped in case.iter("skipped")
    }


def test_this_projects_client_passes_through_the_factory_contract_alone(tmp_path: Path) -> None:
    """The generic checks hold for plaid_refresh judged only as a factory + the attribute adapter, and
    the own-client tests skip with their reason. (The mistake-free MiniClient is run by
    `make client-mutation` before any mutant.)"""
    env = {
        "CLIENT_FACTORY": "contract_tests.client.subject:project_factory",
        "CLIENT_ASYNC_FACTORY": "contract_tests.client.subject:project_async_factory",
        "CLIENT_ERROR_ADAPTER": "",
    }
    junit = tmp_path / "junit.xml"
    passed, failed, error = run_suite("client", env, junit, maxfail=None)
    assert (failed, error) == ([], None)
    assert passed >= 150
    reasons = _skip_reasons(junit)
    assert reasons, "the own-client tests did not skip under CLIENT_FACTORY"
    assert all("CLIENT_FACTORY is set" in reason for reason in reasons), reasons


# One per family among retry counts, secrets and async; the rest are in the full score.
FAST = {
    "ignores_retries_zero": "test_sends_and_error_of_each_documented_error",
    "secret_in_cause": "test_redirects_are_not_followed",
    "async_never_retries": "test_every_attempt_of_a_retried_call_is_valid[async]",
}


@pytest.mark.parametrize("name", sorted(FAST))
def test_the_suite_catches_the_broken_client(tmp_path: Path, name: str) -> None:
    _, failed, error = run_suite("client", client_env(name), tmp_path / "junit.xml", maxfail=1)
    assert error is None
    assert failed, f"the suite passed the broken client {name!r}"
    assert FAST[name] in failed[0], failed[0]


def test_the_catalogue_is_large_and_in_families() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)) >= 30
    assert len({m.family for m in MUTANTS}) >= 6
    assert not set(names) & set(EQUIVALENT)
    for name in [*names, *EQUIVALENT]:  # every mutant is reachable by name, as CLIENT_FACTORY needs
        assert callable(getattr(mutants, name))
        assert callable(getattr(mutants, f"{name}_async"))
    with pytest.raises(AttributeError):
        getattr(mutants, "no_such_mutant")  # noqa: B009 - the module's __getattr__ is under test
