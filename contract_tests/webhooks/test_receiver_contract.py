"""A receiver answers exactly 200 to genuine signed webhooks and never a 2xx to a forgery.

Each forgery has its own test, over every Transactions code and both environments, so a report names
exactly what a receiver fails to check. Forgeries of bodies the receiver already accepted come too: a
receiver that deduplicates before it verifies acknowledges them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from contract_tests.webhooks import other_products
from contract_tests.webhooks.conftest import PlaidSide, assert_delivered, assert_refused
from contract_tests.webhooks.payloads import codes, examples, strategy
from plaid_refresh.webhooks import forgeries

CODES = codes()
ENVIRONMENTS = ("sandbox", "production")
WHERE = [(code, environment) for code in CODES for environment in ENVIRONMENTS]


@pytest.mark.parametrize("code", CODES)
def test_accepts_the_spec_example(plaid: PlaidSide, code: str) -> None:
    assert_delivered(plaid.send_signed(examples()[code]), f"{code} (spec example)")


@pytest.mark.parametrize("code", CODES)
def test_accepts_payloads_generated_from_the_spec(plaid: PlaidSide, code: str) -> None:
    @settings(
        max_examples=6,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(payload=strategy(code))
    def check(payload: dict[str, Any]) -> None:
        assert_delivered(plaid.send_signed(payload), f"{code} (generated from the spec)")

    check()


def test_accepts_a_retry_of_the_same_webhook(plaid: PlaidSide) -> None:
    """Plaid retries resend the same body with a fresh signature: acknowledge it (a duplicate)."""
    body = plaid.fresh_body("SYNC_UPDATES_AVAILABLE")
    assert_delivered(plaid.deliver(body), "webhook")
    assert_delivered(plaid.deliver(body), "retried webhook (same body, new signature)")
    assert_delivered(plaid.deliver(body), "second retry")


def test_matches_the_header_name_case_insensitively(plaid: PlaidSide) -> None:
    for name in ("plaid-verification", "PLAID-VERIFICATION"):
        body = plaid.fresh_body()
        assert_delivered(plaid.post({name: plaid.token(body)}, body), f"webhook with header {name!r}")


def _refuses(plaid: PlaidSide, name: str, code: str, environment: str) -> None:
    forgery = forgeries.BY_NAME[name]
    headers, body = forgery(plaid.signer, plaid.fresh_body(code, environment=environment))
    what = f"a forged {code} webhook ({environment}; {name}: {forgery.build.__doc__ or name})"
    assert_refused(plaid.post(headers, body), what)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_a_bad_signature(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "bad_signature", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_the_wrong_key_under_the_genuine_kid(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "wrong_key", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_an_unknown_key_id(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "unknown_key", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_an_expired_iat(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "expired_iat", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_an_iat_far_in_the_future(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "future_iat", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_a_tampered_body(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "tampered_body", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_alg_none(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "alg_none", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_hs256_signed_with_the_public_key(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "hs256_public_key", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_a_missing_header(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "missing_header", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_a_header_that_is_not_a_jwt(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "not_a_jwt", code, environment)


@pytest.mark.parametrize(("code", "environment"), WHERE)
def test_rejects_a_jwt_without_the_body_hash(plaid: PlaidSide, code: str, environment: str) -> None:
    _refuses(plaid, "missing_body_hash", code, environment)


RESENT = ("bad_signature", "wrong_key", "unknown_key", "alg_none", "expired_iat", "missing_header")


@pytest.mark.parametrize("name", RESENT)
def test_rejects_a_known_body_resent_with_a_bad_signature(plaid: PlaidSide, name: str) -> None:
    """A body the receiver has accepted, replayed with a forged header: verify before deduplicating."""
    body = plaid.fresh_body("SYNC_UPDATES_AVAILABLE")
    assert_delivered(plaid.deliver(body), "webhook")
    headers, same = forgeries.BY_NAME[name](plaid.signer, body)
    assert same == body
    assert_refused(plaid.post(headers, body), f"an accepted body re-sent with a forged header ({name})")


def test_every_forgery_has_a_test() -> None:
    """Adding a forgery to plaid_refresh.webhooks.forgeries without a test here fails the suite."""
    import inspect
    import sys

    source = inspect.getsource(sys.modules[__name__])
    missing = [f.name for f in forgeries.FORGERIES if f'_refuses(plaid, "{f.name}"' not in source]
    assert not missing, f"forgeries without a contract test: {missing}"


@pytest.mark.parametrize("name", other_products.names())
def test_acknowledges_genuine_webhooks_it_does_not_handle(plaid: PlaidSide, name: str) -> None:
    """Another product's webhook (the Item's one URL gets them all) is acknowledged, never refused."""
    payload = {**other_products.payload(name), "item_id": f"contract-{uuid.uuid4().hex}"}
    assert_delivered(plaid.send_signed(payload), f"{name} webhook (another product's)")
