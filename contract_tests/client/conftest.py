"""Client contract suite. The client under test comes from CLIENT_FACTORY (see subject.py); unset, it
is this project's client, and the tests marked `own_client` (which use its classes) run too. The
hypothesis profile is registered in harness.py; importing it here registers it before collection."""

from __future__ import annotations

import pytest

import contract_tests.client.harness  # noqa: F401 - registers the "client-contract" profile
from contract_tests.client.subject import Subject, load_subject

OWN_CLIENT_ONLY = (
    "uses this project's own classes (PlaidRefreshClient, its exceptions); runs without CLIENT_FACTORY"
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"own_client: {OWN_CLIENT_ONLY}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    subject = load_subject()
    if subject.own:
        return
    skip = pytest.mark.skip(reason=f"CLIENT_FACTORY is set: this test {OWN_CLIENT_ONLY}")
    for item in items:
        if item.get_closest_marker("own_client") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def subject() -> Subject:
    return load_subject()


def pytest_report_header(config: pytest.Config) -> str:
    return f"client under test: {load_subject().description}"
