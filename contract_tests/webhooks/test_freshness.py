"""Freshness: Plaid says reject a webhook whose `iat` is older than 5 minutes. Probed near the edges of
that window, with the claim missing, in the wrong unit or of the wrong type.

The margins (20 s either side of 300 s) allow for the receiver's clock and the time a delivery takes;
a receiver on another machine needs its clock synchronised (NTP) as Plaid's verification assumes."""

from __future__ import annotations

import time
from typing import Any

import pytest

from contract_tests.webhooks.conftest import PlaidSide, assert_delivered, assert_refused

WINDOW = 300


@pytest.mark.parametrize("age", [0, 5, 60, WINDOW - 20])
def test_accepts_an_iat_inside_the_window(plaid: PlaidSide, age: int) -> None:
    body = plaid.fresh_body()
    assert_delivered(plaid.deliver(body, iat=int(time.time()) - age), f"webhook signed {age} s ago")


def test_accepts_a_fractional_iat(plaid: PlaidSide) -> None:
    """A NumericDate may carry a fraction."""
    body = plaid.fresh_body()
    assert_delivered(plaid.deliver(body, iat=time.time() - 1.5), "webhook with a fractional iat")


@pytest.mark.parametrize("age", [WINDOW + 20, WINDOW + 90, 3600, 86400, 10 * 365 * 86400])
def test_rejects_an_iat_outside_the_window(plaid: PlaidSide, age: int) -> None:
    body = plaid.fresh_body()
    assert_refused(plaid.deliver(body, iat=int(time.time()) - age), f"a webhook signed {age} s ago")


@pytest.mark.parametrize("ahead", [3600, 86400])
def test_rejects_an_iat_in_the_future(plaid: PlaidSide, ahead: int) -> None:
    body = plaid.fresh_body()
    assert_refused(plaid.deliver(body, iat=int(time.time()) + ahead), f"a webhook dated {ahead} s ahead")


def _bad_iat(kind: str) -> Any:
    now = int(time.time())
    return {
        "missing": ...,  # PlaidSide.token drops a claim set to ...
        "in milliseconds": now * 1000,
        "a numeric string": str(now),
        "a word": "now",
        "null": None,
        "a boolean": True,
        "an object": {"seconds": now},
    }[kind]


BAD_IAT = ["missing", "in milliseconds", "a numeric string", "a word", "null", "a boolean", "an object"]


@pytest.mark.parametrize("kind", BAD_IAT)
def test_rejects_a_missing_or_malformed_iat(plaid: PlaidSide, kind: str) -> None:
    """Signed with Plaid's key but not something Plaid sends: freshness cannot be established."""
    body = plaid.fresh_body()
    token = plaid.token(body, claims={"iat": _bad_iat(kind)})
    assert_refused(plaid.post({"Plaid-Verification": token}, body), f"a webhook whose iat is {kind}")


def test_a_stale_webhook_is_accepted_when_resent_fresh(plaid: PlaidSide) -> None:
    """Plaid re-signs each retry: a body refused as stale must be accepted once it comes fresh."""
    body = plaid.fresh_body("TRANSACTIONS_REMOVED")
    assert_refused(plaid.deliver(body, iat=int(time.time()) - 3600), "a stale webhook")
    assert_delivered(plaid.deliver(body), "the same webhook, freshly signed")
