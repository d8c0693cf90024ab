"""The receiver contract suite catches broken receivers: the fast proof subset of `make webhook-mutation`.

Each receiver is served on loopback and the suite is run against its URL in a subprocess, as
`make webhook-contract RECEIVER_URL=...` does. The full catalogue (contract_tests/webhooks/mutants.py)
is scored by `make webhook-mutation`."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract_tests.mutation import receiver_env, run_suite
from contract_tests.webhooks.mutants import EQUIVALENT, MUTANTS


def test_the_correct_mini_receiver_passes_every_test(tmp_path: Path) -> None:
    with receiver_env(frozenset()) as env:
        passed, failed, error = run_suite("webhooks", env, tmp_path / "junit.xml", maxfail=None)
    assert (failed, error) == ([], None)
    assert passed >= 200


# One per family that guards a forgery, a lost delivery or a leak; the rest are in the full score.
FAST = {
    "dedup_before_verify": "test_rejects_the_attack_on_a_body_it_already_accepted",
    "fails_open": "test_fails_closed_while_the_key_server_is_down",
    "echoes_token": "test_rejects_a_token_the_attacker_built",
    "transactions_only": "test_acknowledges_other_genuine_webhooks",
}


@pytest.mark.parametrize("name", sorted(FAST))
def test_the_suite_catches_the_broken_receiver(tmp_path: Path, name: str) -> None:
    with receiver_env(frozenset([name])) as env:
        _, failed, error = run_suite("webhooks", env, tmp_path / "junit.xml", maxfail=1)
    assert error is None
    assert failed, f"the suite passed the broken receiver {name!r}"
    assert FAST[name] in failed[0], failed[0]


def test_the_catalogue_is_large_and_in_families() -> None:
    names = [m.name for m in MUTANTS]
    assert len(names) == len(set(names)) >= 30
    assert len({m.family for m in MUTANTS}) >= 8
    assert not set(names) & set(EQUIVALENT)
