"""The key server as Plaid runs it: keys rotate, several kids are current at once, keys expire, and the
key server can be down. A receiver must follow each kid to its own key, refuse expired keys, and fail
closed (no 2xx) when it cannot fetch a key -- then recover once the key server is back."""

from __future__ import annotations

import time

import pytest

from contract_tests.webhooks.conftest import PlaidSide, assert_delivered, assert_refused
from contract_tests.webhooks.keyserver import KeyRing


def test_follows_a_key_rotation(plaid: PlaidSide, keys: KeyRing) -> None:
    old = keys.current
    assert_delivered(plaid.deliver(plaid.fresh_body()), "webhook signed with the current key")
    new = keys.rotate()
    assert_delivered(plaid.deliver(plaid.fresh_body(), signer=new), "webhook signed with the rotated-in key")
    assert_delivered(plaid.deliver(plaid.fresh_body(), signer=old), "webhook signed with the previous key")


def test_serves_several_kids_interleaved(plaid: PlaidSide, keys: KeyRing) -> None:
    signers = [keys.current, keys.add(), keys.add()]
    for round_ in range(2):
        for index, signer in enumerate(signers):
            body = plaid.fresh_body("SYNC_UPDATES_AVAILABLE")
            assert_delivered(
                plaid.deliver(body, signer=signer), f"webhook signed with key {index} (round {round_})"
            )


def test_rejects_a_key_the_key_server_says_has_expired(plaid: PlaidSide, keys: KeyRing) -> None:
    expired = keys.add(expired_at=int(time.time()) - 3600)
    assert_refused(plaid.deliver(plaid.fresh_body(), signer=expired), "a webhook signed with an expired key")


def test_rejects_a_key_expired_a_moment_ago(plaid: PlaidSide, keys: KeyRing) -> None:
    expired = keys.add(expired_at=int(time.time()) - 5)
    assert_refused(
        plaid.deliver(plaid.fresh_body(), signer=expired), "a webhook signed with a just-expired key"
    )


def test_rejects_a_withdrawn_key(plaid: PlaidSide, keys: KeyRing) -> None:
    gone = keys.add()
    keys.withdraw(gone)
    assert_refused(
        plaid.deliver(plaid.fresh_body(), signer=gone), "a webhook signed with a key the server never served"
    )


def test_accepts_a_key_whose_expiry_is_in_the_future(plaid: PlaidSide, keys: KeyRing) -> None:
    retiring = keys.add(expired_at=int(time.time()) + 86400)
    assert_delivered(
        plaid.deliver(plaid.fresh_body(), signer=retiring), "webhook signed with a key expiring tomorrow"
    )


@pytest.mark.parametrize("outage", ["500", "502"])
def test_fails_closed_while_the_key_server_is_down(plaid: PlaidSide, keys: KeyRing, outage: str) -> None:
    """A new kid while the key server answers errors: the webhook cannot be verified, so no 2xx (Plaid
    retries it later); the same body, re-sent once the key server is back, is delivered."""
    new = keys.rotate()
    body = plaid.fresh_body()
    keys.down = outage
    try:
        assert_refused(
            plaid.deliver(body, signer=new), f"a webhook it could not verify (key server HTTP {outage})"
        )
        assert_refused(
            plaid.deliver(body, signer=new), f"a retry it still could not verify (key server HTTP {outage})"
        )
    finally:
        keys.down = None
    assert_delivered(plaid.deliver(body, signer=new), "webhook re-sent after the key server came back")


def test_unknown_kid_then_published(plaid: PlaidSide, keys: KeyRing) -> None:
    """A kid the key server did not know yet (refused), published later (accepted): no negative cache."""
    early = keys.add()
    keys.withdraw(early)
    body = plaid.fresh_body()
    assert_refused(plaid.deliver(body, signer=early), "a webhook signed with an unpublished key")
    keys.publish(early)
    assert_delivered(plaid.deliver(body, signer=early), "webhook signed with the key once published")
